/**
 * Runs `bench/node_side_by_side.mjs` under Node 20 and Node 24 (and Bun with `--bun`):
 * builds the npm package, installs the npm tools (undici, Node 24, Bun) into `build/tools`,
 * copies the benchmark next to them so that `undici` resolves, starts nginx once (`return
 * 200`, a 12-byte body, one worker per core: `bench/_peer.ts`) and runs the benchmark once
 * per runtime against it. Other arguments go to the benchmark (`--seconds=3`, `--c=1000`,
 * `--only=ferry-pool,undici`).
 *
 * ```sh
 * deno task bench:node
 * deno task bench:node --bun --c=10,100 --rounds=5
 * ```
 *
 * @module
 */

import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BUILD, ensureTools, ROOT, run, RUNTIMES, TOOLS } from "./_node_tools.ts";
import { startHttpPeer } from "../bench/_peer.ts";

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
const workers = navigator.hardwareConcurrency ?? 2;
const peer = await startHttpPeer({ workers });
let failed = false;
try {
  const serverArgs = [
    `--origin=${peer.origin}`,
    `--server-pids=${peer.pids().join(",")}`,
    `--server-workers=${workers}`,
    `--server-note=${peer.note}`,
  ];
  for (const name of runtimes) {
    console.log("");
    const { code } = await run(
      RUNTIMES[name],
      ["node_side_by_side.mjs", ...serverArgs, ...passThrough],
      { cwd: OUT, env: { FERRY_MODULE: join(BUILD, "npm", "mod.js") } },
    );
    if (code !== 0) failed = true;
  }
} finally {
  await peer.stop();
}
Deno.exit(failed ? 1 : 0);
