/**
 * HTTP/2 in the pool and the client: ALPN picks the protocol, one connection carries
 * concurrent requests up to the server's stream limit, GOAWAY retries, h2c by prior
 * knowledge, and the client's redirects, cookies and decoding over HTTP/2.
 */

import assert from "node:assert/strict";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import { answer, frame, h2Server, HEADERS_200, rawH2Server } from "./_h2_servers.ts";
import { CA_CERT, SERVER_CERT, SERVER_KEY } from "./_tls_fixtures.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Client } from "../src/client.ts";
import { ConnectError, PoolTimeout, UnsupportedProtocol } from "../src/errors.ts";

const tls = { caCerts: [CA_CERT] };

function nextTick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

test("pool with http2: ALPN picks h2 and one connection carries concurrent requests", async () => {
  await using server = await h2Server({ "/": answer("hello") }, { tls: true });
  await using pool = new ConnectionPool({ http2: true, tls });
  const responses = await Promise.all(
    Array.from({ length: 10 }, () => pool.request("GET", `${server.origin}/`)),
  );
  for (const response of responses) {
    assert.equal(response.httpVersion, "HTTP/2");
    assert.equal(await response.text(), "hello");
  }
  assert.equal(server.sessions.length, 1);
  assert.equal(pool.connections.length, 1);
  assert.equal(String(pool.connections[0]), `<Connection "${server.origin}/" HTTP/2 IDLE>`);
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  const again = await pool.request("GET", `${server.origin}/`);
  assert.equal(again.extensions.streamId, 21);
});

