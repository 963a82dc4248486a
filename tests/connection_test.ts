/**
 * `Connection`: sequential requests, keep-alive, stale detection, early close, trace,
 * extensions, timeouts and aborts, against small `node:net` servers with canned bytes.
 */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "./_harness.ts";
import {
  Connection,
  expiresAt,
  handleRequest,
  isRetryableError,
  openConnection,
  retryRequest,
} from "../src/connection/mod.ts";
import { Request } from "../src/models/request.ts";
import { Response } from "../src/models/response.ts";
import { nextState } from "../src/connection/state.ts";
import {
  LocalProtocolError,
  ReadTimeout,
  RemoteProtocolError,
  UnsupportedProtocol,
  WriteError,
} from "../src/errors.ts";
import { timeout } from "../src/timeout.ts";
import { cannedServer, eventually, ok, wait } from "./_servers.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";

test("connection sends requests one after another over one socket, adding Host", async () => {
  await using server = await cannedServer((_head, i) => ok(`reply ${i}`));
  await using connection = await openConnection(server.url);
  assert.equal(String(connection), `<Connection "${server.url}/" NEW>`);
  const first = await connection.request("GET", "/a?x=1");
  assert.equal(first.status, 200);
  assert.equal(await first.text(), "reply 0");
  assert.equal(String(connection), `<Connection "${server.url}/" IDLE>`);
  const second = await connection.request("GET", `${server.url}/b`);
  assert.equal(await second.text(), "reply 1");
  assert.equal(server.accepted, 1);
  assert.match(
    server.heads[0],
    new RegExp(`^GET /a\\?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`),
  );
  assert.match(server.heads[1], /^GET \/b HTTP\/1.1\r\n/);
});

test("a UTF-8 header value is decoded on every response, the same head again too", async () => {
  // The second head equals the first byte for byte (the parser matches it against the
  // first): its value must still be decoded, and its bytes kept for raw().
  const utf8 = "Jos\xc3\xa9"; // "José" as UTF-8, one character per byte
  await using server = await cannedServer(() => ok("x", `X-Name: ${utf8}\r\nX-Plain: a\r\n`));
  await using connection = await openConnection(server.url);
  for (let i = 0; i < 3; i++) {
    const response = await connection.request("GET", "/");
    assert.equal(response.headers.get("x-name"), "José", `response ${i}`);
    assert.deepEqual([...response.headers.raw()[1][1]], [74, 111, 115, 195, 169]);
    assert.equal(response.headers.get("x-plain"), "a");
  }
});

test("changing a response's headers leaves the next response's alone, the same head again", async () => {
  // Heads equal byte for byte share their field pairs (unfrozen on a connection's parser):
  // what a reader does to one response's headers must not reach the next one's, ASCII or
  // decoded from UTF-8.
  const utf8 = "Jos\xc3\xa9";
  for (const fields of ["X-Plain: a\r\n", `X-Name: ${utf8}\r\nX-Plain: a\r\n`]) {
    await using server = await cannedServer(() => ok("x", fields));
    await using connection = await openConnection(server.url);
    for (let i = 0; i < 3; i++) {
      const response = await connection.request("GET", "/");
      assert.equal(response.headers.get("x-plain"), "a", `response ${i}`);
      assert.equal(response.headers.get("x-added"), null);
      assert.equal(response.headers.get("content-length"), "1");
      response.headers.set("x-plain", "changed");
      response.headers.append("x-added", "1");
      response.headers.delete("content-length");
      assert.equal(response.headers.get("x-plain"), "changed");
      assert.equal(await response.text(), "x");
    }
  }
});

test("connection keeps a Host header that was given", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using connection = await openConnection(server.url);
  await connection.request("GET", "/", { headers: { host: "example.com" } });
  assert.match(server.heads[0], /\r\nhost: example.com\r\n/);
  assert.doesNotMatch(server.heads[0], /Host: 127/);
});

test("concurrent callers on one connection are served in order", async () => {
  await using server = await cannedServer((head) => ok(head.split(" ")[1]));
  await using connection = await openConnection(server.url);
  const paths = ["/1", "/2", "/3", "/4", "/5"];
  const responses = await Promise.all(paths.map((path) => connection.request("GET", path)));
  const bodies = await Promise.all(responses.map((response) => response.text()));
  assert.deepEqual(bodies, paths);
  assert.deepEqual(server.heads.map((head) => head.split(" ")[1]), paths);
  assert.equal(server.accepted, 1);
});

