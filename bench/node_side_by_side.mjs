// Ferry under Node (and Bun), side by side in one run: small keep-alive GETs at c=1, 10 and
// 100 concurrent (`--c=1,10,100,1000` for others), then the goals' ratios again, each
// measured as a pair in one process (see "Paired" below), then Ferry's HTTP/1.1 parser
// against Node's own HTTPParser (llhttp) on the same bytes.
//
//   raw node:net loop, onread    the floor: one socket per worker, a fixed request, a
//                                fixed-size response read into one reused buffer (the
//                                `onread` socket option; under Bun: a raw Bun.connect loop)
//   raw node:net loop, 'data'    the same with 'data' events (the floor of earlier rounds:
//                                3-6 us per request dearer on Node)
//   raw loop on Ferry's NodeNetworkStream   what the network backend adds
//   Ferry ConnectionPool / Client.get       the npm build (build/npm)
//   undici Pool.request, fetch (global)     (under Bun: Bun's own fetch)
//   node:http with a keep-alive Agent
//
// Rows run in interleaved rounds (in reverse order every other round, so that what ran
// before a row weighs on every row alike). No row starts with a forced collection: measured
// on Node 20 and 24 (same process, rows with and without it interleaved), one made the
// clients' rows dearer per request and not the raw loop's. Per row and concurrency: median
// req/s of those rounds, the ratio to the raw loop, the spread (min-max) of the rounds, CPU
// microseconds per request (process.cpuUsage() / requests: the figure that noise disturbs
// least) and the connections the row opened (Ferry through a counting network backend,
// undici from its `connect` events, node:http from its agent; n/a for fetch). Ferry's pool defaults to 100 connections, so at c=1000
// requests wait for one; undici and node:http get the same budget. Never asserts a time.
//
// Run it through `deno task bench:node` (Node 20 and 24; `--bun` adds Bun), which builds the
// package, installs the npm tools into build/tools, starts nginx (`return 200`, 12-byte
// body, one worker per core, see bench/_peer.ts) once for all runtimes, and passes
// `--origin`, `--server-pids` and `--server-workers`. By hand:
//
//   FERRY_MODULE=build/npm/mod.js node bench/node_side_by_side.mjs --origin=http://127.0.0.1:8080
//     [--seconds=2] [--rounds=3] [--requests=N] [--c=1,10,100]
//     [--only=raw,ferry-stream,ferry-pool,ferry-client,undici,fetch,node-http,parser,memory]
//
// `--only=memory` adds Ferry's pool over streams that answer at once (no network, not in
// the default rows): its own CPU per request, the figure least disturbed by a loaded machine.
//
// `--baseline-module=DIR/build/npm/mod.js` adds the Ferry rows of another build, marked
// "(baseline)": before and after in the same run, on the same noise (and paired lines of
// each Ferry row over its baseline).
//
// Paired (at every concurrency above 1, `--paired-seconds=S` per line, default 12, 0 skips
// them; a pair runs when `--only` keeps both its rows): Ferry's pool and Client over the raw
// floor loop, the pool over undici Pool.request (under Bun also over Bun's fetch), and the
// raw loop over undici: the ceiling of the pool's ratio to undici in that run; each table
// ends with a server check of its own lines (`pairedServerCheck`). Both rows
// are set up at once and run from the same loops, switching every 250 ms in the order
// A B B A, 30 ms before each phase not counted while the other row's requests finish; the
// line gives the median and quartiles of B's req/s / A's over adjacent phases, and the
// medians of each side's CPU us/req (process.cpuUsage() per phase). Cells measured seconds
// apart see different noise on this kind of machine; the two phases of a pair see nearly
// the same. As `measurePaired` in bench/_peer.ts (the Deno benchmark's).
//
// Without --origin a node:http server in a child process answers (said in the output; it is
// slower than the clients, so the ratios are compressed).
// (undici must resolve from where the file runs; bench:node links build/tools/node_modules.)

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as http from "node:http";
import * as net from "node:net";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  headroomWarning,
  measurePaired,
  pairedLine,
  pairedTables,
  pairedWidth,
} from "./_node_bench.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=")).map((
    [k, v],
  ) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? args.repeat ?? 3);
