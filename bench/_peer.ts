/**
 * Loopback peers and the side-by-side harness that the benchmarks share.
 *
 * Peers:
 * - {@linkcode startPeer}: a Node process that echoes (`echo`) or writes 64 KiB chunks as fast
 *   as they are read (`blast`): the network and timeout benches.
 * - {@linkcode startHttpPeer}: nginx answering `GET /` with `return 200` and a 12-byte body
 *   (no file I/O: a static-file location made the raw loop half as fast and inflated every
 *   ratio), with enough worker processes, keep-alive for good; `/large.bin` for downloads.
 *   Without nginx, a `node:http` server in a child process (said so in the output).
 *
 * Harness ({@linkcode runSideBySide}): rows (a raw socket loop first) measured at each
 * concurrency in interleaved rounds; per row and concurrency the median req/s, the ratio to
 * the raw loop, the spread (min–max) of the rounds, CPU microseconds per request (this
 * process's user + system time / requests: the figure noise disturbs least) and the
 * connections the row opened. It also measures the server's CPU while the raw loop runs and
 * warns when the server, not the client, may be the limit. Nothing is asserted.
 *
 * ```ts ignore
 * import { countingBackend, parseArgs, runSideBySide, startHttpPeer } from "./_peer.ts";
 * ```
 */

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { findExecutable, freePort, startPeer as startProcess } from "../tests/_peers/common.ts";
import { scratchDir } from "../tests/_peers/common.ts";
import type {
  ConnectOptions,
  ConnectUnixOptions,
  NetworkBackendInterface,
  NetworkStreamInterface,
} from "../src/network/types.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import {
  headroomWarning,
  measurePaired as measurePairedLoops,
  pairedHeader,
  pairedLine,
  pairedTables,
  pairedWidth,
} from "./_node_bench.mjs";

// ---------------------------------------------------------------------------------------
// A raw TCP peer (network and timeout benches).

const PEER = `
const net = require("node:net");
const mode = process.argv[1];
const chunk = Buffer.alloc(64 * 1024, 97);
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  if (mode === "echo") { socket.on("data", (data) => socket.write(data)); return; }
  const pump = () => { while (socket.write(chunk)); };
  socket.on("drain", pump);
  pump();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

/** Starts the raw TCP peer; `stop()` ends it. */
export async function startPeer(
  mode: "echo" | "blast",
): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn("node", ["-e", PEER, mode], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once("data", (data) => resolve(Number(String(data).trim())))
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    port,
    async stop() {
      child.stdin!.end();
      child.stdout!.destroy();
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The HTTP peer.

/** The body of `GET /` on {@linkcode startHttpPeer}: 12 bytes. */
export const SMALL_BODY = "Hello Ferry\n";

/** A running HTTP peer. */
export interface HttpPeer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** What serves, for the output: `nginx 1.26.3, 2 workers, return 200`. */
  note: string;
  /** Process ids of the server (master and workers), for {@linkcode processCpuMs}. */
  pids(): number[];
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startHttpPeer}. */
export interface HttpPeerOptions {
  /** nginx worker processes. Default: the number of cores. */
  workers?: number;
  /** Size of `/large.bin` (zeros, served from a file); none when 0. Default 0. */
  largeBytes?: number;
  /** Use the `node:http` fallback even when nginx is installed. */
  node?: boolean;
}

const TEMP_PATHS = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"];
const NGINX = findExecutable("/usr/sbin/nginx", "/usr/bin/nginx");

/** Starts nginx (or the `node:http` fallback); see the module documentation. */
export async function startHttpPeer(options: HttpPeerOptions = {}): Promise<HttpPeer> {
  const largeBytes = options.largeBytes ?? 0;
  if (NGINX === null || options.node) return await startNodeHttp(largeBytes);
  const workers = options.workers ?? navigator.hardwareConcurrency ?? 2;
  const port = await freePort();
  const dir = scratchDir("ferry-bench-nginx-");
  if (largeBytes > 0) {
    const fs = await import("node:fs");
    const fd = fs.openSync(join(dir, "large.bin"), "w");
    fs.ftruncateSync(fd, largeBytes);
    fs.closeSync(fd);
    // The workers drop root for nobody: they must be able to read the file.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(join(dir, "large.bin"), 0o644);
  }
  const config = `