test("stream() returns the response unread and the connection stays ACTIVE until it is read", async () => {
  const big = "x".repeat(200_000);
  await using server = await cannedServer(() => ok(big));
  await using connection = await openConnection(server.url);
  const response = await connection.stream("GET", "/");
  assert.equal(connection.state, "ACTIVE");
  let total = 0;
  for await (const chunk of response.iterBytes()) total += chunk.length;
  assert.equal(total, big.length);
  assert.equal(connection.state, "IDLE");
});

test("a response whose body came whole is released when closed, not before", async () => {
  await using server = await cannedServer(() => ok("small"));
  await using connection = await openConnection(server.url);
  const response = await connection.stream("GET", "/");
  assert.equal(connection.state, "ACTIVE");
  await response.close();
  assert.equal(connection.state, "IDLE");
  assert.equal(await (await connection.request("GET", "/")).text(), "small");
});

test("closing a response early drains a small remainder and keeps the connection", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    setTimeout(() => socket.write("67890"), 20);
    return null;
  });
  await using connection = await openConnection(server.url);
  const response = await connection.stream("GET", "/");
  await response.close();
  assert.equal(connection.state, "IDLE");
  assert.equal(server.accepted, 1);
});

test("closing a response early with a large remainder closes the connection", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n");
    socket.write(Buffer.alloc(100_000));
    return null;
  });
  await using connection = await openConnection(server.url);
  const response = await connection.stream("GET", "/");
  // Count the reads from here on: closing must not read a byte of the remainder (a
  // drain would read on until the read timeout ended it, and close only then).
  const stream = connection.networkStream!;
  const read = stream.read.bind(stream);
  let reads = 0;
  stream.read = (...args) => (reads++, read(...args));
  await response.close();
  assert.equal(reads, 0, "reads while closing");
  assert.equal(connection.state, "CLOSED");
  assert.equal(stream.closed, true);
  await eventually(() => server.open === 0, "server sees the socket closed");
});

test("an idle connection that the server closed is noticed before reuse", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.end(ok("bye"));
    return null;
  });
  await using connection = await openConnection(server.url);
  await connection.request("GET", "/");
  await eventually(() => connection.state === "CLOSED", "connection notices the close");
  await assert.rejects(connection.request("GET", "/"), RemoteProtocolError);
});

test("Connection: close in the response closes the connection", async () => {
  await using server = await cannedServer(() => ok("x", "Connection: close\r\n"));
  await using connection = await openConnection(server.url);
  await connection.request("GET", "/");
  assert.equal(connection.state, "CLOSED");
});

test("Connection: close in the request closes the connection after the response", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using connection = await openConnection(server.url);
  await connection.request("GET", "/", { headers: { Connection: "close" } });
  assert.equal(connection.state, "CLOSED");
});

test("a malformed response fails with RemoteProtocolError and closes the connection", async () => {
  await using server = await cannedServer(() => "HTTP/1.1 2x0 OK\r\n\r\n");
  await using connection = await openConnection(server.url);
  await assert.rejects(connection.request("GET", "/"), (error: unknown) => {
    assert.ok(error instanceof RemoteProtocolError);
    assert.match(error.message, /status/i);
    assert.ok(error.request !== null);
    return true;
  });
  assert.equal(connection.state, "CLOSED");
});

test("a server that closes before answering fails with RemoteProtocolError", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.end();
    return null;
  });
  await using connection = await openConnection(server.url);
  await assert.rejects(connection.request("GET", "/"), RemoteProtocolError);
  assert.equal(connection.state, "CLOSED");
});

test("a body cut short fails with RemoteProtocolError", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    return null;
  });
  await using connection = await openConnection(server.url);
  await assert.rejects(connection.request("GET", "/"), RemoteProtocolError);
  assert.equal(connection.state, "CLOSED");
});

test("an invalid header leaves the connection usable (nothing was written)", async () => {
  await using server = await cannedServer(() => ok("fine"));
  await using connection = await openConnection(server.url);
  await assert.rejects(
    connection.request("GET", "/", { headers: { "bad name": "x" } }),
    LocalProtocolError,
  );
  assert.equal(connection.state, "NEW");
  assert.equal(await (await connection.request("GET", "/")).text(), "fine");
  await assert.rejects(
    connection.request("GET", "/", { headers: { "x-ok": "a\r\nb" } }),
    LocalProtocolError,
  );
  assert.equal(connection.state, "IDLE");
  assert.equal(await (await connection.request("GET", "/")).text(), "fine");
  assert.equal(server.heads.length, 2);
});