const REQUESTS = args.requests === undefined ? undefined : Number(args.requests);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.c ?? args.concurrency ?? "1,10,100").split(",").map(Number);
const ONLY = args.only ? new Set(args.only.split(",")) : null;
const MAX_CONNECTIONS = 100;
/** Seconds of paired phases per pair and concurrency (0: no paired table). */
const PAIRED_SECONDS = Number(args["paired-seconds"] ?? 12);
const bun = globalThis.Bun;
const runtime = bun ? `Bun ${bun.version}` : `Node ${process.version}`;

const ferryPath = process.env.FERRY_MODULE ?? "build/npm/mod.js";
const ferry = await import(pathToFileURL(resolve(ferryPath)).href);
const http11 = await import(pathToFileURL(resolve(ferryPath, "../src/http11/mod.js")).href)
  .catch(() => null);
const nodeBackend = await import(
  pathToFileURL(resolve(ferryPath, "../src/network/node.js")).href
).catch(() => null);
const baseline = args["baseline-module"]
  ? {
    ferry: await import(pathToFileURL(resolve(args["baseline-module"])).href),
    nodeBackend: await import(
      pathToFileURL(resolve(args["baseline-module"], "../src/network/node.js")).href
    ),
  }
  : null;
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
// The server: given (--origin), or node:http in a child process.

async function fallbackServer() {
  const code = `const s = require("http").createServer((q, r) => {
      r.setHeader("content-type", "text/plain"); r.end("Hello Ferry\\n"); });
    s.keepAliveTimeout = 75000;
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((r) => child.stdout.once("data", (d) => r(Number(String(d)))));
  return {
    origin: `http://127.0.0.1:${port}`,
    note: "node:http in a child process (no --origin given); ratios are compressed",
    pids: [child.pid],
    workers: 1,
    stop: () =>
      new Promise((r) => {
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  };
}

function givenServer() {
  return {
    origin: args.origin,
    note: args["server-note"] ?? "given by --origin",
    pids: args["server-pids"] ? args["server-pids"].split(",").map(Number) : [],
    workers: args["server-workers"] ? Number(args["server-workers"]) : undefined,
    stop: () => Promise.resolve(),
  };
}

/** User + system CPU milliseconds of `pids` from /proc (Linux), or null. */
function processCpuMs(pids) {
  if (pids.length === 0) return null;
  let ticks = 0;
  try {
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  return ticks * 10;
}

// ---------------------------------------------------------------------------------------
// Rows. Each `make(url, concurrency)` resolves to
// { worker(index): () => Promise<void>, connects(): number | null, close(): Promise<void> }.

function rawRequest(url) {
  return Buffer.from(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
}

/** The exact size of one keep-alive response to the raw request. */
async function rawResponseSize(url) {
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once("connect", r));
  socket.write(rawRequest(url));
  let got = Buffer.alloc(0);
  for (;;) {
    got = Buffer.concat([got, await new Promise((r) => socket.once("data", r))]);
    const text = got.toString("latin1");
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) continue;
    const length = Number(/content-length: *(\d+)/i.exec(text)[1]);
    if (got.length >= end + 4 + length) {
      socket.destroy();
      return end + 4 + length;
    }
  }
}

/**
 * The raw loop reading in `onread` mode: the kernel writes into one reused buffer, no
 * Buffer per read and no readable stream machinery. The faster of the two raw loops on
 * Node (Ferry's Node backend reads this way too), so it is the floor there.
 */
async function makeRawOnread(url, concurrency) {
  const size = await rawResponseSize(url);
  const request = rawRequest(url);
  const sockets = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      let got = 0;
      let wake = null;
      const s = net.connect({
        port: Number(url.port),
        host: url.hostname,
        onread: {
          buffer: Buffer.alloc(65536),
          callback: (n) => {
            got += n;
            if (got >= size && wake) {
              got -= size;
              const w = wake;
              wake = null;
              w();
            }
          },
        },
      });
      s.setNoDelay(true);
      await new Promise((r) => s.once("connect", r));
      const one = () =>
        new Promise((r) => {
          wake = r;
          s.write(request);
        });
      return { s, one };
    }),
  );
  return {
    worker: (i) => sockets[i].one,
    connects: () => concurrency,
    close: () => Promise.resolve(sockets.forEach(({ s }) => s.destroy())),
  };
}