daemon off;
master_process on;
worker_processes ${workers};
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} error;
events { worker_connections 8192; }
http {
  access_log off;
  ${TEMP_PATHS.map((name) => `${name}_temp_path ${join(dir, name)};`).join("\n  ")}
  keepalive_timeout 75;
  keepalive_requests 100000000;
  sendfile on;
  tcp_nodelay on;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location = / { default_type text/plain; return 200 "${SMALL_BODY.trimEnd()}\\n"; }
    location = /large.bin { root ${dir}; }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), config);
  const args = ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")];
  const peer = await startProcess(NGINX, args, port, dir);
  const master = peer.process.pid!;
  return {
    origin: `http://127.0.0.1:${port}`,
    note: `nginx, ${workers} worker process${workers === 1 ? "" : "es"}, \`return 200\` ` +
      `with a ${SMALL_BODY.length}-byte body`,
    pids: () => [master, ...childPids(master)],
    stop: () => peer.stop(),
  };
}

async function startNodeHttp(largeBytes: number): Promise<HttpPeer> {
  const script = `
    const { createServer } = require("node:http");
    const small = ${JSON.stringify(SMALL_BODY)};
    const chunk = new Uint8Array(65536);
    const size = ${largeBytes};
    const server = createServer((req, res) => {
      if (req.url === "/large.bin") {
        res.writeHead(200, { "Content-Length": size });
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const n = Math.min(chunk.length, size - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once("drain", pump);
          }
          res.end();
        };
        return pump();
      }
      res.writeHead(200, { "Content-Length": small.length, "Content-Type": "text/plain" });
      res.end(small);
    });
    server.keepAliveTimeout = 75000;
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn("node", ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once("data", (data) => resolve(Number(String(data).trim())))
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    origin: `http://127.0.0.1:${port}`,
    note: "node:http in a child process, one thread (nginx is not installed: " +
      "apt-get install -y nginx-light); ratios are compressed",
    pids: () => [child.pid!],
    async stop() {
      child.stdin!.end();
      child.stdout!.destroy();
      await exited;
    },
  };
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU time (user + system, milliseconds) that the processes `pids` have used so far, from
 * `/proc` (Linux); `null` where it cannot be read.
 */