test("request bodies given as bytes or text get a Content-Length", async () => {
  await using server = await cannedServer(() => ok("ok"));
  await using connection = await openConnection(server.url);
  await connection.request("POST", "/", { content: "hello" });
  await connection.request("PUT", "/", { content: new Uint8Array([1, 2, 3]) });
  assert.match(server.heads[0], /Content-Length: 5\r\n/);
  assert.match(server.heads[1], /Content-Length: 3\r\n/);
  assert.equal(server.accepted, 1);
});

test("a streamed request body is sent chunked", async () => {
  let received = "";
  const server = createServer((socket) => {
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.endsWith("0\r\n\r\n")) socket.write(ok("thanks"));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  try {
    await using connection = await openConnection(`http://127.0.0.1:${port}`, {
      backend: new (await import("../src/network/node.ts")).NodeNetworkBackend(),
    });
    const body = (async function* () {
      yield new TextEncoder().encode("ab");
      yield new TextEncoder().encode("cd");
    })();
    const response = await connection.request("POST", "/", { content: body });
    assert.equal(await response.text(), "thanks");
    assert.match(received, /Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n$/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("an early answer while the body is still being sent is read, then the connection closes", async () => {
  // A stream whose body writes fail (the server answered and hung up) but whose read side
  // still holds the answer. (Both runtime backends shut the whole stream on a failed write
  // today, so this is what a backend that keeps the read half open gives.)
  const answer = new TextEncoder().encode(
    "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!",
  );
  let writes = 0;
  let reads = 0;
  const stream: NetworkStreamInterface = {
    read: () => Promise.resolve(reads++ === 0 ? answer : new Uint8Array(0)),
    write: () =>
      writes++ === 0 ? Promise.resolve() : Promise.reject(new WriteError("Connection reset")),
    startTls: () => Promise.reject(new Error("no TLS")),
    getExtraInfo: () => undefined,
    close: () => Promise.resolve(),
  };
  const connection = new Connection(stream, "http://example.com");
  const body = (async function* () {
    for (let i = 0; i < 10; i++) yield new Uint8Array(1024);
  })();
  const response = await connection.request("POST", "/upload", { content: body });
  assert.equal(response.status, 413);
  assert.equal(await response.text(), "too big!");
  assert.equal(connection.state, "CLOSED");
});

test("a write failure with no answer to read reports the write error", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.destroy();
    return null;
  });
  await using connection = await openConnection(server.url);
  const chunk = new Uint8Array(65536);
  const body = (async function* () {
    for (let i = 0; i < 2000; i++) yield chunk;
  })();
  await assert.rejects(connection.request("POST", "/upload", { content: body }), WriteError);
  assert.equal(connection.state, "CLOSED");
});

test("response extensions: httpVersion, reasonPhrase, networkStream", async () => {
  await using server = await cannedServer(() =>
    "HTTP/1.0 201 Made It\r\nContent-Length: 0\r\n\r\n"
  );
  await using connection = await openConnection(server.url);
  const response = await connection.request("GET", "/");
  assert.equal(response.extensions.httpVersion, "HTTP/1.0");
  assert.equal(response.extensions.reasonPhrase, "Made It");
  assert.equal(response.reasonPhrase, "Made It");
  assert.ok(response.extensions.networkStream !== undefined);
  assert.equal(connection.state, "CLOSED"); // HTTP/1.0 without keep-alive
});

test("the target extension replaces the URL's path", async () => {
  await using server = await cannedServer(() => ok(""));
  await using connection = await openConnection(server.url);
  await connection.request("OPTIONS", "/", { extensions: { target: "*" } });
  assert.match(server.heads[0], /^OPTIONS \* HTTP\/1.1\r\n/);
});

test("1xx informational responses are skipped", async () => {
  await using server = await cannedServer(() =>
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("final")
  );
  await using connection = await openConnection(server.url);
  const response = await connection.request("GET", "/");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "final");
});

test("trace reports the events of a request in order", async () => {
  await using server = await cannedServer(() => ok("traced"));
  const events: string[] = [];
  const infos: Record<string, Record<string, unknown>> = {};
  const trace = (name: string, info: Record<string, unknown>) => {
    events.push(name);
    infos[name] = info;
  };
  await using connection = await openConnection(server.url, { trace });
  const response = await connection.request("GET", "/", { extensions: { trace } });
  assert.equal(await response.text(), "traced");
  assert.deepEqual(events, [
    "connection.connect_tcp.started",
    "connection.connect_tcp.complete",
    "http11.send_request_headers.started",
    "http11.send_request_headers.complete",
    "http11.send_request_body.started",
    "http11.send_request_body.complete",
    "http11.receive_response_headers.started",
    "http11.receive_response_headers.complete",
    "http11.receive_response_body.started",
    "http11.receive_response_body.complete",
    "http11.response_closed.started",
    "http11.response_closed.complete",
  ]);
  assert.equal(infos["connection.connect_tcp.started"].host, "127.0.0.1");
  assert.equal(infos["connection.connect_tcp.started"].port, server.port);
  const head = infos["http11.receive_response_headers.complete"].return_value as unknown[];
  assert.deepEqual(head.slice(0, 3), ["HTTP/1.1", 200, "OK"]);
  assert.equal(String(infos["http11.send_request_headers.started"].request), "<Request [GET]>");
});

test("a trace callback that edits the header pairs it is given leaves later responses alone", async () => {
  // The connection's parser shares the pairs of equal heads, unfrozen: the callback must be
  // handed copies, or its edit would become the next response's header.
  await using server = await cannedServer(() => ok("x", "X-Plain: a\r\n"));
  await using connection = await openConnection(server.url);
  const trace = (name: string, info: Record<string, unknown>) => {
    if (name !== "http11.receive_response_headers.complete") return;
    const pairs = (info.return_value as unknown[])[3] as [string, string][];
    for (const pair of pairs) pair[1] = "edited";
  };
  for (let i = 0; i < 3; i++) {
    const response = await connection.request("GET", "/", { extensions: { trace } });
    assert.equal(response.headers.get("x-plain"), "a", `response ${i}`);
    assert.equal(await response.text(), "x");
    const plain = await connection.request("GET", "/");
    assert.equal(plain.headers.get("x-plain"), "a", `response ${i}, untraced`);
    assert.equal(await plain.text(), "x");
  }
});

test("trace reports a failed step with its exception", async () => {
  await using server = await cannedServer(() => "garbage\r\n\r\n");
  const events: [string, Record<string, unknown>][] = [];
  await using connection = await openConnection(server.url);
  let thrown: unknown = null;
  await connection.request("GET", "/", {
    extensions: { trace: (name, info) => void events.push([name, info]) },
  }).catch((error) => thrown = error);
  assert.ok(thrown instanceof RemoteProtocolError, String(thrown));
  assert.deepEqual(events.map(([name]) => name).slice(-3), [
    "http11.send_request_body.complete",
    "http11.receive_response_headers.started",
    "http11.receive_response_headers.failed",
  ]);
  // The exception the request failed with, as httpcore reports it.
  assert.equal(events.at(-1)![1].exception, thrown);
});

test("a streamed body's trace events come as it is read and closed", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
    setTimeout(() => socket.write("def"), 10);
    return null;
  });
  const events: string[] = [];
  await using connection = await openConnection(server.url);
  const response = await connection.stream("GET", "/", {
    extensions: { trace: (name) => void events.push(name) },
  });
  assert.equal(events.at(-1), "http11.receive_response_headers.complete");
  assert.equal(await response.text(), "abcdef");
  assert.deepEqual(events.slice(-4), [
    "http11.receive_response_body.started",
    "http11.receive_response_body.complete",
    "http11.response_closed.started",
    "http11.response_closed.complete",
  ]);
});

