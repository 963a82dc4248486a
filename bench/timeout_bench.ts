/**
 * What timeouts cost on the read path. Prints ratios, asserts nothing.
 *
 * A ping-pong loop (write 16 bytes, read the echo) and a bulk read loop (a peer streams
 * bytes as fast as it can), each run:
 *   - plain:      no limit, no scope (withDeadline's fast path);
 *   - per-phase:  `read(…, 5000)` / `write(…, 5000)`: one shared deadline queue entry per call;
 *   - scope:      the same inside `timeout(60_000, …)` (AsyncLocalStorage active);
 *   - timer/call: a `setTimeout` + `clearTimeout` around every call, the naive design the
 *                 shared queue avoids;
 *   - plain in a scope: no limits, inside `timeout()`: what AsyncLocalStorage alone costs.
 *
 * The peer is a separate `node` process, so it does not share this event loop. All rows
 * run interleaved in each round; medians of the rounds are printed.
 *
 * Run: `deno run -A bench/timeout_bench.ts`; under Node 24 `node bench/timeout_bench.ts`;
 * under Node 20 bundle it first: `deno bundle --platform deno -o /tmp/tb.mjs
 * bench/timeout_bench.ts && node /tmp/tb.mjs`.
 */

import { startPeer } from "./_peer.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";
import { timeout } from "../src/timeout.ts";

type Variant = "plain" | "per-phase" | "scope" | "timer/call";

function limitFor(variant: Variant): number | undefined {
  return variant === "per-phase" || variant === "scope" ? 5000 : undefined;
}

/** Wraps an operation in its own timer, as a design without the shared queue would. */
async function withOwnTimer<T>(run: () => Promise<T>): Promise<T> {
  const timer = setTimeout(() => {}, 5000);
  try {
    return await run();
  } finally {
    clearTimeout(timer);
  }
}

async function pingPong(stream: NetworkStreamInterface, variant: Variant, ms: number) {
  const message = new Uint8Array(16).fill(98);
  const limit = limitFor(variant);
  const own = variant === "timer/call";
  let count = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) {
      if (own) await withOwnTimer(() => stream.write(message));
      else await stream.write(message, limit);
      let got = 0;
      while (got < 16) {
        const part = own
          ? await withOwnTimer(() => stream.read())
          : await stream.read(65536, limit);
        got += part.length;
      }
      count++;
    }
  }
  return count / (ms / 1000);
}

async function bulk(stream: NetworkStreamInterface, variant: Variant, ms: number) {
  const limit = limitFor(variant);
  const own = variant === "timer/call";
  let bytes = 0;
  let reads = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) {
      const part = own ? await withOwnTimer(() => stream.read()) : await stream.read(65536, limit);
      bytes += part.length;
      reads++;
    }
  }
  return { mbps: bytes / 1e6 / (ms / 1000), bytesPerRead: bytes / reads };
}

async function run<T>(variant: Variant, fn: () => Promise<T>): Promise<T> {
  return variant === "scope" ? await timeout(60_000, fn) : await fn();
}

const ROUNDS = 11;
const MS = 300;
const backend = new NetworkBackend();
const runtimeName = (globalThis as { Deno?: unknown }).Deno
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `Node ${(globalThis as unknown as { process: { version: string } }).process.version}`;
console.log(`timeout bench on ${runtimeName}, ${String(backend)}; medians of ${ROUNDS} rounds`);
console.log(
  "('scope': per-phase limits inside timeout(); 'plain in a scope': no limits inside\n" +
    " timeout(), the bare cost of AsyncLocalStorage, which on Node < 24 slows every await)",
);

type Row = { name: string; run: () => Promise<number> };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const results = new Map<string, number[]>();

/** Runs the rows interleaved, ROUNDS times, keeping every value. */
async function measure(prefix: string, rows: Row[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      const value = await row.run();
      const key = `${prefix}:${row.name}`;
      results.set(key, [...(results.get(key) ?? []), value]);
    }
  }
}

/** Prints medians and ratios to the first row. */
function table(title: string, unit: string, prefix: string, rows: Row[]): void {
  const base = median(results.get(`${prefix}:${rows[0].name}`)!);
  console.log(`\n${title}, ${unit}:`);
  for (const row of rows) {
    const value = median(results.get(`${prefix}:${row.name}`)!);
    console.log(
      `  ${row.name.padEnd(16)} ${value.toFixed(0).padStart(8)}   ${(value / base).toFixed(3)}×`,
    );
  }
}

const echoPeer = await startPeer("echo");
const echoStream = await backend.connect("127.0.0.1", echoPeer.port);
const blastPeer = await startPeer("blast");
const blastStream = await backend.connect("127.0.0.1", blastPeer.port);
await pingPong(echoStream, "plain", 300); // warm up
await bulk(blastStream, "plain", 300);

const pingRow = (name: string, variant: Variant): Row => ({
  name,
  run: () => run(variant, () => pingPong(echoStream, variant, MS)),
});
let lastBytesPerRead = 0;
const bulkRow = (name: string, variant: Variant): Row => ({
  name,
  run: async () => {
    const result = await run(variant, () => bulk(blastStream, variant, MS));
    lastBytesPerRead = result.bytesPerRead;
    return result.mbps;
  },
});

// All rows interleaved in every round, so that changes in the machine's load hit them alike.
const pingRows = [
  pingRow("plain", "plain"),
  pingRow("per-phase", "per-phase"),
  pingRow("timer/call", "timer/call"),
  pingRow("scope", "scope"),
  {
    name: "plain in a scope",
    run: () => timeout(3_600_000, () => pingPong(echoStream, "plain", MS)),
  },
];
const bulkRows = [
  bulkRow("plain", "plain"),
  bulkRow("per-phase", "per-phase"),
  bulkRow("timer/call", "timer/call"),
  bulkRow("scope", "scope"),
  {
    name: "plain in a scope",
    run: async () => (await timeout(3_600_000, () => bulk(blastStream, "plain", MS))).mbps,
  },
];
await measure("ping", pingRows);
await measure("bulk", bulkRows);
table("ping-pong (write 16 B + read echo)", "round trips/s", "ping", pingRows);
table("bulk read loop (64 KiB reads)", "MB/s", "bulk", bulkRows);
console.log(`  (${lastBytesPerRead.toFixed(0)} B per read)`);

await echoStream.close();
await blastStream.close();
await echoPeer.stop();
await blastPeer.stop();
