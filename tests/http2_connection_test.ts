/**
 * `Http2Connection` against `node:http2` servers: streams, multiplexing, bodies both ways,
 * trailers, per-stream deadlines, resets, GOAWAY, protocol violations, slot limits, TLS
 * with ALPN.
 */

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { test } from "./_harness.ts";
import { answer, frame as h2frame, h2Server, HEADERS_200, rawH2Server } from "./_h2_servers.ts";
import { CA_CERT } from "./_tls_fixtures.ts";
import {
  Http2Connection,
  type Http2ConnectionEngineOptions,
  setDefaultHttp2Engine,
} from "../src/http2/connection.ts";
import { ferryHttp2Engine } from "../src/http2/ferry_engine.ts";
import { nodeHttp2Engine } from "../src/http2/node_engine.ts";
import type { Http2Engine } from "../src/http2/engine.ts";
import { isRetryableError } from "../src/connection/mod.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import {
  LocalProtocolError,
  PoolTimeout,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  StreamReset,
  TimeoutException,
  WriteTimeout,
} from "../src/errors.ts";
import { timeout } from "../src/timeout.ts";

const backend = new NetworkBackend();

async function h2c(origin: string, options = {}): Promise<Http2Connection> {
  const url = new URL(origin);
  const stream = await backend.connect(url.hostname, Number(url.port));
  return new Http2Connection(stream, origin, options);
}

test("HTTP/2 connection sends a request and reads the response (h2c)", async () => {
  await using server = await h2Server({ "/hello": answer("hi there") });
  await using connection = await h2c(server.origin);
  assert.equal(String(connection), `<Connection "${server.origin}/" HTTP/2 NEW>`);
  const response = await connection.request("GET", "/hello?x=1");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "hi there");
  assert.equal(response.httpVersion, "HTTP/2");
  assert.equal(response.extensions.streamId, 1);
  assert.equal(response.headers.get("content-type"), "text/plain");
  assert.equal(String(connection), `<Connection "${server.origin}/" HTTP/2 IDLE>`);
  const second = await connection.request("GET", "/nope");
  assert.equal(second.status, 404);
  assert.equal(second.extensions.streamId, 3);
  assert.equal(server.sessions.length, 1);
});

test("HTTP/2 connection carries concurrent requests on one connection, one stream each", async () => {
  const held: (() => void)[] = [];
  await using server = await h2Server({
    "/slow": (stream, headers) => {
      held.push(() => {
        stream.respond({ ":status": 200 });
        stream.end(String(headers["x-n"]));
      });
    },
  });
  await using connection = await h2c(server.origin);
  const pending = [1, 2, 3].map((n) =>
    connection.request("GET", "/slow", { headers: { "x-n": String(n) } })
  );
  while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(String(connection), `<Connection "${server.origin}/" HTTP/2 ACTIVE, 3 streams>`);
  assert.equal(connection.streamCount, 3);
  for (const release of held.reverse()) release();
  const responses = await Promise.all(pending);
  assert.deepEqual(await Promise.all(responses.map((r) => r.text())), ["1", "2", "3"]);
  assert.deepEqual(responses.map((r) => r.extensions.streamId).sort(), [1, 3, 5]);
  assert.equal(server.sessions.length, 1);
  assert.equal(connection.state, "IDLE");
});

