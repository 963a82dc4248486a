/**
 * The npm package's README, made from the repository's (which is written for Deno and JSR):
 * imports read `ferry` instead of `@ferry/ferry`, the Install section says how to install
 * from npm (from a local build until the package is published), and sections that concern
 * Deno alone are left out. `scripts/build_npm.ts` writes it into `build/npm/README.md`.
 *
 * @module
 */

/** Sections (by `##`/`###` title) that only concern Deno users. */
const DENO_ONLY = [/^### Deno permissions/];

/** How to install the package, for Node and Bun users. */
const INSTALL = `## Install

Node ≥ 20 and Bun, ES modules with types:

\`\`\`sh
npm install ferry
\`\`\`

Until \`ferry\` is published on npm, install it from a local build of this repository (it needs
Deno, which \`npx\` fetches):

\`\`\`sh
git clone <the ferry repository> ferry && cd ferry
npx -y deno@2.9.6 task build:npm           # writes build/npm/
cd /path/to/your/project && npm install /path/to/ferry/build/npm
\`\`\`

Then \`import { Client } from "ferry"\`. Subpaths: \`ferry/http11\` (the parser and writer),
\`ferry/testing\` (an in-memory network for tests), and the \`ferry\` command (\`npx ferry\`).
Deno users: the same library is \`jsr:@ferry/ferry\`.
`;

/**
 * Rewrites the repository's README for the npm package.
 *
 * @example
 * ```ts ignore
 * nodeReadme('# Ferry\n\n## Install\n\nDeno only\n\n```ts\nimport { Client } from "@ferry/ferry";\n```\n');
 * ```
 */
export function nodeReadme(denoReadme: string, note = defaultNote()): string {
  const sections = denoReadme.split(/\n(?=##+ )/);
  const kept: string[] = [];
  for (const section of sections) {
    if (section.startsWith("## Install\n")) {
      kept.push(INSTALL);
      continue;
    }
    // A Deno-only subsection is cut up to the next heading of any level.
    const cut = DENO_ONLY.some((pattern) => pattern.test(section));
    if (!cut) kept.push(section);
  }
  let text = kept.join("\n");
  // Module specifiers and subpaths in prose (`@ferry/ferry/x` → `ferry/x`); JSR's stay.
  text = text.replace(/(?<!jsr:)@ferry\/ferry/g, "ferry");
  const title = text.indexOf("\n");
  return text.slice(0, title + 1) + `\n${note}\n` + text.slice(title + 1);
}

function defaultNote(): string {
  return "> This is the npm package's README, made from the repository's by " +
    "`scripts/build_npm.ts`: examples import from `ferry`.";
}
