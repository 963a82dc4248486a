// Ferry under Node (and Bun), side by side in one run: small keep-alive GETs at 1 and 10
// concurrent against nginx (or a node:http server in a child process when nginx is missing).
//
//   Ferry ConnectionPool / Client    (the npm build, build/npm)
//   undici Pool.request, fetch       (undici from npm, and the runtime's global fetch)
//   node:http with a keep-alive Agent
//   raw node:net loop                (the floor: a fixed request, a fixed-size response)
//
// Then Ferry's HTTP/1.1 parser against Node's own HTTPParser (llhttp) on the same bytes.
//
// Prints req/s and the ratio to the raw loop; never asserts a time. Run it through
// `deno task bench:node`, which builds the package, installs the npm tools into build/ and
// runs this file under Node 20 and Node 24. By hand:
//
//   FERRY_MODULE=build/npm/mod.js node bench/node_side_by_side.mjs [--seconds=2] [--repeat=3]
//     [--concurrency=1,10]
//     [--only=raw,ferry-stream,ferry-pool,ferry-client,undici,fetch,node-http,parser]
//     [--server=node]
//
// (undici must resolve from where the file runs; bench:node copies it next to build/tools.)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=")).map((
    [k, v],
  ) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const REPEAT = Number(args.repeat ?? 3);
const WARMUP_MS = 300;
const CONCURRENCY = (args.concurrency ?? "1,10").split(",").map(Number);
const ONLY = args.only ? new Set(args.only.split(",")) : null;
const runtime = globalThis.Bun ? `Bun ${globalThis.Bun.version}` : `Node ${process.version}`;

const ferryPath = process.env.FERRY_MODULE ?? "build/npm/mod.js";
const ferry = await import(pathToFileURL(resolve(ferryPath)).href);
const http11 = await import(pathToFileURL(resolve(ferryPath, "../src/http11/mod.js")).href)
  .catch(() => null);
const nodeBackend = await import(
  pathToFileURL(resolve(ferryPath, "../src/network/node.js")).href
).catch(() => null);
let undici = null;
try {
  // By path: Bun answers a bare "undici" with a built-in stand-in that has no real Pool.
  const manifest = createRequire(import.meta.url).resolve("undici/package.json");
  undici = await import(pathToFileURL(join(dirname(manifest), "index.js")).href);
  undici = undici.Pool ? undici : undici.default;
} catch {
  console.log("(undici is not installed where this runs: its rows are skipped)");
}

// ---------------------------------------------------------------------------------------
// The server: nginx with a tiny config, or node:http in a child process.

async function freePort() {
  return await new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    const ok = await new Promise((done) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), done(true)));
      socket.once("error", () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listened on port ${port}`);
}

async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ferry-node-bench-"));
  const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => {
    try {
      return createRequire(import.meta.url)("node:fs").statSync(path).isFile();
    } catch {
      return false;
    }
  });
  if (nginx && args.server !== "node") {
    writeFileSync(
      join(dir, "nginx.conf"),
      `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 1024; }