test("HTTP/2 connection sends bodies as bytes, text and streams, and keeps header order", async () => {
  await using server = await h2Server({
    "/echo": (stream, headers) => {
      const chunks: Uint8Array[] = [];
      stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "x-method": String(headers[":method"]) });
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) {
          body.set(chunk, at);
          at += chunk.length;
        }
        stream.end(body);
      });
    },
    "/headers": (stream, headers) => {
      stream.respond({ ":status": 200 });
      stream.end(JSON.stringify(headers));
    },
  });
  await using connection = await h2c(server.origin);
  const text = await connection.request("POST", "/echo", { content: "hello" });
  assert.equal(await text.text(), "hello");
  assert.equal(text.headers.get("x-method"), "POST");
  async function* parts(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 5; i++) yield new TextEncoder().encode(`part${i};`);
  }
  const streamed = await connection.request("PUT", "/echo", { content: parts() });
  assert.equal(await streamed.text(), "part0;part1;part2;part3;part4;");
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  const upload = await connection.request("POST", "/echo", { content: big });
  assert.deepEqual(await upload.bytes(), big);
  const headers = await connection.request("GET", "/headers", {
    headers: { Host: "example.test", Connection: "keep-alive", "X-A": "1", "TE": "gzip" },
  });
  const seen = JSON.parse(await headers.text());
  assert.equal(seen[":authority"], "example.test");
  assert.equal(seen["x-a"], "1");
  assert.equal(seen["connection"], undefined);
  assert.equal(seen["te"], undefined);
});

test("HTTP/2 connection exposes trailers", async () => {
  await using server = await h2Server({
    "/trailers": (stream) => {
      stream.respond({ ":status": 200 }, { waitForTrailers: true });
      stream.once("wantTrailers", () => {
        try {
          stream.sendTrailers({ "x-checksum": "abc" });
        } catch {
          // Node 20 may report them sent twice; the client's assertion decides.
        }
      });
      stream.end("body");
    },
  });
  await using connection = await h2c(server.origin);
  const response = await connection.request("GET", "/trailers");
  assert.equal(await response.text(), "body");
  const trailers = response.extensions.trailers as { get(name: string): string | null };
  assert.equal(trailers.get("x-checksum"), "abc");
});

test("HTTP/2 connection: RST_STREAM fails that request with StreamReset naming the code", async () => {
  // Stream 1 is reset with INTERNAL_ERROR; stream 3 is answered 200 with an empty body.
  await using server = await rawH2Server((frame, socket) => {
    if (frame.type !== 1) return; // HEADERS
    if (frame.streamId === 1) socket.write(h2frame(3, 0, 1, new Uint8Array([0, 0, 0, 2])));
    else socket.write(h2frame(1, 0x5, frame.streamId, HEADERS_200)); // END_STREAM|END_HEADERS
  });
  await using connection = await h2c(server.origin);
  const [reset, ok] = await Promise.allSettled([
    connection.request("GET", "/reset"),
    connection.request("GET", "/ok"),
  ]);
  assert.equal(reset.status, "rejected");
  const error = (reset as PromiseRejectedResult).reason;
  assert.ok(error instanceof StreamReset, String(error));
  assert.ok(error instanceof RemoteProtocolError);
  assert.equal(error.errorCode, 2);
  assert.equal(error.streamId, 1);
  assert.match(error.message, /^Stream 1 to ".*" was reset by the server: INTERNAL_ERROR \(0x2\)/);
  assert.ok(error.request !== null);
  assert.equal(ok.status, "fulfilled");
  assert.equal((ok as PromiseFulfilledResult<{ status: number }>).value.status, 200);
  assert.equal(connection.state, "IDLE");
});

test("HTTP/2 connection: a timeout() scope reaches each stream; the timed-out one is reset with CANCEL, others go on", async () => {
  let release: () => void = () => {};
  await using server = await h2Server({
    "/never": () => {},
    "/later": (stream) => {
      release = () => {
        stream.respond({ ":status": 200 });
        stream.end("later");
      };
    },
  });
  await using connection = await h2c(server.origin);
  const later = connection.request("GET", "/later");
  const error = await timeout(150, () => connection.request("GET", "/never")).then(
    () => null,
    (error) => error,
  );
  assert.ok(error instanceof TimeoutException, String(error));
  assert.equal(await server.streamClosed("/never"), 8); // CANCEL
  release();
  assert.equal(await (await later).text(), "later");
  assert.equal(connection.state, "IDLE");
  assert.equal(server.sessions.length, 1);
});

