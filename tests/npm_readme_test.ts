/**
 * The npm package's README and `package.json` fields (scripts/_node_readme.ts,
 * scripts/_npm_fields.ts): Node users read imports from `ferry` and how to install it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "./_harness.ts";

const denoOnly = "the build scripts run under Deno";

test(
  "the npm README imports from ferry and says how to install from npm",
  { denoOnly },
  async () => {
    const { nodeReadme } = await import("../scripts/_node_readme.ts");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    assert.match(readme, /from "@ferry\/ferry"/); // the repository's is Deno's
    const node = nodeReadme(readme);
    assert.doesNotMatch(node, /(?<!jsr:)@ferry\/ferry/);
    assert.match(node, /^# Ferry\n\n> This is the npm package's README/);
    assert.match(node, /## Install\n\nNode ≥ 20 and Bun/);
    assert.match(node, /npm install \/path\/to\/ferry\/build\/npm/);
    assert.doesNotMatch(node, /deno add jsr:/);
    // Every import of Ferry in a code block names the npm package (other packages are SDKs).
    const specifiers = [...node.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    const ferry = specifiers.filter((specifier) => /^ferry(\/[a-z0-9_]+)?$/.test(specifier));
    assert.ok(ferry.length >= 5, String(ferry.length));
    assert.deepEqual(specifiers.filter((specifier) => specifier.startsWith("@ferry/")), []);
    // Deno's permission flags do not concern Node users.
    if (/### Deno permissions/.test(readme)) assert.doesNotMatch(node, /### Deno permissions/);
  },
);

test("package.json gets repository, homepage and bugs", { denoOnly }, async () => {
  const { normalise, repositoryFields } = await import("../scripts/_npm_fields.ts");
  assert.equal(
    normalise("git@github.com:ferry-http/ferry.git"),
    "https://github.com/ferry-http/ferry",
  );
  assert.deepEqual(repositoryFields("https://github.com/ferry-http/ferry"), {
    repository: { type: "git", url: "git+https://github.com/ferry-http/ferry.git" },
    homepage: "https://jsr.io/@ferry/ferry",
    bugs: { url: "https://github.com/ferry-http/ferry/issues" },
  });
});