async function makeRaw(url, concurrency) {
  const size = await rawResponseSize(url);
  const request = rawRequest(url);
  const sockets = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const s = net.connect(Number(url.port), url.hostname);
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
      const one = () =>
        new Promise((r) => {
          wake = r;
          s.write(request);
        });
      return { s, one };
    }),
  );
  return {
    worker: (i) => sockets[i].one,
    connects: () => concurrency,
    close: () => Promise.resolve(sockets.forEach(({ s }) => s.destroy())),
  };
}

/** Bun's own sockets: the floor under Bun. */
async function makeRawBun(url, concurrency) {
  const size = await rawResponseSize(url);
  const request = rawRequest(url);
  const sockets = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const state = { got: 0, wake: null };
      const socket = await bun.connect({
        hostname: url.hostname,
        port: Number(url.port),
        socket: {
          data(_socket, chunk) {
            state.got += chunk.length;
            if (state.got >= size && state.wake) {
              state.got -= size;
              const w = state.wake;
              state.wake = null;
              w();
            }
          },
        },
      });
      socket.setNoDelay?.(true);
      const one = () =>
        new Promise((r) => {
          state.wake = r;
          socket.write(request);
        });
      return { socket, one };
    }),
  );
  return {
    worker: (i) => sockets[i].one,
    connects: () => concurrency,
    close: () => Promise.resolve(sockets.forEach(({ socket }) => socket.end())),
  };
}

/** Counts connects of Ferry's Node backend. */
function countingBackend(backends = nodeBackend) {
  const inner = new backends.NodeNetworkBackend();
  return {
    connects: 0,
    connect(host, port, options) {
      this.connects++;
      return inner.connect(host, port, options);
    },
    connectUnix(path, options) {
      this.connects++;
      return inner.connectUnix(path, options);
    },
  };
}

/** The raw loop again, through Ferry's NodeNetworkStream: what the backend costs. */
async function makeFerryStream(url, concurrency) {
  const size = await rawResponseSize(url);
  const request = new Uint8Array(rawRequest(url));
  const backend = new nodeBackend.NodeNetworkBackend();
  const streams = await Promise.all(
    Array.from({ length: concurrency }, () => backend.connect(url.hostname, Number(url.port))),
  );
  return {
    worker: (i) => {
      const stream = streams[i];
      return async () => {
        await stream.write(request);
        for (let got = 0; got < size;) got += (await stream.read()).length;
      };
    },
    connects: () => concurrency,
    close: () => Promise.all(streams.map((stream) => stream.close())),
  };
}

function makeFerryPool(url, _concurrency, build = { ferry, nodeBackend }) {
  const backend = countingBackend(build.nodeBackend);
  const pool = new build.ferry.ConnectionPool({ backend });
  const target = `${url.origin}/`;
  return {
    worker: () => async () => {
      const response = await pool.request("GET", target);
      if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
    },
    connects: () => backend.connects,
    close: () => pool.close(),
  };
}

