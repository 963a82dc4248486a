/**
 * What timeouts cost on the read path. Prints ratios, asserts nothing.
 *
 * A ping-pong loop (write 16 bytes, read the echo) and a bulk read loop (a peer streams
 * bytes as fast as it can), each run:
 *   - plain:      no limit, no scope (withDeadline's fast path);
 *   - per-phase:  `read(…, 5000)` / `write(…, 5000)`: one shared deadline queue entry per call;
 *   - scope:      the same inside `timeout(60_000, …)` (AsyncLocalStorage active);
 *   - timer/call: a `setTimeout` + `clearTimeout` around every call, the naive design the
 *                 shared queue avoids.
 *
 * The peer is a separate `node` process, so it does not share this event loop.
 *
 * Run: `deno run -A bench/timeout_bench.ts` (or under Node 24: `node bench/timeout_bench.ts`).
 */

import { spawn } from "node:child_process";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";
import { timeout } from "../src/timeout.ts";

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

async function startPeer(mode: "echo" | "blast") {
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

type Variant = "plain" | "per-phase" | "scope" | "timer/call";
const VARIANTS: Variant[] = ["plain", "per-phase", "scope", "timer/call"];

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

const ROUNDS = 5;
const MS = 600;
const backend = new NetworkBackend();
const runtimeName = (globalThis as { Deno?: unknown }).Deno
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `Node ${(globalThis as unknown as { process: { version: string } }).process.version}`;
console.log(`timeout bench on ${runtimeName}, ${String(backend)}; medians of ${ROUNDS} rounds`);

{
  const peer = await startPeer("echo");
  const stream = await backend.connect("127.0.0.1", peer.port);
  await pingPong(stream, "plain", 300); // warm up
  const results: Record<Variant, number[]> = {
    plain: [],
    "per-phase": [],
    scope: [],
    "timer/call": [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of VARIANTS) {
      results[variant].push(await run(variant, () => pingPong(stream, variant, MS)));
    }
  }
  await stream.close();
  await peer.stop();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const base = median(results.plain);
  console.log("\nping-pong (write 16 B + read echo), round trips/s:");
  for (const variant of VARIANTS) {
    const value = median(results[variant]);
    console.log(
      `  ${variant.padEnd(11)} ${value.toFixed(0).padStart(8)}   ${(value / base).toFixed(3)}×`,
    );
  }
}

{
  const peer = await startPeer("blast");
  const stream = await backend.connect("127.0.0.1", peer.port);
  await bulk(stream, "plain", 300);
  const results: Record<Variant, { mbps: number; bytesPerRead: number }[]> = {
    plain: [],
    "per-phase": [],
    scope: [],
    "timer/call": [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of VARIANTS) {
      results[variant].push(await run(variant, () => bulk(stream, variant, MS)));
    }
  }
  await stream.close();
  await peer.stop();
  const median = (values: { mbps: number; bytesPerRead: number }[]) =>
    [...values].sort((a, b) => a.mbps - b.mbps)[values.length >> 1];
  const base = median(results.plain).mbps;
  console.log("\nbulk read loop (64 KiB reads), MB/s:");
  for (const variant of VARIANTS) {
    const value = median(results[variant]);
    console.log(
      `  ${variant.padEnd(11)} ${value.mbps.toFixed(0).padStart(8)}   ${
        (value.mbps / base).toFixed(3)
      }×   (${value.bytesPerRead.toFixed(0)} B/read)`,
    );
  }
}
