/** The Client over the real default pool, against node:http servers on loopback. */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "./_harness.ts";
import { gzipSync } from "node:zlib";
import { cannedServer } from "./_servers.ts";
import {
  Client,
  ConnectionPool,
  Proxy,
  ProxyError,
  ReadTimeout,
  RemoteProtocolError,
  timeout,
} from "../mod.ts";

async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  fn: (origin: string) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
}

test("an aborted signal ends a request waiting for its response", async () => {
  // The abort comes when the server holds the request, not after a delay that a loaded
  // machine may outrun (the request would then be aborted before it was even sent).
  const pending: ServerResponse[] = [];
  const controller = new AbortController();
  const reason = new Error("user gave up");
  await serve((_request, response) => {
    pending.push(response);
    controller.abort(reason);
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin });
    await assert.rejects(
      client.get("/slow", { signal: controller.signal }),
      (error) => error === reason,
    );
    for (const response of pending) response.destroy();
  });
});

test("an aborted signal ends the reading of a streamed body", async () => {
  await serve((_request, response) => {
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.write("first\n");
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin });
    const controller = new AbortController();
    await using response = await client.stream("GET", "/", { signal: controller.signal });
    const lines = response.iterLines();
    assert.equal((await lines.next()).value, "first");
    const reason = new Error("enough");
    controller.abort(reason);
    await assert.rejects(lines.next(), (error) => error === reason);
  });
});

test("the read timeout applies per request over the pool", async () => {
  await serve((_request, response) => {
    response.writeHead(200);
    response.write("a");
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin, timeout: { read: 100 } });
    await assert.rejects(client.get("/"), (error) => {
      assert.ok(error instanceof ReadTimeout);
      assert.equal(error.request?.url.href, `${origin}/`);
      return true;
    });
  });
});

test("ten concurrent requests share the pool; elapsed is measured", async () => {
  await serve((request, response) => response.end(request.url), async (origin) => {
    await using client = new Client({ baseUrl: origin, limits: { maxConnections: 4 } });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.get(`/n${i}`)),
    );
    assert.deepEqual(
      await Promise.all(responses.map((response) => response.text())),
      Array.from({ length: 10 }, (_, i) => `/n${i}`),
    );
    for (const response of responses) {
      assert.ok(response.elapsed > 0);
      assert.equal(response.httpVersion, "HTTP/1.1");
    }
  });
});

/** Paths of the plain-lane tests: small, large (many reads), gzip'd, a redirect, a cut body. */
function lanes(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? "/";
  if (path === "/small") response.end("x");
  else if (path === "/large") response.end("L".repeat(300_000));
  else if (path === "/gzip") {
    response.writeHead(200, { "Content-Encoding": "gzip" });
    response.end(gzipSync("unzipped"));
  } else if (path === "/redirect") {
    response.writeHead(302, { Location: "/small" });
    response.end("moved");
  } else if (path === "/cut") {
    response.writeHead(200, { "Content-Length": "100" });
    response.write("ten bytes!");
    setImmediate(() => response.socket?.destroy());
  } else {
    response.writeHead(404);
    response.end();
  }
}

test("a client's requests over its pool: bodies whole, decoded and followed; elapsed stops at the end; the connection is back on return", async () => {
  await serve(lanes, async (origin) => {
    const pool = new ConnectionPool();
    await using client = new Client({ baseUrl: origin, transport: pool });
    assert.equal(await (await client.get("/small")).text(), "x");
    const large = await client.get("/large");
    assert.equal(String(pool), "<ConnectionPool [1 idle]>");
    assert.equal(large.isRead, true);
    assert.equal(large.isClosed, true);
    assert.equal(large.content.length, 300_000);
    const elapsed = large.elapsed;
    assert.ok(elapsed > 0);
    // Reading is over: elapsed no longer grows (it used to be "until now" while unset).
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(large.elapsed, elapsed);
    const small = await client.get("/small");
    assert.equal(small.isRead, true);
    assert.equal(small.isClosed, true);
    const smallElapsed = small.elapsed;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(small.elapsed, smallElapsed);
    assert.equal(await (await client.get("/gzip")).text(), "unzipped");
    const followed = await client.get("/redirect", { followRedirects: true });
    assert.equal(followed.url?.pathname, "/small");
    assert.equal(followed.history.length, 1);
    assert.equal(followed.history[0].status, 302);
    assert.equal(await followed.text(), "x");
    const notFollowed = await client.get("/redirect");
    assert.equal(notFollowed.status, 302);
    assert.equal(await notFollowed.text(), "moved");
    assert.equal(notFollowed.nextRequest?.url.pathname, "/small");
    // stream: the body is left for the caller, and holds the connection until read.
    const streamed = await client.send(client.buildRequest("GET", "/large"), { stream: true });
    assert.equal(streamed.isStreamConsumed, false);
    assert.equal(String(pool), "<ConnectionPool [1 active]>");
    assert.equal((await streamed.bytes()).length, 300_000);
    assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  });
});