function makeFerryClient(url, _concurrency, build = { ferry, nodeBackend }) {
  const backend = countingBackend(build.nodeBackend);
  const client = new build.ferry.Client({
    transport: new build.ferry.ConnectionPool({ backend }),
  });
  const target = `${url.origin}/`;
  return {
    worker: () => async () => {
      const response = await client.get(target);
      if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
    },
    connects: () => backend.connects,
    close: () => client.close(),
  };
}

/** An nginx-like response to every request (as bench/pool_bench.ts's). */
const INSTANT_RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 23:00:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n" +
    "Hello Ferry\n",
);

/** A network stream that answers each write with one response at once: no network. */
class InstantStream {
  #pending = 0;
  #waiter = null;
  read() {
    if (this.#pending > 0) {
      this.#pending--;
      return Promise.resolve(INSTANT_RESPONSE.slice());
    }
    return new Promise((resolve) => this.#waiter = resolve);
  }
  write() {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter(INSTANT_RESPONSE.slice());
    } else this.#pending++;
    return Promise.resolve();
  }
  startTls() {
    return Promise.resolve(this);
  }
  getExtraInfo() {
    return undefined;
  }
  close() {
    this.#waiter?.(new Uint8Array(0));
    return Promise.resolve();
  }
}

/**
 * Ferry's pool over streams that answer at once (`--only=memory`): its own CPU per request
 * without system calls, the figure least disturbed by a loaded machine. Not a client of the
 * server: its "vs raw" is not a finding.
 */
function makeFerryMemory(url, _concurrency, build = { ferry }) {
  let connects = 0;
  const backend = {
    connect: () => {
      connects++;
      return Promise.resolve(new InstantStream());
    },
  };
  const pool = new build.ferry.ConnectionPool({ backend });
  const target = `${url.origin}/`;
  return {
    worker: () => async () => {
      const response = await pool.request("GET", target);
      if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
    },
    connects: () => connects,
    close: () => pool.close(),
  };
}

function makeUndiciPool(url, concurrency) {
  const pool = new undici.Pool(url.origin, {
    connections: Math.min(concurrency, MAX_CONNECTIONS),
    pipelining: 1,
  });
  let connects = 0;
  pool.on("connect", () => connects++);
  return {
    worker: () => async () => {
      const { body } = await pool.request({ path: "/", method: "GET" });
      await body.arrayBuffer();
    },
    connects: () => connects,
    close: () => pool.close(),
  };
}

function makeFetch(url) {
  const target = `${url.origin}/`;
  return {
    worker: () => async () => {
      const response = await fetch(target);
      await response.arrayBuffer();
    },
    connects: () => null,
    close: () => Promise.resolve(),
  };
}

function makeNodeHttp(url, concurrency) {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: Math.min(concurrency, MAX_CONNECTIONS),
  });
  let connects = 0;
  const create = agent.createConnection;
  agent.createConnection = function (...rest) {
    connects++;
    return create.apply(this, rest);
  };
  const options = { host: url.hostname, port: Number(url.port), path: "/", agent };
  return {
    worker: () => () =>
      new Promise((resolveRequest, reject) => {
        http.get(options, (response) => {
          response.on("data", () => {});
          response.on("end", resolveRequest);
          response.on("error", reject);
        }).on("error", reject);
      }),
    connects: () => connects,
    close: () => Promise.resolve(agent.destroy()),
  };
}

