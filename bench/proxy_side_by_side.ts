/**
 * Small GETs through real proxies (tinyproxy, and squid when installed), side by side:
 *
 *   Ferry ConnectionPool({ proxy })            forward: absolute-form requests to the proxy
 *   undici ProxyAgent({ proxyTunnel: false })  the same
 *   Ferry ConnectionPool({ proxy: TUNNEL_ONLY }) tunnel: CONNECT, then requests inside it
 *   undici ProxyAgent (its default)            the same
 *   Ferry ConnectionPool / undici Pool, direct no proxy: what the proxy costs
 *
 * The target is nginx when installed (else a node:http server); every row runs the same
 * number of seconds at 1 and 10 concurrent requests. Prints req/s and the ratio of Ferry
 * to undici; never asserts a time. Run with `deno task bench:proxy [--seconds=2] [--node]`;
 * `--node` adds the same rows for the npm build and undici under Node 20 and 24
 * (`bench/proxy_node_side_by_side.mjs`), against the same proxies.
 *
 * @module
 */

import { type Dispatcher, Pool as UndiciPool, ProxyAgent, request as undiciRequest } from "undici";
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { ConnectionPool } from "../src/pool.ts";
import { NGINX, startNginx } from "../tests/_peers/nginx.ts";
import { SQUID, startSquid, startTinyproxy, TINYPROXY } from "../tests/_peers/proxies.ts";

const args = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.concurrency ?? "1,10").split(",").map(Number);
const NODE = args.node === "true";

if (TINYPROXY === null) {
  console.log("tinyproxy is not installed (apt-get install -y tinyproxy): nothing to measure");
  Deno.exit(0);
}

