/**
 * The Deno read path: the stream's slab reads against the two obvious alternatives, on a
 * ping-pong loop of small messages and a bulk transfer. Prints ratios, asserts nothing.
 *
 *   - stream (slab):  `DenoNetworkStream.read()`: reads into a 64 KiB slab, returns views;
 *   - alloc per read: `conn.read(new Uint8Array(65536))`, returns the filled view;
 *   - copy per read:  `conn.read(reused)` then `slice(0, n)`.
 *
 * Run: `deno run -A bench/network_bench.ts`. The peer is a separate `node` process.
 */

import { startPeer } from "./_peer.ts";
import { DenoNetworkBackend } from "../src/network/deno.ts";

type Reader = () => Promise<Uint8Array>;
const NAMES = ["stream (slab)", "raw slab", "alloc per read", "copy per read"] as const;

interface Contenders {
  readers: Reader[];
  writers: ((bytes: Uint8Array) => Promise<unknown>)[];
  close(): Promise<void>;
}

async function contenders(port: number): Promise<Contenders> {
  const stream = await new DenoNetworkBackend().connect("127.0.0.1", port);
  const allocConn = await Deno.connect({ hostname: "127.0.0.1", port });
  const copyConn = await Deno.connect({ hostname: "127.0.0.1", port });
  const slabConn = await Deno.connect({ hostname: "127.0.0.1", port });
  slabConn.setNoDelay(true);
  let slab = new Uint8Array(65536);
  let offset = 0;
  allocConn.setNoDelay(true);
  copyConn.setNoDelay(true);
  const reused = new Uint8Array(65536);
  return {
    readers: [
      () => stream.read(),
      async () => {
        if (slab.length - offset < 16384) {
          slab = new Uint8Array(65536);
          offset = 0;
        }
        const n = (await slabConn.read(slab.subarray(offset))) ?? 0;
        const view = slab.subarray(offset, offset + n);
        offset += n;
        return view;
      },
      async () => {
        const buffer = new Uint8Array(65536);
        const n = await allocConn.read(buffer);
        return buffer.subarray(0, n ?? 0);
      },
      async () => {
        const n = await copyConn.read(reused);
        return reused.slice(0, n ?? 0);
      },
    ],
    writers: [
      (bytes) => stream.write(bytes),
      (bytes) => slabConn.write(bytes),
      (bytes) => allocConn.write(bytes),
      (bytes) => copyConn.write(bytes),
    ],
    async close() {
      await stream.close();
      allocConn.close();
      copyConn.close();
      slabConn.close();
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ROUNDS = 7;
const MS = 400;

console.log(
  `read path bench on Deno ${Deno.version.deno}; medians of ${ROUNDS} interleaved rounds`,
);

{
  const peer = await startPeer("echo");
  const set = await contenders(peer.port);
  const message = new Uint8Array(200).fill(98);
  const results: number[][] = NAMES.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < NAMES.length; i++) {
      const read = set.readers[i];
      let count = 0;
      const end = performance.now() + MS;
      while (performance.now() < end) {
        await set.writers[i](message);
        let got = 0;
        while (got < message.length) got += (await read()).length;
        count++;
      }
      if (round > 0) results[i].push(count / (MS / 1000));
    }
  }
  await set.close();
  await peer.stop();
  const base = median(results[0]);
  console.log("\nping-pong, 200-byte messages, round trips/s:");
  NAMES.forEach((name, i) => {
    const value = median(results[i]);
    console.log(
      `  ${name.padEnd(15)} ${value.toFixed(0).padStart(8)}   ${(value / base).toFixed(3)}×`,
    );
  });
}

{
  const peer = await startPeer("blast");
  const set = await contenders(peer.port);
  const results: number[][] = NAMES.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < NAMES.length; i++) {
      const read = set.readers[i];
      let bytes = 0;
      const end = performance.now() + MS;
      while (performance.now() < end) {
        for (let j = 0; j < 16; j++) bytes += (await read()).length;
      }
      if (round > 0) results[i].push(bytes / 1e6 / (MS / 1000));
    }
  }
  await set.close();
  await peer.stop();
  const base = median(results[0]);
  console.log("\nbulk transfer, MB/s:");
  NAMES.forEach((name, i) => {
    const value = median(results[i]);
    console.log(
      `  ${name.padEnd(15)} ${value.toFixed(0).padStart(8)}   ${(value / base).toFixed(3)}×`,
    );
  });
}