test("HTTP/2 connection: the read limit applies to the head and to each body chunk", async () => {
  await using server = await h2Server({
    "/never": () => {},
    "/stalls": (stream) => {
      stream.respond({ ":status": 200 });
      stream.write("first");
    },
  });
  await using connection = await h2c(server.origin, { timeout: { read: 100 } });
  await assert.rejects(connection.request("GET", "/never"), ReadTimeout);
  assert.equal(await server.streamClosed("/never"), 8);
  await using response = await connection.stream("GET", "/stalls");
  const chunks = response.iterBytes();
  assert.equal(new TextDecoder().decode((await chunks.next()).value!), "first");
  await assert.rejects(chunks.next(), ReadTimeout);
  assert.equal(await server.streamClosed("/stalls"), 8);
  assert.equal(connection.state, "IDLE");
});

test("HTTP/2 connection: the write limit applies while the server's window is closed", async () => {
  await using server = await h2Server({
    "/sink": () => {}, // never reads: the 64 KiB window fills up
  });
  await using connection = await h2c(server.origin, { timeout: { write: 150 } });
  const body = new Uint8Array(1024 * 1024);
  await assert.rejects(connection.request("POST", "/sink", { content: body }), WriteTimeout);
  assert.equal(await server.streamClosed("/sink"), 8);
  // Waiting for the server's window is that stream's business: the connection stays.
  assert.equal(connection.state, "IDLE");
});

test("HTTP/2 connection: a write limit passing while the network write is stuck closes the connection", async () => {
  // The server opens every window wide, then stops reading the socket: the body is framed
  // at once and its network write never completes. Every later stream's frames would queue
  // behind that write, so the connection closes instead of timing out each request after.
  let opened = false;
  await using server = await rawH2Server((frame, socket) => {
    if (frame.type === 4 && !opened) {
      opened = true;
      socket.write(h2frame(4, 0, 0, new Uint8Array([0, 4, 0x7f, 0xff, 0xff, 0xff])));
      socket.write(h2frame(8, 0, 0, new Uint8Array([0x7f, 0xff, 0, 0])));
    }
    if (frame.type === 1) socket.pause();
  });
  await using connection = await h2c(server.origin, { timeout: { write: 200 } });
  const body = new Uint8Array(64 * 1024 * 1024); // more than loopback's socket buffers
  await assert.rejects(connection.request("POST", "/up", { content: body }), WriteTimeout);
  assert.equal(connection.state, "CLOSED");
  const next = await connection.request("GET", "/next").then(() => null, (error) => error);
  assert.ok(isRetryableError(next), String(next));
});

test("HTTP/2 connection: a whole response sent before the body was read stands (RST_STREAM NO_ERROR stops the upload)", async () => {
  // RFC 9113 section 8.1: a server may answer before the request body is all sent, then ask
  // the client to stop sending with RST_STREAM NO_ERROR; the client must not discard the
  // response. node:http2 does just that when a handler answers without reading.
  await using server = await h2Server({
    "/up": (stream) => stream.respond({ ":status": 413 }, { endStream: true }),
    "/ok": answer("ok"),
  });
  await using connection = await h2c(server.origin);
  const body = new Uint8Array(1024 * 1024); // far over the server's 64 KiB window
  const response = await connection.request("POST", "/up", { content: body });
  assert.equal(response.status, 413);
  assert.equal(await server.streamClosed("/up"), 0);
  // A streamed body stops being pulled, too.
  let pulled = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 64; i++) {
      pulled++;
      yield new Uint8Array(64 * 1024);
    }
  }
  const streamed = await connection.request("POST", "/up", { content: chunks() });
  assert.equal(streamed.status, 413);
  assert.ok(pulled < 64, `pulled ${pulled} chunks`);
  assert.equal(await (await connection.request("GET", "/ok")).text(), "ok");
  assert.equal(server.sessions.length, 1);
});

