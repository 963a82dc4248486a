/**
 * Runs `bench/node_side_by_side.mjs` under Node 20 and Node 24 (and Bun with `--bun`):
 * builds the npm package, installs the npm tools (undici, Node 24, Bun) into `build/tools`,
 * copies the benchmark next to them so that `undici` resolves, and runs it once per
 * runtime. Extra arguments go to the benchmark (`--seconds=3`, `--only=raw,ferry-pool`).
 *
 * ```sh
 * deno task bench:node
 * deno task bench:node --bun --seconds=3
 * ```
 *
 * @module
 */

import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BUILD, ensureTools, ROOT, run, RUNTIMES, TOOLS } from "./_node_tools.ts";

const OUT = join(BUILD, "bench-node");
const withBun = Deno.args.includes("--bun");
const passThrough = Deno.args.filter((arg) => arg !== "--bun");

await ensureTools();
const built = await run(Deno.execPath(), ["run", "-A", "--no-lock", "scripts/build_npm.ts"]);
if (built.code !== 0) Deno.exit(built.code);

mkdirSync(OUT, { recursive: true });
copyFileSync(join(ROOT, "bench", "node_side_by_side.mjs"), join(OUT, "node_side_by_side.mjs"));
if (!existsSync(join(OUT, "node_modules"))) {
  symlinkSync(join(TOOLS, "node_modules"), join(OUT, "node_modules"), "dir");
}

const runtimes = ["node20", "node24", ...(withBun ? ["bun"] as const : [])] as const;
let failed = false;
for (const name of runtimes) {
  console.log("");
  const { code } = await run(RUNTIMES[name], ["node_side_by_side.mjs", ...passThrough], {
    cwd: OUT,
    env: { FERRY_MODULE: join(BUILD, "npm", "mod.js") },
  });
  if (code !== 0) failed = true;
}
Deno.exit(failed ? 1 : 0);
