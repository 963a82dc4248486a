/**
 * Checks that every `import { … } from "@ferry/ferry…"` written in a JSDoc example or in the
 * README names something its entry point exports. Examples marked `ignore` (they would reach
 * the internet) are never type-checked by `deno check --doc`, so a name moved to another
 * subpath would otherwise go stale unnoticed. Run by `deno task check`.
 *
 * ```sh
 * deno run -A scripts/check_doc_imports.ts
 * ```
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...walk(path));
    else out.push(path);
  }
  return out.sort();
}

const exportsMap: Record<string, string> =
  JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).exports;

const IMPORT = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"(@ferry\/ferry(?:\/[a-z0-9]+)?)"/g;

const files = [
  ...walk(join(ROOT, "src")).filter((file) => file.endsWith(".ts")),
  join(ROOT, "mod.ts"),
  join(ROOT, "README.md"),
  join(ROOT, "ARCHITECTURE.md"),
];

const lines: string[] = [];
const problems: string[] = [];
for (const file of files) {
  const text = Deno.readTextFileSync(file);
  for (const match of text.matchAll(IMPORT)) {
    const entry = "." + match[2].slice("@ferry/ferry".length);
    const target = exportsMap[entry];
    const where = file.slice(ROOT.length + 1);
    if (target === undefined) {
      problems.push(`${where}: no entry point "${match[2]}" in deno.json`);
      continue;
    }
    for (const part of match[1].split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0].trim();
      if (name === "") continue;
      lines.push(
        `import type { ${name} as _${lines.length} } from "${
          join(ROOT, target)
        }"; // ${where} imports ${name} from "${match[2]}"`,
      );
    }
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  Deno.exit(1);
}

const probe = await Deno.makeTempFile({ suffix: ".ts" });
try {
  Deno.writeTextFileSync(probe, lines.join("\n") + "\n");
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", probe],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const report = new TextDecoder().decode(stderr);
    // Each error quotes the probe line, whose comment names the file that wrote the import.
    const stale = [...report.matchAll(/\/\/ (.+ imports \S+ from "[^"]+")/g)].map((m) => m[1]);
    console.error(
      stale.length > 0
        ? `Documented imports that their entry point does not export:\n  ${
          [...new Set(stale)].join("\n  ")
        }`
        : report,
    );
    Deno.exit(1);
  }
  console.log(`documented imports: ${lines.length} names, all exported where they say`);
} finally {
  Deno.removeSync(probe);
}
