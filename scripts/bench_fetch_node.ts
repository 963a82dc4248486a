/**
 * Runs `bench/fetch_node_side_by_side.mjs` under Node 20 and Node 24 (and Bun with
 * `--bun`): builds the npm package, installs the npm tools into `build/tools`, starts nginx
 * (`bench/_fetch_peer.ts`) and runs the benchmark once per runtime against it. Extra
 * arguments go to the benchmark (`--seconds=3`, `--only=Ferry`).
 *
 * ```sh
 * deno task bench:fetch:node [--bun] [--seconds=2] [--rounds=3] [--concurrency=1,10,100]
 * ```
 *
 * @module
 */

import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BUILD, ensureTools, ROOT, run, RUNTIMES, TOOLS } from "./_node_tools.ts";
import { startFetchPeer } from "../bench/_fetch_peer.ts";

const OUT = join(BUILD, "bench-fetch-node");
const withBun = Deno.args.includes("--bun");
const passThrough = Deno.args.filter((arg) => arg !== "--bun");

await ensureTools();
const built = await run(Deno.execPath(), ["run", "-A", "--no-lock", "scripts/build_npm.ts"]);
if (built.code !== 0) Deno.exit(built.code);

mkdirSync(OUT, { recursive: true });
const script = "fetch_node_side_by_side.mjs";
for (const file of [script, "_node_bench.mjs"]) {
  copyFileSync(join(ROOT, "bench", file), join(OUT, file));
}
if (!existsSync(join(OUT, "node_modules"))) {
  symlinkSync(join(TOOLS, "node_modules"), join(OUT, "node_modules"), "dir");
}

const peer = await startFetchPeer();
let failed = false;
try {
  for (const name of ["node20", "node24", ...(withBun ? ["bun"] as const : [])] as const) {
    console.log("");
    const { code } = await run(RUNTIMES[name], [script, ...passThrough], {
      cwd: OUT,
      env: {
        FERRY_MODULE: join(BUILD, "npm", "mod.js"),
        FETCH_PEER_ORIGIN: peer.origin,
        FETCH_PEER_PID: String(peer.pid),
      },
    });
    if (code !== 0) failed = true;
  }
} finally {
  await peer.stop();
}
Deno.exit(failed ? 1 : 0);