http {
  access_log off; keepalive_timeout 75; keepalive_requests 10000000;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f;
  uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "Hello from Ferry's bench\\n"; }
  }
}
`,
    );
    const child = spawn(nginx, [
      "-p",
      dir,
      "-c",
      join(dir, "nginx.conf"),
      "-e",
      join(dir, "error.log"),
    ], {
      stdio: "ignore",
    });
    await waitForPort(port, child);
    return { name: "nginx", port, stop: () => stop(child, dir) };
  }
  const code = `require("http").createServer((q, s) => { s.setHeader("content-type", "text/plain");
    s.end("Hello from Ferry's bench\\n"); }).listen(${port}, "127.0.0.1");`;
  const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
  await waitForPort(port, child);
  return { name: "node:http server (nginx missing)", port, stop: () => stop(child, dir) };
}

async function stop(child, dir) {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// Contenders. Each `make(concurrency)` returns { one(): Promise<void>, close(): Promise<void> }.

function rawRequest(port) {
  return Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
}

async function probeResponseLength(port) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  socket.write(
    Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
  );
  let total = Buffer.alloc(0);
  for await (const chunk of socket) total = Buffer.concat([total, chunk]);
  const text = total.toString("latin1");
  // The keep-alive response lacks "Connection: close" and carries "Connection: keep-alive".
  const headEnd = text.indexOf("\r\n\r\n");
  const length = Number(/content-length: *(\d+)/i.exec(text)[1]);
  return { headEnd, length };
}

/** The exact size of one keep-alive response to the raw request. */
async function rawResponseSize(port) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  socket.write(rawRequest(port));
  let first = Buffer.alloc(0);
  const { length } = await probeResponseLength(port);
  while (true) {
    const chunk = await new Promise((r) => socket.once("data", r));
    first = Buffer.concat([first, chunk]);
    const headEnd = first.indexOf("\r\n\r\n");
    if (headEnd >= 0 && first.length >= headEnd + 4 + length) break;
  }
  socket.destroy();
  return first.length;
}

/** The floor: one socket per worker, a fixed request, read until the fixed-size reply. */
async function makeRaw(port, concurrency) {
  const size = await rawResponseSize(port);
  const request = rawRequest(port);
  const sockets = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const s = net.connect(port, "127.0.0.1");
      s.setNoDelay(true);
      await new Promise((r) => s.once("connect", r));
      let got = 0;
      let wake = null;
      s.on("data", (chunk) => {
        got += chunk.length;
        if (got >= size && wake) {
          got -= size;
          const w = wake;
          wake = null;
          w();
        }
      });
      return {
        s,
        one: () =>
          new Promise((r) => {
            wake = r;
            s.write(request);
          }),
      };
    }),
  );
  let next = 0;
  return {
    // Each worker owns one socket: hand them out round-robin per worker start.
    worker: () => sockets[next++ % sockets.length].one,
    close: () => Promise.resolve(sockets.forEach(({ s }) => s.destroy())),
  };
}

/**
 * The raw loop again, through Ferry's NodeNetworkStream (write, then read until the fixed
 * size): what the network backend costs on top of bare socket events.
 */
async function makeFerryStream(port, concurrency) {
  const size = await rawResponseSize(port);
  const request = new Uint8Array(rawRequest(port));
  const backend = new nodeBackend.NodeNetworkBackend();
  const streams = await Promise.all(
    Array.from({ length: concurrency }, () => backend.connect("127.0.0.1", port)),
  );
  let next = 0;
  return {
    worker: () => {
      const stream = streams[next++ % streams.length];
      return async () => {
        await stream.write(request);
        for (let got = 0; got < size;) got += (await stream.read()).length;
      };
    },
    close: () => Promise.all(streams.map((stream) => stream.close())),
  };
}

function makeUndiciPool(port, concurrency) {
  const pool = new undici.Pool(`http://127.0.0.1:${port}`, {
    connections: concurrency,
    pipelining: 1,
  });
  return {
    worker: () => async () => {
      const { body } = await pool.request({ path: "/", method: "GET" });
      await body.text();
    },
    close: () => pool.close(),
  };
}

function makeFetch(port, concurrency) {
  const url = `http://127.0.0.1:${port}/`;
  void concurrency;
  return {
    worker: () => async () => {
      const response = await fetch(url);
      await response.text();
    },
    close: () => Promise.resolve(),
  };
}

function makeNodeHttp(port, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return {
    worker: () => () =>
      new Promise((resolveRequest, reject) => {
        http.get({ host: "127.0.0.1", port, path: "/", agent }, (response) => {
          response.on("data", () => {});
          response.on("end", resolveRequest);
          response.on("error", reject);
        }).on("error", reject);
      }),
    close: () => Promise.resolve(agent.destroy()),
  };
}