test("a read timeout fails with ReadTimeout and closes the connection", async () => {
  await using server = await cannedServer(() => null);
  await using connection = await openConnection(server.url);
  await assert.rejects(
    connection.request("GET", "/", { extensions: { timeout: { read: 50 } } }),
    (error: unknown) => error instanceof ReadTimeout && error.timeoutMs === 50,
  );
  assert.equal(connection.state, "CLOSED");
});

test("a read timeout applies to the first read of a reused connection too", async () => {
  await using server = await cannedServer((_head, i) => i === 0 ? ok("first") : null);
  await using connection = await openConnection(server.url, { timeout: { read: 60 } });
  await connection.request("GET", "/");
  await assert.rejects(connection.request("GET", "/"), ReadTimeout);
  assert.equal(connection.state, "CLOSED");
});

test("a timeout() scope cuts a slow response short", async () => {
  await using server = await cannedServer(() => null);
  await using connection = await openConnection(server.url);
  await assert.rejects(
    timeout(50, () => connection.request("GET", "/")),
    ReadTimeout,
  );
});

test("aborting the signal rejects with its reason and closes the connection", async () => {
  await using server = await cannedServer(() => null);
  await using connection = await openConnection(server.url);
  const controller = new AbortController();
  const pending = connection.request("GET", "/", { extensions: { signal: controller.signal } });
  await eventually(() => server.heads.length === 1, "request sent");
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  assert.equal(connection.state, "CLOSED");
});