// [name, --only key, make, available]; the first available row is the floor.
const ROWS = [
  ["raw Bun.connect loop (floor)", "raw", makeRawBun, Boolean(bun)],
  ["raw node:net loop, onread (floor)", "raw", makeRawOnread, !bun],
  ["raw node:net loop, 'data' events", "raw", makeRaw, true],
  ["raw loop on Ferry's NodeNetworkStream", "ferry-stream", makeFerryStream, Boolean(nodeBackend)],
  ["Ferry ConnectionPool", "ferry-pool", makeFerryPool, Boolean(nodeBackend)],
  ["Ferry Client.get", "ferry-client", makeFerryClient, Boolean(nodeBackend)],
  [
    "Ferry ConnectionPool (baseline)",
    "ferry-pool",
    (url, c) => makeFerryPool(url, c, baseline),
    Boolean(baseline),
  ],
  [
    "Ferry Client.get (baseline)",
    "ferry-client",
    (url, c) => makeFerryClient(url, c, baseline),
    Boolean(baseline),
  ],
  ["undici Pool.request", "undici", makeUndiciPool, Boolean(undici)],
  [bun ? "Bun fetch" : "fetch (undici inside Node)", "fetch", makeFetch, true],
  ["node:http keep-alive Agent", "node-http", makeNodeHttp, true],
  // Only when asked for (--only=memory): no network.
  ["Ferry ConnectionPool, in memory", "memory", makeFerryMemory, Boolean(ONLY?.has("memory"))],
  [
    "Ferry ConnectionPool, in memory (baseline)",
    "memory",
    (url, c) => makeFerryMemory(url, c, baseline),
    Boolean(baseline && ONLY?.has("memory")),
  ],
].filter(([, key, , available]) => available && (!ONLY || ONLY.has(key) || key === "raw"));

// ---------------------------------------------------------------------------------------

async function measure(make, url, concurrency, pids) {
  const row = await make(url, concurrency);
  try {
    let count = 0;
    let started = 0;
    let counting = false;
    let stopAt = performance.now() + WARMUP_MS;
    const limit = REQUESTS ?? Infinity;
    const more = () =>
      counting ? started < limit && performance.now() < stopAt : performance.now() < stopAt;
    const loop = async (one) => {
      while (more()) {
        if (counting) started++;
        await one();
        if (counting) count++;
      }
    };
    const ones = Array.from({ length: concurrency }, (_, i) => row.worker(i));
    await Promise.all(ones.map(loop));
    counting = true;
    const serverStart = processCpuMs(pids);
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    stopAt = REQUESTS !== undefined ? Infinity : start + SECONDS * 1000;
    await Promise.all(ones.map(loop));
    const cpu = process.cpuUsage(cpuStart);
    const elapsed = performance.now() - start;
    const serverEnd = processCpuMs(pids);
    return {
      rate: count / (elapsed / 1000),
      cpuUs: (cpu.user + cpu.system) / count,
      connects: row.connects(),
      serverCores: serverStart === null || serverEnd === null
        ? null
        : (serverEnd - serverStart) / elapsed,
    };
  } finally {
    await row.close();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const k = (value) =>
  value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : `${(value / 1000).toFixed(1)}k`;

const server = args.origin ? givenServer() : await fallbackServer();
const url = new URL(server.origin);
console.log(
  `# ${runtime}: small keep-alive GETs; server: ${server.note} at ${server.origin}; ` +
    `${ROUNDS} interleaved rounds of ` + (REQUESTS ? `${REQUESTS} requests` : `${SECONDS} s`) +
    " per cell, medians",
);
const samples = new Map();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of CONCURRENCY) {
      // Every other round runs the rows in reverse order: a row's place in the round (what
      // ran before it, how warm the machine is) then weighs on every row alike.
      for (const [name, , make] of round % 2 === 0 ? ROWS : [...ROWS].reverse()) {
        try {
          const sample = await measure(make, url, concurrency, server.pids);
          const cell = `${name}@${concurrency}`;
          samples.set(cell, [...(samples.get(cell) ?? []), sample]);
        } catch (error) {
          console.log(`${name} at c=${concurrency}: failed: ${error?.message ?? error}`);
        }
      }
    }
  }
} catch (error) {
  await server.stop();
  throw error;
}

