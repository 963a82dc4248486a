/**
 * The pool under concurrency, with random aborts, early closes and timeouts (seeded, so a
 * failure can be replayed with its seed): no connection counted twice, none leaked, none
 * reused mid-response. The pool's counts are checked against the sockets a real
 * `node:http` server sees open.
 */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { env, test } from "./_harness.ts";
import { ConnectionPool } from "../src/pool.ts";
import { TransportError } from "../src/errors.ts";
import { eventually, wait } from "./_servers.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkBackendInterface, NetworkStreamInterface } from "../src/network/types.ts";

/** A small seeded PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface StressServer {
  url: string;
  /** Sockets open now. */
  readonly open: number;
  /** Sockets open now that carried at least one request. */
  readonly openUsed: number;
  /** Requests that arrived on a socket whose previous response was not finished. */
  overlaps: number;
  close(): Promise<void>;
}

/**
 * `/fast?id=N`: the id back; `/slow?id=N&ms=M`: the id after M ms; `/big?id=N&kb=K`: K KiB
 * in chunks, then the id; `/close?id=N`: the id with `Connection: close`.
 */
async function startStressServer(): Promise<StressServer> {
  const sockets = new Set<Socket>();
  const used = new WeakSet<Socket>();
  const busy = new WeakSet<Socket>();
  const state = { overlaps: 0 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    used.add(socket);
    if (busy.has(socket)) state.overlaps++;
    busy.add(socket);
    response.on("finish", () => busy.delete(socket));
    response.on("close", () => {
      busy.delete(socket);
      // The client went away before the end: finish closing instead of waiting.
      if (!response.writableFinished) socket.destroy();
    });
    const url = new URL(request.url ?? "/", "http://x");
    const id = url.searchParams.get("id") ?? "";
    request.resume();
    switch (url.pathname) {
      case "/slow": {
        const timer = setTimeout(() => {
          if (!response.destroyed) response.end(`id=${id}`);
        }, Number(url.searchParams.get("ms") ?? 10));
        response.on("close", () => clearTimeout(timer));
        return;
      }
      case "/big": {
        const kb = Number(url.searchParams.get("kb") ?? 64);
        response.writeHead(200, { "Content-Type": "application/octet-stream" });
        let sent = 0;
        const pump = (): void => {
          while (sent < kb && !response.destroyed) {
            sent++;
            if (!response.write(Buffer.alloc(1024, 97))) return void response.once("drain", pump);
          }
          if (!response.destroyed) response.end(`id=${id}`);
        };
        return pump();
      }
      case "/close":
        response.setHeader("Connection", "close");
        response.end(`id=${id}`);
        return;
      default:
        response.end(`id=${id}`);
    }
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get open() {
      return sockets.size;
    },
    get openUsed() {
      return [...sockets].filter((socket) => used.has(socket)).length;
    },
    get overlaps() {
      return state.overlaps;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const SEED = Number(env("FERRY_STRESS_SEED") ?? 20261121);
const OPERATIONS = Number(env("FERRY_STRESS_OPS") ?? 600);

// Deno's resource sanitizer is off: Deno.connect leaks the socket of a connect aborted at
// the last moment (a runtime bug, see .coord/note-for-network-deno-connect-abort.md). The
// test counts the pool's own streams exactly instead.
test(`pool stays consistent under random aborts, early closes and timeouts (seed ${SEED})`, {
  sanitize: false,
}, async () => {
  const server = await startStressServer();
  const next = random(SEED);
  const maxConnections = 6;
  // The default backend, wrapped to count the streams the pool opened and closed.
  const inner = new NetworkBackend();
  const streams = new Set<NetworkStreamInterface>();
  const backend: NetworkBackendInterface = {
    async connect(host, port, options) {
      const stream = await inner.connect(host, port, options);
      streams.add(stream);
      const close = stream.close.bind(stream);
      stream.close = () => {
        streams.delete(stream);
        return close();
      };
      return stream;
    },
  };
  const pool = new ConnectionPool({ maxConnections, maxKeepaliveConnections: 4, backend });
  const outcomes = new Map<string, number>();
  const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  let maxSeen = 0;
  try {
    let id = 0;
    const operation = async (): Promise<void> => {
      const n = ++id;
      const roll = next();
      const controller = new AbortController();
      const abortAfter = next() * 15;
      const options = { extensions: { signal: controller.signal } };
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        if (roll < 0.35) {
          const response = await pool.request("GET", `${server.url}/fast?id=${n}`);
          assert.equal(await response.text(), `id=${n}`);
          count("fast");
        } else if (roll < 0.5) {
          timer = setTimeout(() => controller.abort(new Error("random abort")), abortAfter);
          const response = await pool.request("GET", `${server.url}/slow?id=${n}&ms=10`, options);
          assert.equal(await response.text(), `id=${n}`);
          count("slow");
        } else if (roll < 0.62) {
          const response = await pool.stream(
            "GET",
            `${server.url}/big?id=${n}&kb=${1 + Math.floor(next() * 200)}`,
          );
          // Read a little, then close early (drains or closes the connection).
          for await (const _chunk of response.iterBytes()) {
            if (next() < 0.5) break;
          }
          await response.close();
          count("early close");
        } else if (roll < 0.72) {
          timer = setTimeout(() => controller.abort(new Error("random abort")), abortAfter);
          const response = await pool.stream("GET", `${server.url}/big?id=${n}&kb=64`, options);
          const body = await response.bytes();
          const tail = new TextDecoder().decode(body.subarray(-12));
          assert.ok(
            tail.endsWith(`id=${n}`),
            `body of ${body.length} bytes ends ${JSON.stringify(tail)}`,
          );
          count("big");
        } else if (roll < 0.8) {
          const response = await pool.request("GET", `${server.url}/slow?id=${n}&ms=40`, {
            extensions: { timeout: { read: 5 + next() * 30 } },
          });
          assert.equal(await response.text(), `id=${n}`);
          count("slow, no timeout");
        } else if (roll < 0.88) {
          const response = await pool.request("GET", `${server.url}/close?id=${n}`);
          assert.equal(await response.text(), `id=${n}`);
          count("close");
        } else if (roll < 0.94) {
          const response = await pool.request("POST", `${server.url}/fast?id=${n}`, {
            content: "x".repeat(Math.floor(next() * 3000)),
            extensions: { timeout: { pool: 1 + next() * 20 } },
          });
          assert.equal(await response.text(), `id=${n}`);
          count("post");
        } else {
          timer = setTimeout(() => controller.abort(new Error("random abort")), abortAfter / 3);
          const response = await pool.request("GET", `${server.url}/fast?id=${n}`, options);
          assert.equal(await response.text(), `id=${n}`);
          count("fast, abort");
        }
      } catch (error) {
        // Aborts, timeouts and pool timeouts are expected; anything else is a bug.
        const expected = error instanceof TransportError ||
          (error instanceof Error && error.message === "random abort");
        if (!expected) throw error;
        count(error instanceof Error ? error.constructor.name : "unknown");
      } finally {
        clearTimeout(timer);
      }
      const connections = pool.connections;
      maxSeen = Math.max(maxSeen, connections.length);
      assert.ok(connections.length <= maxConnections, `${connections.length} connections`);
      assert.equal(new Set(connections).size, connections.length);
      for (const connection of connections) assert.notEqual(connection.state, "CLOSED");
    };
    const workers = Array.from({ length: 16 }, async () => {
      while (id < OPERATIONS) await operation();
    });
    await Promise.all(workers);

    // Settled: nothing active; every stream the pool opened is closed or is one of its
    // idle connections; the server sees exactly those open.
    assert.match(String(pool), /^<ConnectionPool \[\d+ idle\]>$|^<ConnectionPool \[0 active\]>$/);
    for (const connection of pool.connections) assert.equal(connection.state, "IDLE");
    assert.equal(streams.size, pool.connections.length, "streams left open");
    // Sockets that never carried a request are not counted: Deno.connect leaks the socket
    // of a connect aborted at the last moment (see .coord note); the check above covers
    // the pool's side of those.
    await eventually(
      () => server.openUsed === pool.connections.length,
      `server sockets (${server.openUsed}) = pool connections (${pool.connections.length})`,
    );
    assert.equal(server.overlaps, 0, "a connection was reused mid-response");
    assert.ok(maxSeen <= maxConnections);
    assert.ok((outcomes.get("fast") ?? 0) > 0, JSON.stringify([...outcomes]));

    // Every connection still works.
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => pool.request("GET", `${server.url}/fast?id=final${i}`)),
    );
    for (const [i, response] of responses.entries()) {
      assert.equal(await response.text(), `id=final${i}`);
    }
    await pool.close();
    assert.equal(streams.size, 0, "streams left open after close()");
    await eventually(() => server.openUsed === 0, "server sees every socket closed");
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
  } finally {
    await pool.close();
    await wait(1);
    await server.close();
  }
});
