// Small GETs through real proxies under Node (and Bun): Ferry's npm build against undici's
// ProxyAgent, forward and tunnel, in one process. Started by `deno task bench:proxy --node`,
// which starts nginx, tinyproxy and squid, builds the npm package and passes:
//
//   node proxy_node_side_by_side.mjs --target=http://127.0.0.1:P --tinyproxy=http://… \
//     [--squid=http://…] [--seconds=2] [--concurrency=1,10]
//
// FERRY_MODULE names the built module (build/npm/mod.js). Prints a markdown table of req/s,
// Ferry ÷ undici and failed requests; never asserts a time.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ProxyAgent, request as undiciRequest } from "undici";

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=")).map((
    [k, v],
  ) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.concurrency ?? "1,10").split(",").map(Number);
const runtime = globalThis.Bun ? `Bun ${globalThis.Bun.version}` : `Node ${process.version}`;
const ferry = await import(
  pathToFileURL(resolve(process.env.FERRY_MODULE ?? "build/npm/mod.js")).href
);
const url = `${args.target}/`;

async function measure(concurrency, once) {
  let count = 0;
  let failures = 0;
  let firstFailure = null;
  let measuring = false;
  let stopAt = performance.now() + WARMUP_MS;
  const loop = async () => {
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

const proxies = [
  ["tinyproxy", "forward", args.tinyproxy],
  ["tinyproxy", "tunnel", args.tinyproxy],
  ...(args.squid ? [["squid", "forward", args.squid]] : []),
];
const rows = [];
for (const concurrency of CONCURRENCY) {
  for (const [server, mode, proxyUrl] of proxies) {
    const pool = new ferry.ConnectionPool({
      proxy: { url: proxyUrl, mode: mode === "tunnel" ? "TUNNEL_ONLY" : "DEFAULT" },
      maxConnections: concurrency,
    });
    rows.push({
      name: `Ferry, ${server} ${mode}`,
      concurrency,
      ...await measure(concurrency, async () => {
        const response = await pool.request("GET", url);
        if (response.status !== 200) throw new Error(`status ${response.status}`);
      }),
    });
    await pool.close();
    const agent = new ProxyAgent({
      uri: proxyUrl,
      connections: concurrency,
      proxyTunnel: mode === "tunnel",
    });
    rows.push({
      name: `undici ProxyAgent, ${server} ${mode}`,
      concurrency,
      ...await measure(concurrency, async () => {
        const response = await undiciRequest(url, { dispatcher: agent });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
      }),
    });
    await agent.close();
  }
}

console.log(`Small GETs through proxies, ${runtime}, ${SECONDS} s per row`);
console.log("");
console.log("| client | concurrency | req/s | Ferry ÷ undici | failed requests |");
console.log("|---|---:|---:|---:|---:|");
for (const row of rows) {
  const peer = rows.find((r) =>
    r.name === row.name.replace("Ferry", "undici ProxyAgent") && r.concurrency === row.concurrency
  );
  const ratio = row.name.startsWith("Ferry") && peer ? `${(row.rps / peer.rps).toFixed(2)}×` : "";
  console.log(
    `| ${row.name} | ${row.concurrency} | ${Math.round(row.rps)} | ${ratio} | ${row.failures} |`,
  );
}
for (const row of rows) {
  if (row.firstFailure) console.log(`${row.name} (${row.concurrency}): ${row.firstFailure}`);
}