const width = Math.max(...ROWS.map(([name]) => name.length)) + 2;
const warnings = [];
for (const concurrency of CONCURRENCY) {
  console.log();
  const header = `c=${concurrency}`.padEnd(width) + "req/s".padStart(9) + "vs raw".padStart(8) +
    "rounds min-max".padStart(16) + "CPU us/req".padStart(12) + "connects".padStart(10);
  console.log(header);
  console.log("-".repeat(header.length));
  const floor = samples.get(`${ROWS[0][0]}@${concurrency}`);
  const rawRate = floor ? median(floor.map((s) => s.rate)) : NaN;
  let best = 0;
  for (const [name, key] of ROWS) {
    const cell = samples.get(`${name}@${concurrency}`);
    if (!cell) {
      console.log(name.padEnd(width) + "failed".padStart(9));
      continue;
    }
    const rates = cell.map((s) => s.rate);
    const rate = median(rates);
    if (key !== "raw" && key !== "ferry-stream" && key !== "memory") best = Math.max(best, rate);
    const connects = cell[0].connects === null
      ? "n/a"
      : String(Math.max(...cell.map((s) => s.connects)));
    console.log(
      name.padEnd(width) + Math.round(rate).toLocaleString("en-US").padStart(9) +
        `${(rate / rawRate).toFixed(2)}x`.padStart(8) +
        `${k(Math.min(...rates))}-${k(Math.max(...rates))}`.padStart(16) +
        median(cell.map((s) => s.cpuUs)).toFixed(1).padStart(12) + connects.padStart(10),
    );
  }
  const pool = samples.get(`Ferry ConnectionPool@${concurrency}`);
  const und = samples.get(`undici Pool.request@${concurrency}`);
  if (pool && und) {
    const ratio = median(pool.map((s) => s.rate)) / median(und.map((s) => s.rate));
    console.log(`Ferry ConnectionPool / undici Pool.request: ${ratio.toFixed(2)}x`);
  }
  if (floor && best > 0) {
    const cores = floor.map((s) => s.serverCores).filter((c) => c !== null);
    const headroom = rawRate / best;
    console.log(
      `raw loop / best client: ${headroom.toFixed(2)}x` +
        (cores.length
          ? `; server CPU during the raw loop ${median(cores).toFixed(2)} cores` +
            (server.workers ? ` of ${server.workers} workers` : "")
          : ""),
    );
    if (concurrency === 1) {
      console.log("(c=1 is bound by the round trip, not by the server or the client's CPU)");
    } else {
      const warning = headroomWarning(concurrency, headroom);
      if (warning !== null) warnings.push(warning);
    }
    if (cores.length && server.workers && median(cores) > 0.9 * server.workers) {
      warnings.push(`c=${concurrency}: the server used all its workers' CPU during the raw loop`);
    }
  }
}
console.log();
if (warnings.length === 0) {
  console.log(
    "server check: the raw loop is well above every client at every concurrency " +
      "(the server is not the bottleneck)",
  );
} else {
  for (const warning of warnings) console.log(`WARNING: ${warning}`);
}

// ---------------------------------------------------------------------------------------
// Paired phases: the goals' ratios measured with both rows in one process, alternating.

/** [A, B, label]: B / A, at each concurrency above 1, when `--only` keeps both rows. */
const PAIRS = [
  [ROWS[0][0], "Ferry ConnectionPool", "Ferry ConnectionPool / raw loop"],
  [ROWS[0][0], "Ferry Client.get", "Ferry Client.get / raw loop"],
  // What the Client costs over the pool it sends through (its merge, cookies, hooks).
  ["Ferry ConnectionPool", "Ferry Client.get", "Ferry Client.get / ConnectionPool"],
  ...(bun ? [["Bun fetch", "Ferry ConnectionPool", "Ferry ConnectionPool / Bun fetch"]] : []),
  ["undici Pool.request", "Ferry ConnectionPool", "Ferry ConnectionPool / undici"],
  // The ceiling of the line above: a client as fast as the raw loop, against undici.
  ["undici Pool.request", ROWS[0][0], "raw loop / undici (the ceiling)"],
  ["Ferry ConnectionPool (baseline)", "Ferry ConnectionPool", "Ferry ConnectionPool / baseline"],
  ["Ferry Client.get (baseline)", "Ferry Client.get", "Ferry Client.get / baseline"],
].filter(([a, b]) => ROWS.some(([name]) => name === a) && ROWS.some(([name]) => name === b));