test("an already aborted signal sends nothing and keeps the connection", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using connection = await openConnection(server.url);
  const reason = new Error("early");
  await assert.rejects(
    connection.request("GET", "/", { extensions: { signal: AbortSignal.abort(reason) } }),
    (error) => error === reason,
  );
  assert.equal(server.heads.length, 0);
  assert.equal(await (await connection.request("GET", "/")).text(), "x");
});

test("aborting while the body streams fails the read with the reason", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
    return null;
  });
  await using connection = await openConnection(server.url);
  const controller = new AbortController();
  const response = await connection.stream("GET", "/", {
    extensions: { signal: controller.signal },
  });
  const reading = response.bytes();
  await wait(10);
  controller.abort(new Error("enough"));
  await assert.rejects(reading, /enough/);
  assert.equal(connection.state, "CLOSED");
});

test("a Keep-Alive timeout hint expires the connection earlier", async () => {
  await using server = await cannedServer(() => ok("x", "Keep-Alive: timeout=1\r\n"));
  await using connection = await openConnection(server.url);
  await connection.request("GET", "/");
  const expiry = connection[expiresAt] - Date.now();
  assert.ok(expiry > 0 && expiry <= 1000, `expiry ${expiry}`);
});

test("new Connection() wraps an open stream; requests after close fail", async () => {
  await using server = await cannedServer(() => ok("wrapped"));
  const { NodeNetworkBackend } = await import("../src/network/node.ts");
  const stream = await new NodeNetworkBackend().connect("127.0.0.1", server.port);
  const connection = new Connection(stream, server.url);
  assert.equal(await (await connection.request("GET", "/")).text(), "wrapped");
  await connection.close();
  assert.equal(String(connection), `<Connection "${server.url}/" CLOSED>`);
  await assert.rejects(connection.request("GET", "/"), RemoteProtocolError);
});

test("openConnection refuses other schemes", async () => {
  await assert.rejects(openConnection("ftp://127.0.0.1/"), UnsupportedProtocol);
});

test("the state table: CLOSED is final, UPGRADED only closes, IDLE never upgrades", () => {
  const states = ["NEW", "ACTIVE", "IDLE", "UPGRADED", "CLOSED"] as const;
  const allowed = new Set([
    "NEW>ACTIVE",
    "NEW>CLOSED",
    "ACTIVE>IDLE",
    "ACTIVE>NEW",
    "ACTIVE>UPGRADED",
    "ACTIVE>CLOSED",
    "IDLE>ACTIVE",
    "IDLE>CLOSED",
    "UPGRADED>CLOSED",
  ]);
  for (const from of states) {
    for (const to of states) {
      if (allowed.has(`${from}>${to}`)) assert.equal(nextState(from, to), to);
      else {
        assert.throws(
          () => nextState(from, to),
          new Error(`Connection state cannot change from "${from}" to "${to}"`),
        );
      }
    }
  }
});

test("a closed connection hands its retryable refusal to the retry target", async () => {
  // The pool gives a first attempt a retry target; a connection found closed at the start
  // of the exchange must hand the request over, as any other retryable failure.
  await using server = await cannedServer(() => ok("x"));
  const connection = await openConnection(server.url);
  await connection.close();
  const retried: unknown[] = [];
  const target = {
    [retryRequest]: (error: unknown, request: Request) => {
      retried.push(error, request);
      return Promise.resolve(new Response(200, { content: "again" }));
    },
  };
  const request = new Request("GET", `${server.url}/`);
  const response: Response = await connection[handleRequest](request, 0, target);
  assert.equal(await response.text(), "again");
  assert.equal(retried.length, 2);
  assert.ok(isRetryableError(retried[0]));
  assert.equal(retried[1], request);
});
