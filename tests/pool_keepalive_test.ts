/**
 * `ConnectionPool` and `maxKeepaliveConnections`: a connection that the next request would
 * reuse is never closed for being surplus for an instant; surplus idle connections are
 * closed once they stay idle. Deterministic: an in-memory server that answers a whole batch
 * of requests at once (so that the responses complete in one turn of the event loop), and
 * connects counted at the backend.
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { ConnectionPool } from "../src/pool.ts";
import { MemoryNetworkBackend, type MemoryNetworkStream } from "../src/testing/mod.ts";
import { eventually } from "./_servers.ts";

const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nHello Ferry\n",
);

/**
 * A server that holds every request until `batch` of them have arrived (on any
 * connections), then answers them all in one go: their responses complete together.
 */
function batchingBackend(batch: number): MemoryNetworkBackend {
  let held: MemoryNetworkStream[] = [];
  return new MemoryNetworkBackend(async (stream) => {
    for (;;) {
      const bytes = await stream.read().catch(() => new Uint8Array(0));
      if (bytes.length === 0) break;
      held.push(stream);
      if (held.length === batch) {
        const answer = held;
        held = [];
        for (const peer of answer) peer.write(RESPONSE).catch(() => {});
      }
    }
    await stream.close();
  });
}

/** `workers` loops, each sending `rounds` GETs one after another. */
async function run(pool: ConnectionPool, workers: number, rounds: number): Promise<void> {
  await Promise.all(Array.from({ length: workers }, async () => {
    for (let i = 0; i < rounds; i++) {
      const response = await pool.request("GET", "http://ferry.test/");
      assert.equal(await response.text(), "Hello Ferry\n");
    }
  }));
}

test("a batch of responses in one turn keeps every connection the next requests reuse", async () => {
  // 50 connections, 20 kept idle: every round, 50 responses complete at once.
  const backend = batchingBackend(50);
  await using pool = new ConnectionPool({ backend, maxKeepaliveConnections: 20 });
  await run(pool, 50, 20);
  assert.equal(backend.connections.length, 50, "connects");
  assert.equal(String(pool), "<ConnectionPool [50 idle]>");
});

test("the default limits at 100 concurrent: one connect per worker", async () => {
  const backend = batchingBackend(100);
  await using pool = new ConnectionPool({ backend });
  await run(pool, 100, 10);
  assert.equal(backend.connections.length, 100, "connects");
});

test("requests waiting under maxConnections take the freed connections: no reconnects", async () => {
  // 40 workers share 10 connections; each batch of 10 responses frees them all at once.
  const backend = batchingBackend(10);
  await using pool = new ConnectionPool({
    backend,
    maxConnections: 10,
    maxKeepaliveConnections: 2,
  });
  await run(pool, 40, 10);
  assert.equal(backend.connections.length, 10, "connects");
});

test("surplus idle connections are closed once they stay idle, least recently used first", async () => {
  const backend = batchingBackend(1);
  await using pool = new ConnectionPool({ backend, maxKeepaliveConnections: 1 });
  const streamed = await Promise.all([1, 2, 3].map(() => pool.stream("GET", "http://ferry.test/")));
  // Released in the order 1, 2, 0: connection 0 is the most recently used.
  for (const index of [1, 2, 0]) await streamed[index].close();
  assert.equal(String(pool), "<ConnectionPool [3 idle]>");
  await eventually(() => String(pool) === "<ConnectionPool [1 idle]>", "surplus trimmed");
  assert.deepEqual(backend.connections.map((stream) => stream.closed), [false, true, true]);
  // The one kept is reused.
  await pool.request("GET", "http://ferry.test/");
  assert.equal(backend.connections.length, 3, "connects");
});

test("a surplus idle connection is reused by a request that arrives before the trim", async () => {
  const backend = batchingBackend(1);
  await using pool = new ConnectionPool({ backend, maxKeepaliveConnections: 1 });
  const streamed = await Promise.all([1, 2, 3].map(() => pool.stream("GET", "http://ferry.test/")));
  for (const response of streamed) await response.close();
  await Promise.all([1, 2, 3].map(() => pool.request("GET", "http://ferry.test/")));
  assert.equal(backend.connections.length, 3, "connects");
  // Closing the pool also stops the pending trim (Deno's sanitizer would see its timer).
});

test("a line that never empties is served in order, however long it runs", async () => {
  // One connection, eight workers: seven requests always wait. Past a thousand waits the
  // pool drops the served front of its line; nobody may be skipped or served twice.
  const backend = batchingBackend(1);
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  const served: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 300; i++) {
      const ticket = next++;
      await pool.request("GET", "http://ferry.test/");
      served.push(ticket);
    }
  }));
  assert.equal(served.length, 2400);
  assert.deepEqual(served, Array.from({ length: 2400 }, (_, i) => i), "first come, first served");
  assert.equal(backend.connections.length, 1, "connects");
});
