/**
 * Runs the whole test suite under Node (20 from PATH, 24 from npm) and, on request, Bun.
 *
 * `tests/`, `src/`, `mod.ts` (and `bench/` helpers the tests may import) are transpiled
 * as Deno does it (no type check) into `build/node-tests/run-<pid>/`, `npm:` specifiers are
 * rewritten to bare names resolved from `build/tools/node_modules`, and every
 * `tests/*_test.js` is run with `node --test` (TAP: node:test's closing `# pass N` /
 * `# fail N` lines). Tests that need a Deno-only API are marked `denoOnly` by their
 * authors and skip.
 *
 * ```sh
 * deno task test:node                      # Node 20 and Node 24
 * deno task test:node --runtime=node20     # one runtime: node20, node24 or bun
 * deno task test:node --runtime=bun
 * deno task test:node tests/node_backend_test.ts   # some files only
 * deno task test:node --keep               # keep build/node-tests/run-<pid>/ afterwards
 * ```
 *
 * Exits non-zero when a runtime reports a failing test or no test at all.
 *
 * @module
 */

import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import {
  BUILD,
  ensureTools,
  ROOT,
  run,
  RUNTIMES,
  TOOLS,
  transpileTree,
  walk,
} from "./_node_tools.ts";

// One folder per run: several engineers (and CI) may run this at the same time.
const OUT = join(BUILD, "node-tests", `run-${Deno.pid}`);
const keep = Deno.args.includes("--keep");

const args = Deno.args;
const runtimeArgs = args.filter((arg) => arg.startsWith("--runtime=")).flatMap((arg) =>
  arg.slice("--runtime=".length).split(",")
);
const runtimes = (runtimeArgs.length ? runtimeArgs : ["node20", "node24"]) as (
  keyof typeof RUNTIMES
)[];
for (const name of runtimes) {
  if (!(name in RUNTIMES)) throw new Error(`Unknown runtime "${name}": use node20, node24 or bun`);
}
const selected = args.filter((arg) => !arg.startsWith("--"));

await ensureTools();

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const count = transpileTree(
  ["mod.ts", "src", "tests", "bench", "deno.json"].filter((path) => existsSync(join(ROOT, path))),
  OUT,
);
symlinkSync(join(TOOLS, "node_modules"), join(OUT, "node_modules"), "dir");
console.log(`Transpiled ${count} files into ${relative(ROOT, OUT)}/`);

const testFiles = (selected.length ? selected : walk(join(ROOT, "tests")).map((f) => `tests/${f}`))
  .filter((file) => /_test\.ts$/.test(file))
  .map((file) => join(OUT, file.replace(/\.ts$/, ".js")));
if (testFiles.length === 0) throw new Error("No test files found");

const summaries: string[] = [];
let failed = false;
for (const name of runtimes) {
  const binary = RUNTIMES[name];
  const version = (await run(binary, ["--version"], { capture: true })).stdout.trim();
  console.log(`\n=== ${name} (${version}): ${testFiles.length} test files ===`);
  // Node's runner prints TAP with `# pass N` / `# fail N` closing lines. Bun runs the same
  // node:test files through its own node:test support, file by file.
  const command = name === "bun"
    ? [
      "test",
      "--timeout=60000",
      ...testFiles.map((file) => relative(OUT, file)).map((f) => `./${f}`),
    ]
    : ["--test", "--test-reporter=tap", "--test-timeout=120000", ...testFiles];
  const { code, stdout } = await run(binary, command, {
    cwd: OUT,
    capture: true,
    env: { FERRY_TEST_RUNTIME: name },
  });
  const counts = parseCounts(stdout);
  summaries.push(`${name}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`);
  if (code !== 0) summaries.push(`${name} exited with code ${code}`);
  if (code !== 0 || counts.fail > 0 || counts.pass === 0) failed = true;
}

console.log("\n=== summary ===");
for (const line of summaries) console.log(line);
if (!keep) rmSync(OUT, { recursive: true, force: true });
Deno.exit(failed ? 1 : 0);

function parseCounts(output: string): { pass: number; fail: number; skip: number } {
  const pick = (pattern: RegExp): number => {
    const matches = [...output.matchAll(pattern)];
    return matches.length ? Number(matches[matches.length - 1][1]) : 0;
  };
  // node:test TAP summary, else bun test's "N pass" lines.
  if (/^# pass \d+/m.test(output)) {
    return {
      pass: pick(/^# pass (\d+)/gm),
      fail: pick(/^# fail (\d+)/gm) + pick(/^# cancelled (\d+)/gm),
      skip: pick(/^# skipped (\d+)/gm),
    };
  }
  return {
    pass: pick(/^\s*(\d+) pass/gm),
    fail: pick(/^\s*(\d+) fail/gm),
    skip: pick(/^\s*(\d+) skip/gm),
  };
}