test("a client's request whose body is cut short fails naming the request, and the connection is dropped", async () => {
  await serve(lanes, async (origin) => {
    const pool = new ConnectionPool();
    await using client = new Client({ baseUrl: origin, transport: pool });
    assert.equal(await (await client.get("/small")).text(), "x");
    await assert.rejects(client.get("/cut"), (error) => {
      assert.ok(error instanceof RemoteProtocolError, String(error));
      assert.equal(error.request?.url.href, `${origin}/cut`);
      return true;
    });
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
    assert.equal(await (await client.get("/small")).text(), "x");
  });
});

test("a request that waited in the pool's line keeps its timeout() scope, not the one of the request that freed the connection", async () => {
  const held: ServerResponse[] = [];
  let arrived = () => {};
  const first = new Promise<void>((resolve) => arrived = resolve);
  const server = createServer((request, response) => {
    if (request.url === "/warm") return void response.end("ok");
    held.push(response); // answered only when the test says so
    arrived();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await using client = new Client({ limits: { maxConnections: 1 }, timeout: { read: 2000 } });
    await client.get(`${origin}/warm`);
    const a = client.get(`${origin}/a`); // holds the only connection
    await first;
    // Joins the line at once (the pool is full); its scope must follow it to its exchange.
    const b = timeout(300, () => client.get(`${origin}/b`));
    held[0].end("a");
    await a;
    await assert.rejects(b, (error: Error) => {
      assert.match(error.message, /timeout scope/, String(error));
      return true;
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

// The client's plain lane (a request with no auth, hooks, retries, progress or mounts,
// once the client's pool exists): what the full path does must still hold there. The
// pool hands over only a body that came whole with its head; anything else the client
// reads itself, after keeping the cookies, with its own decoding limit, outside the
// pool's retries.

/** A gzip body of 100,000 zero bytes sent in two pieces: the second after the first is read. */
function gzipInTwo(_request: IncomingMessage, response: ServerResponse): void {
  const body = gzipSync(new Uint8Array(100_000));
  response.writeHead(200, { "content-encoding": "gzip" });
  response.write(body.subarray(0, 10));
  setTimeout(() => response.end(body.subarray(10)), 30);
}

test("plain lane: the client's maxDecompressedSize limits a gzip body that comes in pieces", async () => {
  await serve(gzipInTwo, async (origin) => {
    await using client = new Client({ maxDecompressedSize: 1000 });
    // The first request makes the pool (full lane); the second takes the plain lane.
    for (const lane of ["first", "second"]) {
      await assert.rejects(
        client.get(origin),
        (error: Error) => {
          assert.match(error.constructor.name, /Decoding/, `${lane}: ${error}`);
          return true;
        },
        `${lane} request`,
      );
    }
  });
});

test("plain lane: a Set-Cookie on a response whose body then fails is kept (plain lane)", async () => {
  // httpx extracts cookies in _send_single_request, before send() reads the body.
  await serve((request, response) => {
    if (request.url === "/warm") return void response.end("ok");
    response.writeHead(200, { "set-cookie": "session=abc", "content-length": "10" });
    response.write("abc", () => response.destroy());
  }, async (origin) => {
    await using client = new Client();
    await client.get(`${origin}/warm`); // makes the pool: the next request takes the plain lane
    await assert.rejects(client.get(`${origin}/cookie`));
    assert.equal(client.cookies.get("session"), "abc");
  });
});

test("plain lane: send() reports a bad options argument as a rejection, not a synchronous throw", async () => {
  // With a transport already there (given, or made by an earlier request): the plain lane.
  await using client = new Client({ transport: new ConnectionPool() });
  const request = client.buildRequest("GET", "http://127.0.0.1:9/");
  let promise: Promise<unknown> | null = null;
  assert.doesNotThrow(() => {
    // deno-lint-ignore no-explicit-any
    promise = client.send(request, null as any);
  });
  await assert.rejects(promise!, TypeError);
});

test("plain lane: a forwarded 407 is a ProxyError even when its body then breaks (pool with a proxy)", async () => {
  await using proxy = await cannedServer((_head, _index, socket) => {
    // 407 whose body is cut short: nobody needs to read it.
    socket.write("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 100\r\n\r\nshort");
    socket.end();
    return null;
  });
  await using client = new Client({
    transport: new ConnectionPool({ proxy: new Proxy(proxy.url) }),
  });
  await assert.rejects(client.get("http://example.test/private"), (error: Error) => {
    assert.ok(error instanceof ProxyError, String(error));
    return true;
  });
});
