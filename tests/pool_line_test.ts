/**
 * `ConnectionPool`'s waiting line, in memory: what a request that waits for a connection
 * gets (the pool limit, a `timeout()` scope, its signal), the order waiters are served in
 * across origins, and what is left behind once it is served. The waiter is one object
 * (its own deadline and signal listener); these pin what that object must do.
 */

import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { test } from "./_harness.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Request } from "../src/models/request.ts";
import {
  PoolTimeout,
  RemoteProtocolError,
  TimeoutException,
  UnsupportedProtocol,
} from "../src/errors.ts";
import { timeout } from "../src/timeout.ts";
import { MemoryNetworkBackend } from "../src/testing/mod.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A server that answers every request at once with `host path` as its body. */
function echoBackend(): MemoryNetworkBackend {
  return new MemoryNetworkBackend(async (stream) => {
    for (;;) {
      const bytes = await stream.read().catch(() => new Uint8Array(0));
      if (bytes.length === 0) break;
      const head = decoder.decode(bytes);
      const body = `${/\r\nHost: ([^\r]*)/i.exec(head)![1]} ${head.split(" ")[1]}`;
      await stream.write(encoder.encode(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )).catch(() => {});
    }
    await stream.close();
  });
}

/**
 * Runs `fn` with the event loop kept alive: the deadline timers are unref'd, and an
 * in-memory server holds nothing open.
 */
async function keptAlive<T>(fn: () => Promise<T>): Promise<T> {
  const keepAlive = setTimeout(() => {}, 10_000);
  try {
    return await fn();
  } finally {
    clearTimeout(keepAlive);
  }
}

test("a waiter's PoolTimeout names the pool limit and carries the request that waited", async () => {
  await using pool = new ConnectionPool({ backend: echoBackend(), maxConnections: 1 });
  const held = await pool.stream("GET", "http://a.test/held");
  const request = new Request("GET", "http://a.test/late", {
    extensions: { timeout: { pool: 20 } },
  });
  const error = await keptAlive(() => pool.send(request)).then(
    () => assert.fail("served"),
    (error) => error,
  );
  assert.ok(error instanceof PoolTimeout, String(error));
  assert.equal(error.request, request);
  assert.equal(error.message, "Pool timed out after 20 ms (GET http://a.test/late)");
  assert.equal(error.timeoutMs, 20);
  // The waiter that gave up is out of the line: the freed connection goes to the next one.
  await held.close();
  assert.equal(await (await pool.request("GET", "http://a.test/next")).text(), "a.test /next");
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
});

test("a wait under a timeout() scope ends with the scope's PoolTimeout", async () => {
  await using pool = new ConnectionPool({ backend: echoBackend(), maxConnections: 1 });
  const held = await pool.stream("GET", "http://a.test/held");
  const request = new Request("GET", "http://a.test/late");
  const error = await keptAlive(() => timeout(20, () => pool.send(request))).catch((e) => e);
  assert.ok(error instanceof PoolTimeout, String(error));
  assert.ok(error instanceof TimeoutException);
  assert.equal(error.request, request);
  assert.equal(
    error.message,
    "Pool timed out after 20 ms (timeout scope) (GET http://a.test/late)",
  );
  await held.close();
  assert.equal(await (await pool.request("GET", "http://a.test/next")).text(), "a.test /next");
});

test("waiters served after waiting leave no listener on a shared signal", async () => {
  // One signal for many requests (an application's shutdown signal): each waiter listens
  // to it while it waits and must stop listening once served, or the signal keeps them all.
  const controller = new AbortController();
  const signal = controller.signal;
  const listening = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type: string, listener: unknown, options?: unknown) => {
    listening.add(listener);
    add(type, listener as EventListener, options as AddEventListenerOptions);
  };
  signal.removeEventListener = (type: string, listener: unknown, options?: unknown) => {
    listening.delete(listener);
    remove(type, listener as EventListener, options as EventListenerOptions);
  };
  await using pool = new ConnectionPool({ backend: echoBackend(), maxConnections: 2 });
  const bodies = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const response = await pool.request("GET", `http://a.test/${i}`, {
        extensions: { signal },
      });
      return await response.text();
    }),
  );
  assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `a.test /${i}`));
  assert.equal(listening.size, 0, `${listening.size} listeners left on the signal`);
  controller.abort(new Error("shutdown"));
  assert.equal(String(pool), "<ConnectionPool [2 idle]>");
});