test("HTTP/2 connection: a body write that times out after the response ended still resets the stream", async () => {
  // The server answers at once (END_STREAM), never opens its window and never resets: the
  // upload waits, the write limit passes, and the stream must be reset (RST_STREAM CANCEL),
  // not left half open on both sides with its body still queued.
  await using server = await rawH2Server((frame, socket) => {
    // HEADERS, END_STREAM | END_HEADERS
    if (frame.type === 1) socket.write(h2frame(1, 5, frame.streamId, HEADERS_200));
  });
  await using connection = await h2c(server.origin, { timeout: { write: 100 } });
  const body = new Uint8Array(1024 * 1024);
  await assert.rejects(connection.request("POST", "/up", { content: body }), WriteTimeout);
  assert.equal((await connection.request("GET", "/next")).status, 200);
  // Frames reach the server in order: the reset went before the next request's HEADERS.
  const resets = server.frames.filter((frame) => frame.type === 3 && frame.streamId === 1);
  assert.equal(resets.length, 1, "RST_STREAM on stream 1");
  assert.equal(new DataView(resets[0].payload.buffer).getUint32(0), 8);
});

test("HTTP/2 connection: a malformed response (content-length mismatch) fails that stream only, and says so", async () => {
  await using server = await h2Server({
    "/long": (stream) => {
      stream.respond({ ":status": 200, "content-length": "2" });
      stream.end("xyz");
    },
    "/ok": answer("ok"),
  });
  await using connection = await h2c(server.origin);
  const error = await connection.request("GET", "/long").then(() => null, (error) => error);
  assert.ok(error instanceof RemoteProtocolError, String(error));
  assert.match(
    error.message,
    /^Stream 1 to "[^"]+" was reset: the body on stream 1 does not match its content-length 2 \(3 bytes\) \(PROTOCOL_ERROR/,
  );
  assert.equal(await (await connection.request("GET", "/ok")).text(), "ok");
  assert.equal(server.sessions.length, 1);
});

test("HTTP/2 connection: closing a response early resets its stream, the connection stays", async () => {
  await using server = await h2Server({
    "/big": (stream) => {
      stream.respond({ ":status": 200 });
      stream.write(new Uint8Array(100_000));
    },
    "/ok": answer("ok"),
  });
  await using connection = await h2c(server.origin);
  const response = await connection.stream("GET", "/big");
  await response.close();
  assert.equal(await server.streamClosed("/big"), 8);
  assert.equal(await (await connection.request("GET", "/ok")).text(), "ok");
  assert.equal(server.sessions.length, 1);
});