function makeFerryPool(port, concurrency) {
  const pool = new ferry.ConnectionPool({ maxConnections: concurrency });
  const url = `http://127.0.0.1:${port}/`;
  return {
    worker: () => async () => {
      const response = await pool.request("GET", url);
      await readBody(response);
    },
    close: () => pool.close(),
  };
}

function makeFerryClient(port, concurrency) {
  const client = new ferry.Client(
    ferry.ConnectionPool
      ? { transport: new ferry.ConnectionPool({ maxConnections: concurrency }) }
      : {},
  );
  const url = `http://127.0.0.1:${port}/`;
  return {
    worker: () => async () => {
      const response = await client.get(url);
      await readBody(response);
    },
    close: () => client.close(),
  };
}

async function readBody(response) {
  if (typeof response.bytes === "function") return await response.bytes();
  if (typeof response.read === "function") return await response.read();
  return await response.text();
}

// ---------------------------------------------------------------------------------------

async function measure(make, port, concurrency) {
  const contender = await make(port, concurrency);
  try {
    let count = 0;
    let stopAt = 0;
    let counting = false;
    const workers = Array.from({ length: concurrency }, async () => {
      const one = contender.worker();
      while (performance.now() < stopAt || !counting) {
        await one();
        if (counting) count++;
      }
    });
    stopAt = performance.now() + WARMUP_MS;
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    counting = true;
    const start = performance.now();
    count = 0;
    stopAt = start + SECONDS * 1000;
    await Promise.all(workers);
    return count / ((performance.now() - start) / 1000);
  } finally {
    await contender.close();
  }
}

const contenders = [
  ["raw node:net loop (floor)", "raw", makeRaw, true],
  ["raw loop on Ferry's NodeNetworkStream", "ferry-stream", makeFerryStream, Boolean(nodeBackend)],
  ["Ferry ConnectionPool", "ferry-pool", makeFerryPool, Boolean(ferry.ConnectionPool)],
  ["Ferry Client", "ferry-client", makeFerryClient, Boolean(ferry.Client)],
  ["undici Pool.request", "undici", makeUndiciPool, Boolean(undici)],
  ["fetch (global)", "fetch", makeFetch, typeof fetch === "function"],
  ["node:http keep-alive Agent", "node-http", makeNodeHttp, true],
];

const server = await startServer();
console.log(
  `# ${runtime}: small GETs against ${server.name}, ${SECONDS} s per cell, ` +
    `median of ${REPEAT} interleaved rounds`,
);
const samples = new Map();
try {
  for (let round = 0; round < REPEAT; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const [name, key, make, available] of contenders) {
        if (!available || (ONLY && !ONLY.has(key))) continue;
        const cell = `${key}@${concurrency}`;
        if (samples.get(cell) === null) continue;
        try {
          const rate = await measure(make, server.port, concurrency);
          samples.set(cell, [...(samples.get(cell) ?? []), rate]);
        } catch (error) {
          console.log(`${name} at ${concurrency}: failed: ${error?.message ?? error}`);
          samples.set(cell, null);
        }
      }
    }
  }
} finally {
  await server.stop();
}
const results = new Map();
for (const [cell, rates] of samples) {
  if (!rates) continue;
  const sorted = [...rates].sort((a, b) => a - b);
  results.set(cell, sorted[Math.floor(sorted.length / 2)]);
}

