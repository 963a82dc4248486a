/**
 * Runs `bench/node_side_by_side.mjs` under Node 20 and Node 24 (and Bun with `--bun`),
 * then the HTTP/2 tables of `bench/h2_node_side_by_side.mjs` against nginx over TLS
 * (`--no-h2` skips them):
 * builds the npm package, installs the npm tools (undici, Node 24, Bun) into `build/tools`,
 * copies the benchmark next to them so that `undici` resolves, starts nginx once (`return
 * 200`, a 12-byte body, one worker per core: `bench/_peer.ts`) and runs the benchmark once
 * per runtime against it. Other arguments go to the benchmark (`--seconds=3`, `--c=1000`,
 * `--only=ferry-pool,undici`, `--paired-seconds=0` to skip the paired lines).
 *
 * ```sh
 * deno task bench:node
 * deno task bench:node --bun --c=10,100 --rounds=5
 * ```
 *
 * @module
 */

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD, ensureTools, ROOT, run, RUNTIMES, TOOLS } from "./_node_tools.ts";
import { startHttpPeer } from "../bench/_peer.ts";
import { NGINX, startNginx } from "../tests/_peers/nginx.ts";
import { CA_CERT, SERVER_CERT, SERVER_KEY } from "../tests/_tls_fixtures.ts";

const OUT = join(BUILD, "bench-node");
const withBun = Deno.args.includes("--bun");
const withH2 = !Deno.args.includes("--no-h2");
const passThrough = Deno.args.filter((arg) => arg !== "--bun" && arg !== "--no-h2");

await ensureTools();
const built = await run(Deno.execPath(), ["run", "-A", "--no-lock", "scripts/build_npm.ts"]);
if (built.code !== 0) Deno.exit(built.code);

mkdirSync(OUT, { recursive: true });
copyFileSync(join(ROOT, "bench", "node_side_by_side.mjs"), join(OUT, "node_side_by_side.mjs"));
for (const file of ["h2_node_side_by_side.mjs", "_node_bench.mjs"]) {
  copyFileSync(join(ROOT, "bench", file), join(OUT, file));
}
if (!existsSync(join(OUT, "node_modules"))) {
  symlinkSync(join(TOOLS, "node_modules"), join(OUT, "node_modules"), "dir");
}

const runtimes = ["node20", "node24", ...(withBun ? ["bun"] as const : [])] as const;
const workers = navigator.hardwareConcurrency ?? 2;
const peer = await startHttpPeer({ workers });
// nginx forks its workers after its master answers: wait for them (up to 2 s), or the
// benchmark's server CPU figure counts the idle master only.
for (let i = 0; i < 100 && peer.note.startsWith("nginx") && peer.pids().length <= workers; i++) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
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

if (withH2 && NGINX !== null) {
  // HTTP/2: nginx's http2 module over TLS (ALPN), one worker, the test fixtures' CA.
  const dir = mkdtempSync(join(tmpdir(), "ferry-h2-node-bench-"));
  writeFileSync(join(dir, "cert.pem"), SERVER_CERT);
  writeFileSync(join(dir, "key.pem"), SERVER_KEY);
  writeFileSync(join(dir, "ca.pem"), CA_CERT);
  const nginx = await startNginx({
    http2: "tls",
    tls: { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
  });
  const h2Args = passThrough.filter((arg) => /^--(seconds|rounds|c|concurrency)=/.test(arg));
  try {
    for (const name of runtimes) {
      const { code } = await run(
        RUNTIMES[name],
        [
          "h2_node_side_by_side.mjs",
          `--origin=${nginx.origin}`,
          `--ca-file=${join(dir, "ca.pem")}`,
          ...h2Args,
        ],
        { cwd: OUT, env: { FERRY_MODULE: join(BUILD, "npm", "mod.js") } },
      );
      if (code !== 0) failed = true;
    }
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
Deno.exit(failed ? 1 : 0);
