/**
 * Builds the npm package `ferry` into `build/npm/`: ES2022 modules, `.d.ts` types, a
 * `package.json` (version from `deno.json`), the README and the LICENSE.
 *
 * The TypeScript compiler (from npm) emits `mod.ts` and `src/` with
 * `rewriteRelativeImportExtensions`, so the sources stay Deno's (`./x.ts` imports) and the
 * output is plain Node ESM (`./x.js`). Type errors fail the build, except those that come
 * from the Deno backend's use of the `Deno` namespace, which Node never loads.
 *
 * ```sh
 * deno task build:npm
 * ```
 *
 * @module
 */

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { BUILD, COMPILER_OPTIONS, ensureTools, ROOT, TOOLS, ts, walk } from "./_node_tools.ts";
import { nodeReadme } from "./_node_readme.ts";
import { repositoryFields } from "./_npm_fields.ts";

const FINAL = join(BUILD, "npm");
// Built aside and swapped in at the end: other runs may be reading build/npm meanwhile, and
// a failed build leaves the previous one in place.
const OUT = join(BUILD, `npm.tmp-${Deno.pid}`);
// The `ferry` command (issue 16): a shim that runs the CLI entry under Node.
const BIN = "bin/ferry.js";

const denoJson = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
// Every export of deno.json is an entry point of the package.
const ENTRIES = Object.values(denoJson.exports as Record<string, string>)
  .map((path) => path.replace(/^\.\//, ""));

/**
 * The runtime dependencies: deno.json's `npm:` imports that `src/` uses (only `tldts`, for
 * the cookie jar's public suffixes), with their version ranges.
 */
const RUNTIME_DEPENDENCIES = ["tldts"];
const DEPENDENCIES: Record<string, string> = Object.fromEntries(
  RUNTIME_DEPENDENCIES.map((name) => {
    const specifier = (denoJson.imports as Record<string, string>)[name];
    const match = /^npm:(?:@[^/@]+\/)?[^@]+@(.+)$/.exec(specifier ?? "");
    if (!match) throw new Error(`deno.json has no npm: import for the dependency "${name}"`);
    return [name, match[1]];
  }),
);

await ensureTools();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const entries = ENTRIES.filter((entry) => existsSync(join(ROOT, entry)));
const options: ts.CompilerOptions = {
  ...COMPILER_OPTIONS,
  isolatedModules: false,
  declaration: true,
  outDir: OUT,
  rootDir: ROOT,
  strict: true,
  skipLibCheck: true,
  noEmitOnError: false,
  lib: ["lib.es2024.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts", "lib.esnext.disposable.d.ts"],
  types: ["node"],
  typeRoots: [join(TOOLS, "node_modules", "@types")],
  // Runtime dependencies resolve from the tools folder, where they are installed too.
  paths: Object.fromEntries(
    Object.keys(DEPENDENCIES).map((name) => [name, [join(TOOLS, "node_modules", name)]]),
  ),
};
const program = ts.createProgram(entries.map((entry) => join(ROOT, entry)), options);
const emitted = program.emit();
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
const host: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => ROOT,
  getNewLine: () => "\n",
};
// The Deno backend is typed against the `Deno` namespace, which Node's types lack; Node
// never loads it (the default backend imports it lazily, under Deno only).
// The same holds for every Deno-only module loaded on demand (file access, the CLI's process).
const DENO_ONLY = /src\/(network\/deno|runtime\/files_deno|cli\/_system_deno)\.ts$/;
const fatal = diagnostics.filter((diagnostic) =>
  !(diagnostic.file && DENO_ONLY.test(diagnostic.file.fileName))
);
if (fatal.length > 0) {
  console.error(ts.formatDiagnosticsWithColorAndContext(fatal, host));
  console.error(`build:npm: ${fatal.length} type errors`);
  rmSync(OUT, { recursive: true, force: true });
  Deno.exit(1);
}

// The Node branch of the default backend is imported lazily; make sure it was emitted.
const nodeBackend = join(ROOT, "src", "network", "node.ts");
if (!existsSync(join(OUT, "src", "network", "node.js"))) {
  const extra = ts.createProgram([nodeBackend], options);
  extra.emit();
}

// `Symbol.asyncDispose` came with Node 20.4; classes name their dispose method with it when
// they are defined, so the polyfill must run before any of our modules: each entry imports
// it first.
writeFileSync(
  join(OUT, "_polyfills.js"),
  `// Symbol.asyncDispose and Symbol.dispose for runtimes older than Node 20.4.
if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("Symbol.asyncDispose") });
}
if (typeof Symbol.dispose !== "symbol") {
  Object.defineProperty(Symbol, "dispose", { value: Symbol.for("Symbol.dispose") });
}
`,
);
for (const entry of entries) {
  const path = join(OUT, entry.replace(/\.ts$/, ".js"));
  const polyfill = relative(join(path, ".."), join(OUT, "_polyfills.js"));
  const specifier = polyfill.startsWith(".") ? polyfill : `./${polyfill}`;
  writeFileSync(path, `import "${specifier}";\n` + readFileSync(path, "utf8"));
}

if (entries.includes("src/cli/mod.ts")) {
  mkdirSync(join(OUT, "bin"), { recursive: true });
  writeFileSync(
    join(OUT, BIN),
    `#!/usr/bin/env node
// The \`ferry\` command: see the CLI section of the README.
import process from "node:process";
import { main } from "../src/cli/mod.js";
process.exitCode = await main(process.argv.slice(2));
`,
    { mode: 0o755 },
  );
}

const exportOf = (entry: string) => {
  const base = "./" + entry.replace(/\.ts$/, "");
  return { types: `${base}.d.ts`, default: `${base}.js` };
};
const exportsMap: Record<string, { types: string; default: string }> = {};
for (const [name, path] of Object.entries(denoJson.exports as Record<string, string>)) {
  const entry = path.replace(/^\.\//, "");
  if (entries.includes(entry)) exportsMap[name] = exportOf(entry);
}

const packageJson = {
  name: "ferry",
  version: denoJson.version,
  description: "An httpx-style HTTP client for Deno, Node and Bun, over its own strict, " +
    "incremental HTTP/1.1 parser",
  license: denoJson.license ?? "MIT",
  type: "module",
  main: "./mod.js",
  types: "./mod.d.ts",
  exports: exportsMap,
  ...(entries.includes("src/cli/mod.ts") ? { bin: { ferry: `./${BIN}` } } : {}),
  engines: { node: ">=20" },
  dependencies: DEPENDENCIES,
  sideEffects: ["./_polyfills.js"],
  files: ["**/*.js", "**/*.d.ts", "README.md", "LICENSE"],
  keywords: ["http", "http-client", "httpx", "http1.1", "connection-pool", "deno", "bun"],
  ...repositoryFields(),
};
writeFileSync(join(OUT, "package.json"), JSON.stringify(packageJson, null, 2) + "\n");
// The README is the repository's rewritten for Node (imports from "ferry", npm install).
if (existsSync(join(ROOT, "README.md"))) {
  writeFileSync(join(OUT, "README.md"), nodeReadme(readFileSync(join(ROOT, "README.md"), "utf8")));
} else console.warn("build:npm: README.md is missing at the repository root");
if (existsSync(join(ROOT, "LICENSE"))) copyFileSync(join(ROOT, "LICENSE"), join(OUT, "LICENSE"));
else console.warn("build:npm: LICENSE is missing at the repository root");
if (!existsSync(join(OUT, "README.md"))) {
  writeFileSync(
    join(OUT, "README.md"),
    `# ferry\n\n${packageJson.description}.\n\n\`\`\`js\nimport { ConnectionPool } from "ferry";\n\`\`\`\n`,
  );
}

const old = join(BUILD, `npm.old-${Deno.pid}`);
if (existsSync(FINAL)) renameSync(FINAL, old);
renameSync(OUT, FINAL);
rmSync(old, { recursive: true, force: true });

const files = walk(FINAL);
const js = files.filter((file) => file.endsWith(".js")).length;
const dts = files.filter((file) => file.endsWith(".d.ts")).length;
console.log(
  `build:npm: ferry@${denoJson.version} in ${relative(ROOT, FINAL)}/ (${js} .js, ${dts} .d.ts)`,
);