const pad = (text, width) => String(text).padEnd(width);
const NAME_WIDTH = 38;
const padLeft = (text, width) => String(text).padStart(width);
const header = [pad("client", NAME_WIDTH)];
for (const c of CONCURRENCY) header.push(padLeft(`req/s @${c}`, 12), padLeft("vs raw", 7));
console.log(header.join(" "));
for (const [name, key] of contenders) {
  if (!CONCURRENCY.some((c) => results.has(`${key}@${c}`))) continue;
  const row = [pad(name, NAME_WIDTH)];
  for (const c of CONCURRENCY) {
    const rate = results.get(`${key}@${c}`);
    const raw = results.get(`raw@${c}`);
    row.push(
      padLeft(rate ? Math.round(rate).toLocaleString("en-US") : "-", 12),
      padLeft(rate && raw ? (rate / raw).toFixed(2) : "-", 7),
    );
  }
  console.log(row.join(" "));
}
if (REPEAT > 1) {
  // The machine is shared and noisy: show how far apart the rounds were.
  const spread = [];
  for (const [cell, rates] of samples) {
    if (!rates || rates.length < 2) continue;
    const low = Math.min(...rates), high = Math.max(...rates);
    spread.push(`${cell} ${Math.round(low / 1000)}k-${Math.round(high / 1000)}k`);
  }
  console.log(`rounds (min-max req/s): ${spread.join(", ")}`);
}
for (const c of CONCURRENCY) {
  const pool = results.get(`ferry-pool@${c}`);
  const und = results.get(`undici@${c}`);
  if (pool && und) {
    console.log(`Ferry pool / undici Pool.request @${c}: ${(pool / und).toFixed(2)}x`);
  }
}

// ---------------------------------------------------------------------------------------
// Parser: Ferry's ResponseParser against Node's HTTPParser (llhttp), same bytes.

if (http11 && !globalThis.Bun && (!ONLY || ONLY.has("parser"))) {
  parserBench();
}

function parserBench() {
  let HTTPParser;
  try {
    ({ HTTPParser } = createRequire(import.meta.url)("_http_common"));
  } catch {
    console.log("(Node's HTTPParser is not reachable here: parser comparison skipped)");
    return;
  }
  const body = "x".repeat(1024);
  const sample = Buffer.from(
    "HTTP/1.1 200 OK\r\nServer: nginx/1.26.3\r\nDate: Sat, 21 Nov 2026 23:00:00 GMT\r\n" +
      "Content-Type: text/html; charset=utf-8\r\nContent-Length: 1024\r\nConnection: keep-alive\r\n" +
      "Cache-Control: no-cache\r\nX-Request-Id: 0123456789abcdef\r\nVary: Accept-Encoding\r\n\r\n" +
      body,
  );
  const bytes = new Uint8Array(sample.buffer, sample.byteOffset, sample.length);
  const N = 100_000;

  const ferryParse = () => {
    const parser = new http11.ResponseParser();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      parser.startResponse("GET");
      parser.feed(bytes);
      let event;
      while ((event = parser.next()) && event.type !== "end") {
        if (event.type === "head") void event.headers;
      }
    }
    return N / ((performance.now() - t0) / 1000);
  };

  const llhttpParse = () => {
    const parser = new HTTPParser();
    let done = 0;
    parser[HTTPParser.kOnHeadersComplete] = () => 0;
    parser[HTTPParser.kOnBody] = () => {};
    parser[HTTPParser.kOnMessageComplete] = () => void done++;
    parser.initialize(HTTPParser.RESPONSE, {});
    const t0 = performance.now();
    for (let i = 0; i < N; i++) parser.execute(sample);
    const rate = N / ((performance.now() - t0) / 1000);
    if (done !== N) throw new Error(`llhttp completed ${done} of ${N} messages`);
    return rate;
  };

  try {
    ferryParse();
    llhttpParse();
    // Interleaved rounds, medians: the machine is shared.
    const ferryRates = [], llhttpRates = [];
    for (let round = 0; round < Math.max(REPEAT, 3); round++) {
      ferryRates.push(ferryParse());
      llhttpRates.push(llhttpParse());
    }
    const median = (rates) => rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
    const ferryRate = median(ferryRates);
    const llhttpRate = median(llhttpRates);
    console.log(
      `parser, 1 KiB response with 9 headers: Ferry ${
        Math.round(ferryRate).toLocaleString("en-US")
      }/s, ` +
        `Node HTTPParser (llhttp) ${Math.round(llhttpRate).toLocaleString("en-US")}/s, ` +
        `ratio ${(ferryRate / llhttpRate).toFixed(2)}`,
    );
  } catch (error) {
    console.log(`parser comparison failed: ${error?.message ?? error}`);
  }
}