export function processCpuMs(pids: number[]): number | null {
  let ticks = 0;
  try {
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
  } catch {
    return null;
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

// ---------------------------------------------------------------------------------------
// Counting connects.

/** A network backend that counts the connections it opened (`connects`). */
export interface CountingBackend extends NetworkBackendInterface {
  /** Connections opened so far. */
  connects: number;
}

/** Wraps `inner` (default: the runtime's backend) to count its connects. */
export function countingBackend(
  inner: NetworkBackendInterface = new NetworkBackend(),
): CountingBackend {
  return {
    connects: 0,
    connect(host: string, port: number, options?: ConnectOptions) {
      this.connects++;
      return inner.connect(host, port, options);
    },
    connectUnix(path: string, options?: ConnectUnixOptions): Promise<NetworkStreamInterface> {
      this.connects++;
      return inner.connectUnix!(path, options);
    },
  };
}

// ---------------------------------------------------------------------------------------
// The harness.

/** `--name=value` and `--flag` arguments as a record. */
export function parseArgs(args: string[]): Record<string, string> {
  return Object.fromEntries(
    args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
  );
}

/** What a row's `setup` returns: one request at a time per worker, and a cleanup. */
export interface Runner {
  /** One request, read whole, by worker `worker` (0 … concurrency - 1). */
  once(worker: number): Promise<void>;
  /** Connections opened so far, or `null` when the row cannot tell. */
  connects(): number | null;
  close(): Promise<void>;
}

/** One row of a side-by-side table. */
export interface Row {
  name: string;
  /** Prepares for `concurrency` parallel loops against `origin`. */
  setup(origin: string, concurrency: number): Promise<Runner>;
  /**
   * A measuring rod rather than a client (`side_by_side.ts --floor`): left out of the
   * check that the raw loop stays well above the best client.
   */
  rod?: boolean;
}

/** How long each cell runs. */
export interface MeasureOptions {
  /** Seconds per cell (after the warm-up). */
  seconds: number;
  /** When set, a fixed number of requests per cell instead of `seconds`. */
  requests?: number;
  /** Warm-up in milliseconds. Default 300. */
  warmupMs?: number;
}

/** One measured cell. */
export interface Sample {
  rate: number;
  /** This process's CPU time per request, microseconds. */
  cpuUs: number;
  requests: number;
  /** Connections the row opened during the cell (warm-up included), or `null`. */
  connects: number | null;
  /** The server's CPU use during the cell, in cores (1 = one core busy), or `null`. */
  serverCores: number | null;
}

/**
 * Runs `runner.once` from `concurrency` loops: a warm-up, then `seconds` (or `requests`
 * requests), counting completed requests, wall time and this process's CPU time.
 */
export async function measure(
  runner: Runner,
  concurrency: number,
  options: MeasureOptions,
  serverPids: () => number[] = () => [],
): Promise<Sample> {
  let count = 0;
  let counting = false;
  let stopAt = performance.now() + (options.warmupMs ?? 300);
  const limit = options.requests ?? Infinity;
  let started = 0;
  const loop = async (worker: number): Promise<void> => {
    while (counting ? started < limit && performance.now() < stopAt : performance.now() < stopAt) {
      if (counting) started++;
      await runner.once(worker);
      if (counting) count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  counting = true;
  const pids = serverPids();
  const serverStart = processCpuMs(pids);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  stopAt = options.requests !== undefined ? Infinity : start + options.seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const cpu = process.cpuUsage(cpuStart);
  const elapsed = performance.now() - start;
  const serverEnd = processCpuMs(pids);
  return {
    rate: count / (elapsed / 1000),
    cpuUs: (cpu.user + cpu.system) / count,
    requests: count,
    connects: runner.connects(),
    serverCores: serverStart === null || serverEnd === null
      ? null
      : (serverEnd - serverStart) / elapsed,
  };
}

/**
 * What the tables' footnote says of how cells were run. The heap is not collected between
 * cells: on Deno a full collection before each cell made Ferry's rows 10-25% dearer per
 * request (the young generation starts small again and grows back during the cell), which
 * a long-running program never pays; alternating the order spreads the garbage one row
 * leaves to the next.
 */
export function fairnessNote(): string {
  return "every other round runs the rows in reverse order.";
}

/** Options of {@linkcode runSideBySide}. */
export interface SideBySideOptions extends MeasureOptions {
  /** Rows; the first is the raw socket loop the others are compared with. */
  rows: Row[];
  concurrency: number[];
  rounds: number;
  peer: HttpPeer;
  /** Server worker processes (the server may use this many cores). */
  serverWorkers?: number;
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Result cells by `row name@concurrency`. */
export type Results = Map<string, Sample[]>;

/**
 * Measures every row at every concurrency, rounds interleaved (round 1 of every cell, then
 * round 2 …), then prints one table per concurrency and the server check. Returns the
 * samples.
 */
export async function runSideBySide(options: SideBySideOptions): Promise<Results> {
  const results: Results = new Map();
  for (let round = 0; round < options.rounds; round++) {
    for (const concurrency of options.concurrency) {
      // Every other round runs the rows in reverse: no row always comes after the same one.
      const rows = round % 2 === 0 ? options.rows : [...options.rows].reverse();
      for (const row of rows) {
        const runner = await row.setup(options.peer.origin, concurrency);
        try {
          const sample = await measure(runner, concurrency, options, options.peer.pids);
          const key = `${row.name}@${concurrency}`;
          results.set(key, [...(results.get(key) ?? []), sample]);
        } catch (error) {
          console.log(`  ${row.name} at c=${concurrency} failed: ${(error as Error).message}`);
        } finally {
          await runner.close();
        }
      }
    }
    console.log(`  round ${round + 1}/${options.rounds} done`);
  }
  printTables(options, results);
  return results;
}

function pad(text: string, width: number, right = true): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function thousands(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : `${(value / 1000).toFixed(1)}k`;
}

/** Prints one table per concurrency, then whether the server may have been the limit. */
export function printTables(options: SideBySideOptions, results: Results): void {
  const raw = options.rows[0].name;
  const width = Math.max(...options.rows.map((row) => row.name.length)) + 2;
  const warnings: string[] = [];
  for (const concurrency of options.concurrency) {
    console.log();
    const header = pad(`c=${concurrency}`, width, false) + pad("req/s", 9) + pad("vs raw", 8) +
      pad("rounds min-max", 16) + pad("CPU us/req", 12) + pad("connects", 10);
    console.log(header);
    console.log("-".repeat(header.length));
    const rawSamples = results.get(`${raw}@${concurrency}`);
    const rawRate = rawSamples ? median(rawSamples.map((s) => s.rate)) : NaN;
    let best = 0;
    for (const row of options.rows) {
      const samples = results.get(`${row.name}@${concurrency}`);
      if (samples === undefined) {
        console.log(pad(row.name, width, false) + pad("failed", 9));
        continue;
      }
      const rates = samples.map((s) => s.rate);
      const rate = median(rates);
      if (row.name !== raw && !row.rod) best = Math.max(best, rate);
      const connects = samples.map((s) => s.connects);
      const connectText = connects[0] === null
        ? "n/a"
        : String(Math.max(...connects.map((n) => n ?? 0)));
      console.log(
        pad(row.name, width, false) +
          pad(Math.round(rate).toLocaleString("en-US"), 9) +
          pad(`${(rate / rawRate).toFixed(2)}x`, 8) +
          pad(`${thousands(Math.min(...rates))}-${thousands(Math.max(...rates))}`, 16) +
          pad(median(samples.map((s) => s.cpuUs)).toFixed(1), 12) +
          pad(connectText, 10),
      );
    }
    if (rawSamples !== undefined) {
      const cores = rawSamples.map((s) => s.serverCores).filter((c): c is number => c !== null);
      const serverText = cores.length > 0
        ? `; server CPU during the raw loop ${median(cores).toFixed(2)} cores` +
          (options.serverWorkers ? ` of ${options.serverWorkers} workers` : "")
        : "";
      // No client rows (`--only` matched none): nothing to compare the floor with.
      const headroom = best > 0 ? rawRate / best : Infinity;
      console.log(
        best > 0
          ? `raw loop / best client: ${headroom.toFixed(2)}x${serverText}`
          : `no client rows to compare the raw loop with${serverText}`,
      );
      if (concurrency === 1) {
        console.log("(c=1 is bound by the round trip, not by the server or the client's CPU)");
      } else {
        const warning = headroomWarning(concurrency, headroom);
        if (warning !== null) warnings.push(warning);
      }
      const saturated = cores.length > 0 && options.serverWorkers !== undefined &&
        median(cores) > 0.9 * options.serverWorkers;
      if (saturated) {
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
  console.log(
    "CPU us/req: this process's user + system time / requests (all its threads). " +
      "connects: connections the row opened in the cell (warm-up included); n/a: not countable.",
  );
  const rods = options.rows.filter((row) => row.rod).map((row) => row.name);
  if (rods.length > 0) {
    console.log(
      `Left out of the server check, as measuring rods, not clients: ${rods.join(", ")}.`,
    );
  }
  console.log(`Cells: ${fairnessNote()}`);
}

// ---------------------------------------------------------------------------------------
// Paired phases: two rows alternating in one process. The loop itself is the Node/Bun
// benchmarks' (`bench/_node_bench.mjs`, which must stay plain JavaScript); here it is given
// the rows' runners.

/** What {@linkcode measurePaired} found: one entry per pair of phases (an A and a B). */
export interface PairedSample {
  /** Requests per second of B / of A, per pair. */
  rateRatios: number[];
  /** CPU per request of B / of A, per pair. */
  cpuRatios: number[];
  /** CPU microseconds per request, per phase of A and of B. */
  cpuA: number[];
  cpuB: number[];
}

/** How {@linkcode measurePaired} runs. */
export interface PairedOptions {
  /** Seconds of phases in all (after the warm-up). */
  seconds: number;
  /** One phase, milliseconds. Default 250. */
  phaseMs?: number;
  /** Before each phase, uncounted, while the other row's requests in flight finish. Default 30. */
  settleMs?: number;
  /** B's concurrency, when it is not A's (one row at two concurrencies). */
  concurrencyB?: number;
}

/**
 * Runs `a` and `b` from the same `concurrency` loops, switching every phase in the order
 * A B B A, and compares each B phase with the A phase next to it (see `measurePaired` in
 * `bench/_node_bench.mjs`). Both rows stay set up (and connected) all along.
 */
export function measurePaired(
  a: Runner,
  b: Runner,
  concurrency: number,
  options: PairedOptions,
): Promise<PairedSample> {
  const ones = (runner: Runner, length: number) =>
    Array.from({ length }, (_, worker) => () => runner.once(worker));
  const concurrencyB = options.concurrencyB ?? concurrency;
  return measurePairedLoops(ones(a, concurrency), ones(b, concurrencyB), concurrency, options);
}

export { pairedHeader, pairedLine, pairedTables, pairedWidth };
