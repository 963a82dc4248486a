// HTTP/2 under Node (and Bun), side by side in one run: small GETs against nginx's http2
// module over TLS (ALPN), at c=1, 10 and 100 concurrent (`--c=1,10,100`):
//
//   node:http2 session           the floor: one ClientHttp2Session, a stream per request
//   Ferry pool, HTTP/2           new ConnectionPool({ http2: true }) of the npm build: one
//                                connection, a stream per request
//   undici (allowH2)             undici.request with an Agent({ allowH2: true })
//   Ferry pool, HTTP/1.1         the default pool over TLS (connections up to the concurrency)
//
// Per row and concurrency: median req/s of interleaved rounds, the ratio to Ferry's HTTP/2
// row, CPU microseconds per request (process.cpuUsage() / requests, all threads) and the
// connections Ferry's pools hold. Never asserts a time.
//
// Run it through `deno task bench:node` (after the HTTP/1.1 tables; `--no-h2` skips it),
// which builds the package, starts nginx with TLS and passes `--origin` and `--ca-file`. By
// hand:
//
//   FERRY_MODULE=build/npm/mod.js node bench/h2_node_side_by_side.mjs \
//     --origin=https://127.0.0.1:8443 --ca-file=ca.pem [--seconds=2] [--rounds=3] [--c=1,10,100]

import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadUndici, median, parseArgs, timedLoops } from "./_node_bench.mjs";

const args = parseArgs();
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const CONCURRENCY = String(args.c ?? args.concurrency ?? "1,10,100").split(",").map(Number);
const bun = globalThis.Bun;
const runtime = bun ? `Bun ${bun.version}` : `Node ${process.version}`;
if (!args.origin || !args["ca-file"]) {
  console.error("usage: h2_node_side_by_side.mjs --origin=https://HOST:PORT --ca-file=FILE");
  process.exit(2);
}
const ORIGIN = args.origin;
const CA = readFileSync(args["ca-file"], "utf8");
const URL_ = `${ORIGIN}/`;

const ferryPath = process.env.FERRY_MODULE ?? "build/npm/mod.js";
const ferry = await import(pathToFileURL(resolve(ferryPath)).href);
const undici = await loadUndici("Agent");

/** The floor: node:http2's own client session, a stream per request, the body read whole. */
const nodeH2 = {
  name: "node:http2 session",
  setup() {
    const session = http2.connect(ORIGIN, { ca: CA });
    session.on("error", () => {});
    const once = () =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ":path": "/" });
        let status = 0;
        stream.on("response", (headers) => status = headers[":status"]);
        stream.on("data", () => {});
        stream.on("end", () => status === 200 ? resolve() : reject(new Error(`${status}`)));
        stream.on("error", reject);
        stream.end();
      });
    return {
      once,
      close: () => new Promise((resolve) => session.close(resolve)),
      note: () => "1 session",
    };
  },
};

const ferryH2 = {
  name: "Ferry pool, HTTP/2",
  setup() {
    const pool = new ferry.ConnectionPool({ http2: true, tls: { caCerts: [CA] } });
    return {
      async once() {
        const response = await pool.request("GET", URL_);
        if (response.status !== 200 || response.httpVersion !== "HTTP/2") {
          throw new Error(`Unexpected ${response.status} ${response.httpVersion}`);
        }
      },
      close: () => pool.close(),
      note: () => `${pool.connections.length} connection(s)`,
    };
  },
};

const undiciH2 = undici && {
  name: "undici (allowH2)",
  setup() {
    const agent = new undici.Agent({ allowH2: true, connect: { ca: CA } });
    return {
      async once() {
        const { statusCode, body } = await undici.request(URL_, { dispatcher: agent });
        await body.arrayBuffer();
        if (statusCode !== 200) throw new Error(`Unexpected ${statusCode}`);
      },
      close: () => agent.close(),
    };
  },
};

const ferryH1 = {
  name: "Ferry pool, HTTP/1.1",
  setup() {
    const pool = new ferry.ConnectionPool({ tls: { caCerts: [CA] } });
    return {
      async once() {
        const response = await pool.request("GET", URL_);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      close: () => pool.close(),
      note: () => `${pool.connections.length} connection(s)`,
    };
  },
};

const CASES = [ferryH2, nodeH2, undiciH2, ferryH1].filter(Boolean);

async function measure(concurrency, once) {
  const { count, elapsedMs, cpuMicros } = await timedLoops(concurrency, once, { seconds: SECONDS });
  return { rate: count / (elapsedMs / 1000), cpu: cpuMicros / count };
}

console.log(
  `\nHTTP/2 on ${runtime}: small GETs against nginx ${ORIGIN} (TLS, ALPN h2), ${SECONDS} s x ${ROUNDS} interleaved rounds, medians`,
);
for (const concurrency of CONCURRENCY) {
  const results = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const item of CASES) {
      const run = item.setup();
      try {
        const { rate, cpu } = await measure(concurrency, run.once);
        const entry = results.get(item.name) ?? { rate: [], cpu: [], note: "" };
        entry.rate.push(rate);
        entry.cpu.push(cpu);
        entry.note = run.note?.() ?? "";
        results.set(item.name, entry);
      } finally {
        await run.close();
      }
    }
  }
  console.log(`\nc=${concurrency}                       req/s  x Ferry h2  CPU us/req`);
  const base = median(results.get(CASES[0].name).rate);
  for (const [name, { rate, cpu, note }] of results) {
    const r = median(rate);
    console.log(
      `  ${name.padEnd(24)} ${r.toFixed(0).padStart(7)}  ${(r / base).toFixed(2).padStart(9)}x  ${
        median(cpu).toFixed(1).padStart(9)
      }  ${note}`,
    );
  }
}
process.exit(0);