test("HTTP/2 connection: an aborted request resets its stream with CANCEL", async () => {
  await using server = await h2Server({ "/never": () => {}, "/ok": answer("ok") });
  await using connection = await h2c(server.origin);
  const controller = new AbortController();
  const pending = connection.request("GET", "/never", {
    extensions: { signal: controller.signal },
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort(new Error("changed my mind"));
  await assert.rejects(pending, /changed my mind/);
  assert.equal(await server.streamClosed("/never"), 8);
  assert.equal(await (await connection.request("GET", "/ok")).text(), "ok");
});

test("HTTP/2 connection: GOAWAY fails streams above the last stream id retryably, finishes the rest", async () => {
  let release: () => void = () => {};
  await using server = await h2Server({
    "/first": (stream, _headers, session) => {
      release = () => {
        stream.respond({ ":status": 200 });
        stream.end("first");
      };
      // Stream 1 will be processed; 3 (sent meanwhile) will not.
      setTimeout(() => session.goaway(0, 1), 30);
    },
    "/second": () => {},
  });
  await using connection = await h2c(server.origin);
  const first = connection.request("GET", "/first");
  await new Promise((resolve) => setTimeout(resolve, 10));
  const second = connection.request("GET", "/second").then(() => null, (error) => error);
  const error = await second;
  assert.ok(error instanceof RemoteProtocolError, String(error));
  assert.ok(isRetryableError(error), error.message);
  assert.match(error.message, /not processed/);
  assert.equal(connection.isAvailable, false);
  assert.match(String(connection), /HTTP\/2 ACTIVE GOAWAY, 1 stream>$/);
  const third = await connection.request("GET", "/first").then(() => null, (error) => error);
  assert.ok(isRetryableError(third), String(third));
  release();
  assert.equal(await (await first).text(), "first");
  assert.equal(connection.state, "CLOSED");
});

test("HTTP/2 connection: a protocol violation closes the connection with RemoteProtocolError", async () => {
  // Answers the preface with a SETTINGS frame, then a DATA frame on stream 0 (forbidden).
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    let seen = 0;
    socket.on("data", (chunk) => {
      seen += chunk.length;
      if (seen < 24) return;
      socket.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0])); // SETTINGS
      socket.write(new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41])); // DATA on stream 0
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    await using connection = await h2c(`http://127.0.0.1:${port}`);
    const error = await connection.request("GET", "/").then(() => null, (error) => error);
    assert.ok(error instanceof RemoteProtocolError, String(error));
    assert.ok(!(error instanceof StreamReset));
    for (let i = 0; i < 100 && connection.state !== "CLOSED"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(connection.state, "CLOSED");
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("HTTP/2 connection: beyond SETTINGS_MAX_CONCURRENT_STREAMS a request waits for a slot, under the pool limit", async () => {
  const held: (() => void)[] = [];
  await using server = await h2Server({
    "/hold": (stream) => {
      held.push(() => {
        stream.respond({ ":status": 200 });
        stream.end("done");
      });
    },
  }, { settings: { maxConcurrentStreams: 1 } });
  await using connection = await h2c(server.origin, { timeout: { pool: 100 } });
  // Let the server's SETTINGS arrive.
  await connection.request("GET", "/nope");
  assert.equal(connection.maxConcurrentStreams, 1);
  const first = connection.request("GET", "/hold");
  await assert.rejects(connection.request("GET", "/hold"), PoolTimeout);
  const second = connection.request("GET", "/hold", { extensions: { timeout: { pool: null } } });
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(connection.streamCount, 1);
  held.shift()!();
  assert.equal(await (await first).text(), "done");
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  held.shift()!();
  assert.equal(await (await second).text(), "done");
});

test("HTTP/2 connection refuses upgrades, CONNECT and bad headers before sending anything", async () => {
  await using server = await h2Server({ "/": answer() });
  await using connection = await h2c(server.origin);
  await assert.rejects(
    connection.request("GET", "/", { headers: { Upgrade: "websocket" } }),
    (error: Error) =>
      error instanceof LocalProtocolError &&
      /Cannot upgrade to "websocket" over HTTP\/2/.test(error.message),
  );
  await assert.rejects(connection.upgrade("CONNECT", "example.com:443"), LocalProtocolError);
  await assert.rejects(
    connection.request("GET", "/", { headers: { "X-Bad": "a\r\nb" } }),
    /Invalid value of header "X-Bad"/,
  );
  await assert.rejects(
    connection.request("GET", "/", { headers: { "Bad Name": "x" } }),
    LocalProtocolError,
  );
  assert.equal(server.closedStreams.length, 0);
  assert.equal(connection.state, "NEW");
});

test("HTTP/2 connection over TLS with ALPN h2", async () => {
  await using server = await h2Server({ "/": answer("secure") }, { tls: true });
  const plain = await backend.connect("127.0.0.1", server.port);
  const stream = await plain.startTls({
    hostname: "localhost",
    caCerts: [CA_CERT],
    alpnProtocols: ["h2", "http/1.1"],
  });
  assert.equal(stream.getExtraInfo("alpn_protocol"), "h2");
  await using connection = new Http2Connection(stream, server.origin);
  const response = await connection.request("GET", "/");
  assert.equal(await response.text(), "secure");
  assert.equal(response.httpVersion, "HTTP/2");
});

test("HTTP/2 connection: the server closing the connection fails open streams with ReadError", async () => {
  await using server = await h2Server({
    "/drop": () => setTimeout(() => server.dropConnections(), 20),
  });
  await using connection = await h2c(server.origin);
  const error = await connection.request("GET", "/drop").then(() => null, (error) => error);
  assert.ok(error instanceof ReadError || error instanceof RemoteProtocolError, String(error));
  for (let i = 0; i < 100 && connection.state !== "CLOSED"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(connection.state, "CLOSED");
  assert.ok(isRetryableError(await connection.request("GET", "/").catch((e) => e)));
});

test("HTTP/2 connection: a download larger than the windows completes; a reader that stops bounds what is buffered", async () => {
  const size = 12 * 1024 * 1024;
  let sent = 0;
  await using server = await h2Server({
    "/big": (stream) => {
      stream.respond({ ":status": 200 });
      stream.end(new Uint8Array(size).fill(7));
    },
    "/endless": (stream) => {
      stream.respond({ ":status": 200 });
      const chunk = new Uint8Array(65536);
      const pump = (): void => {
        while (!stream.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!stream.write(chunk)) return void stream.once("drain", pump);
        }
      };
      pump();
    },
  });
  await using connection = await h2c(server.origin);
  const big = await connection.request("GET", "/big");
  assert.equal((await big.bytes()).length, size);
  await using endless = await connection.stream("GET", "/endless");
  const chunks = endless.iterRaw();
  await chunks.next();
  // The reader stops: the stream is paused, its window closes, and the server's writes
  // stall. What it got to send is bounded by the stream window (4 MiB), the pause
  // threshold (1 MiB) and the server's own buffering, not by the body's size.
  let last = -1;
  while (sent !== last) {
    last = sent;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(sent < 12 * 1024 * 1024, `the server sent ${sent} bytes to a reader that stopped`);
});

test("HTTP/2 connection: an idle connection closes itself after keepaliveExpiry", async () => {
  await using server = await h2Server({ "/": answer("ok") });
  await using connection = await h2c(server.origin, { keepaliveExpiry: 50 });
  await connection.request("GET", "/");
  assert.equal(connection.state, "IDLE");
  const closed = (): boolean => connection.isClosed;
  for (let i = 0; i < 200 && !closed(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(connection.state, "CLOSED");
});

test("HTTP/2 connection: the node:http2 engine stays selectable (engine option), and Ferry's is the default", async () => {
  await using server = await h2Server({
    "/hello": answer("hi there"),
    "/echo": (stream) => {
      let text = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => text += chunk);
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(text);
      });
    },
  });
  const url = new URL(server.origin);
  let opened = 0;
  const spy: Http2Engine = {
    name: "spy",
    open(...args) {
      opened++;
      return nodeHttp2Engine.open(...args);
    },
  };
  const options: Http2ConnectionEngineOptions = { engine: spy };
  await using connection = new Http2Connection(
    await backend.connect(url.hostname, Number(url.port)),
    server.origin,
    options,
  );
  const responses = await Promise.all([
    connection.request("GET", "/hello"),
    connection.request("POST", "/echo", { content: "sent back" }),
  ]);
  assert.deepEqual(await Promise.all(responses.map((r) => r.text())), ["hi there", "sent back"]);
  assert.deepEqual(responses.map((r) => r.extensions.streamId), [1, 3]);
  assert.equal(opened, 1);
  const previous = setDefaultHttp2Engine(nodeHttp2Engine);
  assert.equal(previous, ferryHttp2Engine);
  assert.equal(setDefaultHttp2Engine(previous), nodeHttp2Engine);
});