/**
 * Ferry's rows each at two concurrencies, paired (`--c=10,100,1000`: c=100 / c=10 and
 * c=1000 / c=100): whether the rate holds as more requests come at once. Single rounds
 * cannot say it: each cell is measured at a different moment.
 */
const ACROSS_ROWS = ["Ferry ConnectionPool", "Ferry Client.get"].filter((name) =>
  ROWS.some(([row]) => row === name)
);

async function paired() {
  const make = (name) => ROWS.find(([row]) => row === name)[2];
  const concurrencies = CONCURRENCY.filter((c) => c > 1);
  const width = pairedWidth(concurrencies, PAIRS, ACROSS_ROWS);
  const line = async (label, a, b, ca, cb) => {
    let rowA = null;
    let rowB = null;
    try {
      rowA = await make(a)(url, ca);
      rowB = await make(b)(url, cb);
      const ones = (row, c) => Array.from({ length: c }, (_, i) => row.worker(i));
      const sample = await measurePaired(ones(rowA, ca), ones(rowB, cb), ca, {
        seconds: PAIRED_SECONDS,
      });
      console.log(pairedLine(label, width, sample));
      return median(sample.rateRatios);
    } catch (error) {
      console.log(`${label.padEnd(width)}failed: ${error?.message ?? error}`);
      return undefined;
    } finally {
      await rowA?.close();
      await rowB?.close();
    }
  };
  const across = ACROSS_ROWS.map((name) => [name, name]);
  const isOverRaw = (a) => a === ROWS[0][0];
  await pairedTables(concurrencies, PAIRS, across, width, line, isOverRaw);
  console.log(
    `Paired (raw loop: ${ROWS[0][0].replace(" (floor)", "")}): both rows set up at once and ` +
      "run from the same loops, switching every 250 ms\n(A B B A, 30 ms before each phase " +
      "uncounted); median and quartiles of B's req/s / A's over adjacent phases, " +
      `${PAIRED_SECONDS} s per line;\nCPU us/req: medians of A's and B's phases ` +
      "(process.cpuUsage()). Noise slower than a phase weighs on both sides of a pair alike.\n" +
      "Across concurrencies: the same row set up twice (its own pool each), at the lower " +
      "concurrency (A) and the higher (B).",
  );
}

try {
  if (
    PAIRED_SECONDS > 0 && (PAIRS.length > 0 || ACROSS_ROWS.length > 0) &&
    CONCURRENCY.some((c) => c > 1)
  ) await paired();
} finally {
  await server.stop();
}

// ---------------------------------------------------------------------------------------
// Parser: Ferry's ResponseParser against Node's HTTPParser (llhttp), same bytes.

if (http11 && !bun && (!ONLY || ONLY.has("parser"))) parserBench();

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
    const ferryRates = [], llhttpRates = [];
    for (let round = 0; round < Math.max(ROUNDS, 3); round++) {
      ferryRates.push(ferryParse());
      llhttpRates.push(llhttpParse());
    }
    const ferryRate = median(ferryRates);
    const llhttpRate = median(llhttpRates);
    console.log(
      `parser, 1 KiB response with 9 headers: Ferry ${
        Math.round(ferryRate).toLocaleString("en-US")
      }/s, Node HTTPParser (llhttp) ${Math.round(llhttpRate).toLocaleString("en-US")}/s, ` +
        `ratio ${(ferryRate / llhttpRate).toFixed(2)}`,
    );
  } catch (error) {
    console.log(`parser comparison failed: ${error?.message ?? error}`);
  }
}