test("a freed connection goes to the first waiter of its origin, then to other origins", async () => {
  await using pool = new ConnectionPool({ backend: echoBackend(), maxConnections: 1 });
  const held = await pool.stream("GET", "http://a.test/held");
  const served: string[] = [];
  const send = (url: string) =>
    pool.request("GET", url).then(async (response) => served.push(await response.text()));
  // In line: b first, then two of a.
  const waiting = [send("http://b.test/1"), send("http://a.test/1"), send("http://a.test/2")];
  await held.close();
  await Promise.all(waiting);
  // a's connection serves a's waiters in their order; b gets room once a's line is empty.
  assert.deepEqual(served, ["a.test /1", "a.test /2", "b.test /1"]);
  assert.equal(pool.connections.length, 1);
  assert.equal(pool.connections[0].origin, "http://b.test");
});

test("a URL object changed between two requests is sent to its new origin", async () => {
  const backend = echoBackend();
  await using pool = new ConnectionPool({ backend });
  const url = new URL("http://a.test/x");
  assert.equal(await (await pool.request("GET", url)).text(), "a.test /x");
  url.host = "b.test";
  assert.equal(await (await pool.request("GET", url)).text(), "b.test /x");
  // b's request did not reuse a's connection: the pool key follows the URL.
  assert.equal(backend.connections.length, 2);
  assert.deepEqual(pool.connections.map((connection) => connection.origin).sort(), [
    "http://a.test",
    "http://b.test",
  ]);
  url.protocol = "ftp:";
  await assert.rejects(pool.request("GET", url), UnsupportedProtocol);
});

/** Every connection answers its first request (with its index) and drops on a second one. */
function oneShotBackend(): MemoryNetworkBackend {
  const backend = new MemoryNetworkBackend(async (stream) => {
    const index = backend.connections.length - 1;
    for (let served = 0;; served++) {
      const bytes = await stream.read().catch(() => new Uint8Array(0));
      if (bytes.length === 0 || served === 1) break;
      await stream.write(encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${index}`));
    }
    await stream.close();
  });
  return backend;
}

test("a waiter handed a stale connection is sent again on a fresh one", async () => {
  const backend = oneShotBackend();
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  const held = await pool.stream("GET", "http://a.test/held");
  const waiting = pool.request("GET", "http://a.test/d");
  await held.close(); // the used connection goes to the waiter: stale
  assert.equal(await (await waiting).text(), "1");
  assert.equal(backend.connections.length, 2);
});

test("a waiter handed a stale connection is sent again once, not twice", async () => {
  const backend = oneShotBackend();
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  const held = await pool.stream("GET", "http://a.test/held");
  // d and e wait. d is handed the used connection (stale); its resend waits behind e, which
  // got a new one, and is handed that one once e is done: stale again. A third send of d
  // would open a third connection.
  const d = pool.request("GET", "http://a.test/d");
  const e = pool.request("GET", "http://a.test/e");
  await held.close();
  await assert.rejects(d, RemoteProtocolError);
  assert.equal(await (await e).text(), "1");
  assert.equal(backend.connections.length, 2);
});

test("a request that waited runs its exchange in its caller's async context", async () => {
  // Code that runs inside the exchange (a trace callback, a streamed body) sees the
  // AsyncLocalStorage stores of the request it works for, not those of the request that
  // happened to free the connection.
  const storage = new AsyncLocalStorage<string>();
  // Answers each request once its head, and its chunked body if any, are in.
  const backend = new MemoryNetworkBackend(async (stream) => {
    let text = "";
    for (;;) {
      const bytes = await stream.read().catch(() => new Uint8Array(0));
      if (bytes.length === 0) break;
      text += decoder.decode(bytes);
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) continue;
      const chunked = /transfer-encoding: chunked/i.test(text.slice(0, end));
      const last = chunked ? text.indexOf("0\r\n\r\n", end) : end;
      if (last === -1) continue;
      text = text.slice(last + (chunked ? 5 : 4));
      await stream.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    }
    await stream.close();
  });
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  const traced: (string | undefined)[] = [];
  const trace = (name: string) => {
    if (name === "http11.send_request_headers.started") traced.push(storage.getStore());
  };
  await Promise.all(
    ["a", "b", "c"].map((id) =>
      storage.run(id, () => pool.request("GET", `http://a.test/${id}`, { extensions: { trace } }))
    ),
  );
  assert.deepEqual(traced, ["a", "b", "c"]);
  const streamed: (string | undefined)[] = [];
  async function* body() {
    streamed.push(storage.getStore());
    yield encoder.encode("x");
  }
  await Promise.all(
    ["d", "e", "f"].map((id) =>
      storage.run(id, () => pool.request("POST", `http://a.test/${id}`, { content: body() }))
    ),
  );
  assert.deepEqual(streamed, ["d", "e", "f"]);
});