test("pool with http2: a server that picks http/1.1 by ALPN gets HTTP/1.1", async () => {
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ cert: SERVER_CERT, key: SERVER_KEY }, (_req, res) => {
    res.end("one point one");
  });
  server.on("connection", (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const origin = `https://localhost:${(server.address() as { port: number }).port}`;
  try {
    await using pool = new ConnectionPool({ http2: true, tls });
    const [a, b] = await Promise.all([
      pool.request("GET", `${origin}/`),
      pool.request("GET", `${origin}/`),
    ]);
    assert.equal(a.httpVersion, "HTTP/1.1");
    assert.equal(await a.text(), "one point one");
    assert.equal(await b.text(), "one point one");
    assert.match(String(pool.connections[0]), /^<Connection "https:\/\/localhost:\d+\/" IDLE>$/);
    await using strict = new ConnectionPool({ http1: false, http2: true, tls });
    // Either the handshake fails (the server insists on its ALPN list) or it completes
    // without h2: both say so.
    await assert.rejects(
      strict.request("GET", `${origin}/`),
      (error: Error) =>
        (error instanceof UnsupportedProtocol &&
          /did not agree to HTTP\/2 \(ALPN: (null|"http\/1.1")\)/.test(error.message)) ||
        (error instanceof ConnectError && /ALPN|application protocol/i.test(error.message)),
    );
    assert.equal(strict.connections.length, 0);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("pool: http1 false and http2 true on http:// means h2c by prior knowledge", async () => {
  await using server = await h2Server({ "/": answer("cleartext") });
  await using pool = new ConnectionPool({ http1: false, http2: true });
  const response = await pool.request("GET", `${server.origin}/`);
  assert.equal(response.httpVersion, "HTTP/2");
  assert.equal(await response.text(), "cleartext");
  assert.throws(() => new ConnectionPool({ http1: false }), /http1 and http2 are both false/);
});

test("pool with http2: beyond the server's stream limit a second connection opens, within maxConnections", async () => {
  let open = 0;
  let most = 0;
  const held: (() => void)[] = [];
  await using server = await h2Server({
    "/hold": (stream) => {
      open++;
      most = Math.max(most, open);
      held.push(() => {
        open--;
        stream.respond({ ":status": 200 });
        stream.end("ok");
      });
    },
    "/": answer(),
  }, { tls: true, settings: { maxConcurrentStreams: 2 } });
  await using pool = new ConnectionPool({ http2: true, tls, maxConnections: 2 });
  await pool.request("GET", `${server.origin}/`); // learn the server's SETTINGS
  const pending = Array.from({ length: 6 }, () => pool.request("GET", `${server.origin}/hold`));
  while (held.length < 4) await nextTick();
  assert.equal(server.sessions.length, 2);
  assert.equal(pool.connections.length, 2);
  assert.match(String(pool.connections[0]), /HTTP\/2 ACTIVE, 2 streams>$/);
  while (held.length > 0 || open > 0) {
    if (held.length > 0) held.shift()!();
    await nextTick();
  }
  for (const response of await Promise.all(pending)) assert.equal(await response.text(), "ok");
  assert.equal(most, 4);
  assert.equal(server.sessions.length, 2);
});

test("pool with http2: waiting for a stream slot ends with PoolTimeout", async () => {
  const held: (() => void)[] = [];
  await using server = await h2Server({
    "/hold": (stream) =>
      held.push(() => {
        stream.respond({ ":status": 200 });
        stream.end();
      }),
    "/": answer(),
  }, { tls: true, settings: { maxConcurrentStreams: 1 } });
  await using pool = new ConnectionPool({
    http2: true,
    tls,
    maxConnections: 1,
    timeout: { pool: 100 },
  });
  await pool.request("GET", `${server.origin}/`);
  const first = pool.request("GET", `${server.origin}/hold`);
  while (held.length < 1) await nextTick();
  await assert.rejects(pool.request("GET", `${server.origin}/hold`), PoolTimeout);
  held.shift()!();
  assert.equal((await first).status, 200);
});

test("pool with http2: streams above GOAWAY's last stream id are retried on a new connection", async () => {
  let sessions = 0;
  await using server = await h2Server({
    "/": (stream, _headers, session) => {
      if (sessions === 0 && stream.id === 3) {
        // The first connection processes stream 1 only.
        sessions++;
        session.goaway(0, 1);
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end(`stream ${stream.id}`);
    },
  }, { tls: true });
  await using pool = new ConnectionPool({ http2: true, tls });
  await pool.request("GET", `${server.origin}/`); // stream 1
  const retried = await pool.request("GET", `${server.origin}/`); // stream 3: GOAWAY
  assert.equal(await retried.text(), "stream 1");
  assert.equal(server.sessions.length, 2);
  const body = await pool.request("POST", `${server.origin}/`, { content: "replayable" });
  assert.equal(body.status, 200);
});

test("client with http2: redirects, cookies and decoding over HTTP/2", async () => {
  await using server = await h2Server({
    "/start": (stream) => {
      stream.respond({ ":status": 302, location: "/gzip", "set-cookie": "session=abc; Path=/" });
      stream.end();
    },
    "/gzip": (stream, headers) => {
      stream.respond({
        ":status": 200,
        "content-encoding": "gzip",
        "x-cookie": String(headers.cookie),
      });
      stream.end(gzipSync("decoded over h2"));
    },
  }, { tls: true });
  await using client = new Client({ http2: true, verify: CA_CERT, followRedirects: true });
  const response = await client.get(`${server.origin}/start`);
  assert.equal(response.httpVersion, "HTTP/2");
  assert.equal(response.history.length, 1);
  assert.equal(response.headers.get("x-cookie"), "session=abc");
  assert.equal(await response.text(), "decoded over h2");
  // The fetch adapter over the same HTTP/2 client.
  const fetched = await client.fetch(`${server.origin}/start`);
  assert.equal(fetched.redirected, true);
  assert.equal(await fetched.text(), "decoded over h2");
});

test("pool with http2: trace events in httpcore's naming", async () => {
  await using server = await h2Server({ "/": answer("traced") }, { tls: true });
  await using pool = new ConnectionPool({ http2: true, tls });
  const events: string[] = [];
  const response = await pool.request("GET", `${server.origin}/`, {
    extensions: { trace: (name) => void events.push(name) },
  });
  assert.equal(await response.text(), "traced");
  for (
    const name of [
      "connection.connect_tcp.started",
      "connection.start_tls.complete",
      "http2.send_request_headers.started",
      "http2.send_request_headers.complete",
      "http2.receive_response_headers.started",
      "http2.receive_response_headers.complete",
      "http2.receive_response_body.started",
      "http2.receive_response_body.complete",
      "http2.response_closed.complete",
    ]
  ) assert.ok(events.includes(name), `${name} missing from ${events.join(", ")}`);
});

test("pool with http2: a reused connection the server closed while idle is retried once on a new one", async () => {
  // The engine reads only when it has something to read for, so a connection the server
  // dropped while it sat idle is found dead by the next request: a GET goes again on a
  // new connection, as on HTTP/1.1; a POST (not idempotent) is not resent.
  await using server = await h2Server({ "/": answer("fresh") });
  await using pool = new ConnectionPool({ http1: false, http2: true });
  assert.equal(await (await pool.request("GET", `${server.origin}/`)).text(), "fresh");
  server.dropConnections();
  const again = await pool.request("GET", `${server.origin}/`);
  assert.equal(await again.text(), "fresh");
  assert.equal(server.sessions.length, 2);
  server.dropConnections();
  await assert.rejects(
    pool.request("POST", `${server.origin}/`, { content: "once" }),
    (error: Error) => error.name === "ReadError" || error.name === "WriteError",
  );
  assert.equal(server.sessions.length, 2);
});

test("pool with http2: a response whose body is cut by GOAWAY is not sent again (plain lane)", async () => {
  let headersSeen = 0;
  await using server = await rawH2Server((f, socket) => {
    if (f.type !== 1) return; // HEADERS
    headersSeen++;
    if (headersSeen === 1) {
      socket.write(frame(1, 0x5, f.streamId, HEADERS_200)); // warm-up: 200, empty body
      return;
    }
    socket.write(frame(1, 0x4, f.streamId, HEADERS_200)); // 200, END_HEADERS, body follows
    socket.write(frame(0, 0, f.streamId, new TextEncoder().encode("abc")));
    const goaway = new Uint8Array(8); // last stream id 0, NO_ERROR
    socket.write(frame(7, 0, 0, goaway));
  });
  await using client = new Client({ http1: false, http2: true });
  await client.get(`${server.origin}/warm`); // makes the pool: the next request takes the plain lane
  const outcome = await client.get(`${server.origin}/cut`).then(
    (response) => `status ${response.status}`,
    (error) => `${error.constructor.name}: ${error.message}`,
  );
  assert.equal(headersSeen, 2, `the request was sent ${headersSeen - 1} times (${outcome})`);
});

test("pool with http2: pool.request whose body is cut by GOAWAY after the head is not sent again", async () => {
  let headersSeen = 0;
  await using server = await rawH2Server((f, socket) => {
    if (f.type !== 1) return; // HEADERS
    headersSeen++;
    socket.write(frame(1, 0x4, f.streamId, HEADERS_200)); // 200, END_HEADERS, body follows
    socket.write(frame(0, 0, f.streamId, new TextEncoder().encode("abc")));
    socket.write(frame(7, 0, 0, new Uint8Array(8))); // GOAWAY, last stream 0, NO_ERROR
  });
  await using pool = new ConnectionPool({ http1: false, http2: true });
  await assert.rejects(pool.request("GET", `${server.origin}/cut`));
  assert.equal(headersSeen, 1, `the request was sent ${headersSeen} times`);
});