async function startTarget(): Promise<{ origin: string; stop(): Promise<void> }> {
  if (NGINX !== null) {
    const nginx = await startNginx();
    return { origin: nginx.origin, stop: () => nginx.stop() };
  }
  const body = "Hello from Ferry's proxy benchmark\n";
  const server = createServer((_request, response) => {
    response.writeHead(200, { "Content-Length": body.length, "Content-Type": "text/plain" });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Runs `once` from `concurrency` loops for SECONDS after a warm-up; returns req/s (of the
 * requests that succeeded) and how many failed, with the first failure's message.
 */
async function measure(
  concurrency: number,
  once: () => Promise<void>,
): Promise<{ rps: number; failures: number; firstFailure: string | null }> {
  let count = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  let measuring = false;
  let stopAt = performance.now() + WARMUP_MS;
  const loop = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      try {
        await once();
        if (measuring) count++;
      } catch (error) {
        if (!measuring) continue;
        failures++;
        firstFailure ??= String(error).split("\n")[0];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  measuring = true;
  const started = performance.now();
  stopAt = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { rps: count / ((performance.now() - started) / 1000), failures, firstFailure };
}

const target = await startTarget();
const proxy = await startTinyproxy();
// squid keeps client connections alive between forwarded requests (tinyproxy does not).
const squid = SQUID === null ? null : await startSquid();
const url = `${target.origin}/`;
type Row = {
  name: string;
  concurrency: number;
  rps: number;
  failures: number;
  firstFailure: string | null;
};
const rows: Row[] = [];

try {
  for (const concurrency of CONCURRENCY) {
    const get = (pool: ConnectionPool) => async () => {
      const response = await pool.request("GET", url);
      if (response.status !== 200) throw new Error(`status ${response.status}`);
    };
    const undiciGet = (agent: Dispatcher) => async () => {
      const response = await undiciRequest(url, { dispatcher: agent });
      await response.body.arrayBuffer();
      if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
    };
    const modes = [
      ["tinyproxy", "forward", proxy.url],
      ["tinyproxy", "tunnel", proxy.url],
      ...(squid ? [["squid", "forward", squid.url]] : []),
    ] as const;
    for (const [server, mode, proxyUrl] of modes) {
      {
        await using pool = new ConnectionPool({
          proxy: { url: proxyUrl, mode: mode === "tunnel" ? "TUNNEL_ONLY" : "DEFAULT" },
          maxConnections: concurrency,
        });
        rows.push({
          name: `Ferry, ${server} ${mode}`,
          concurrency,
          ...await measure(concurrency, get(pool)),
        });
      }
      {
        const agent = new ProxyAgent({
          uri: proxyUrl,
          connections: concurrency,
          proxyTunnel: mode === "tunnel",
        });
        rows.push({
          name: `undici ProxyAgent, ${server} ${mode}`,
          concurrency,
          ...await measure(concurrency, undiciGet(agent)),
        });
        await agent.close();
      }
    }
    {
      await using pool = new ConnectionPool({ maxConnections: concurrency });
      rows.push({ name: "Ferry, direct", concurrency, ...await measure(concurrency, get(pool)) });
    }
    {
      const pool = new UndiciPool(target.origin, { connections: concurrency });
      rows.push({
        name: "undici Pool, direct",
        concurrency,
        ...await measure(concurrency, undiciGet(pool)),
      });
      await pool.close();
    }
  }
  printTable();
  if (NODE) await runUnderNode();
} finally {
  await squid?.stop();
  await proxy.stop();
  await target.stop();
}

function printTable(): void {
  console.log(
    `Small GETs through tinyproxy${
      squid ? " and squid" : ""
    }, Deno ${Deno.version.deno}, ${SECONDS} s per row, target ${NGINX ? "nginx" : "node:http"}`,
  );
  console.log("");
  console.log("| client | concurrency | req/s | Ferry ÷ undici | failed requests |");
  console.log("|---|---:|---:|---:|---:|");
  for (const row of rows) {
    const isFerry = row.name.startsWith("Ferry");
    const peerName = row.name === "Ferry, direct"
      ? "undici Pool, direct"
      : row.name.replace("Ferry", "undici ProxyAgent");
    const peer = rows.find((r) => r.name === peerName && r.concurrency === row.concurrency);
    const ratio = isFerry && peer ? `${(row.rps / peer.rps).toFixed(2)}×` : "";
    console.log(
      `| ${row.name} | ${row.concurrency} | ${Math.round(row.rps)} | ${ratio} | ${row.failures} |`,
    );
  }
  for (const row of rows) {
    if (row.firstFailure) console.log(`${row.name} (${row.concurrency}): ${row.firstFailure}`);
  }
}

/**
 * `--node`: the same rows for Ferry's npm build and undici under Node 20 and 24, against
 * the same peers (builds the package and installs the tools like `bench:node`).
 */
async function runUnderNode(): Promise<void> {
  const { BUILD, ensureTools, ROOT, run, RUNTIMES, TOOLS } = await import(
    "../scripts/_node_tools.ts"
  );
  await ensureTools();
  const built = await run(Deno.execPath(), ["run", "-A", "--no-lock", "scripts/build_npm.ts"], {
    capture: true,
  });
  if (built.code !== 0) {
    console.log("\nThe npm build failed (see above): the Node rows are skipped");
    return;
  }
  const out = join(BUILD, "bench-proxy-node");
  mkdirSync(out, { recursive: true });
  copyFileSync(join(ROOT, "bench", "proxy_node_side_by_side.mjs"), join(out, "bench.mjs"));
  if (!existsSync(join(out, "node_modules"))) {
    symlinkSync(join(TOOLS, "node_modules"), join(out, "node_modules"), "dir");
  }
  const benchArgs = [
    `--target=${target.origin}`,
    `--tinyproxy=${proxy.url}`,
    ...(squid ? [`--squid=${squid.url}`] : []),
    `--seconds=${SECONDS}`,
    `--concurrency=${CONCURRENCY.join(",")}`,
  ];
  for (const name of ["node20", "node24"] as const) {
    console.log("");
    await run(RUNTIMES[name], ["bench.mjs", ...benchArgs], {
      cwd: out,
      env: { FERRY_MODULE: join(BUILD, "npm", "mod.js") },
    });
  }
}
