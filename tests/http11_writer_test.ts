/** The HTTP/1.1 request writer. */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { LocalProtocolError, StreamConsumed } from "../src/errors.ts";
import { requestTarget, serializeRequest } from "../src/http11/writer.ts";
import type { SerializedRequest } from "../src/http11/writer.ts";
import { Client, ConnectionPool } from "../mod.ts";
import { MemoryNetworkBackend } from "../src/testing/mod.ts";

const decoder = new TextDecoder("latin1");
const encoder = new TextEncoder();

/** Everything the writer would put on the wire, as a Latin-1 string. */
async function wire(request: SerializedRequest): Promise<string> {
  let out = decoder.decode(request.head);
  if (request.body) { for await (const chunk of request.body) out += decoder.decode(chunk); }
  return out;
}

const HOST: [string, string][] = [["Host", "example.com"]];

test("writer serialises a GET with the caller's header order and case", async () => {
  const request = serializeRequest("GET", "/a?b=1", [
    ["Host", "example.com"],
    ["accept", "*/*"],
    ["X-Two", "1"],
    ["X-Two", "2"],
  ], null);
  assert.equal(request.body, null);
  assert.equal(
    await wire(request),
    "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\nX-Two: 1\r\nX-Two: 2\r\n\r\n",
  );
});

test("writer adds Content-Length: 0 to POST, PUT and PATCH without a body", async () => {
  for (const method of ["POST", "PUT", "PATCH"]) {
    assert.equal(
      await wire(serializeRequest(method, "/", HOST, null)),
      `${method} / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n`,
    );
  }
  assert.equal(
    await wire(serializeRequest("DELETE", "/", HOST, "")),
    "DELETE / HTTP/1.1\r\nHost: example.com\r\n\r\n",
  );
});

test("writer puts a bytes or string body in the head, with its length", async () => {
  const request = serializeRequest("POST", "/", HOST, "héllo");
  assert.equal(request.body, null);
  assert.equal(
    await wire(request),
    "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 6\r\n\r\nh\xc3\xa9llo",
  );
  const bytes = serializeRequest("PUT", "/", HOST, new Uint8Array([0, 1, 2]));
  assert.equal(
    await wire(bytes),
    "PUT / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\n\x00\x01\x02",
  );
});

test("writer keeps a matching Content-Length and refuses a wrong one", async () => {
  assert.equal(
    await wire(serializeRequest("POST", "/", [["content-length", "2"]], "hi")),
    "POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi",
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Content-Length", "3"]], "hi"),
    /Content-Length "3" does not match the body of 2 bytes/,
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Content-Length", "x"]], "hi"),
    /Invalid Content-Length "x"/,
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Content-Length", "\xa02"]], "hi"),
    /Invalid Content-Length "\xa02"/,
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Content-Length", "1"], ["Content-Length", "2"]], "h"),
    /Conflicting Content-Length values/,
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Content-Length", "5"]], null),
    /was given without a body/,
  );
  assert.throws(
    () =>
      serializeRequest(
        "POST",
        "/",
        [["Content-Length", "2"], ["Transfer-Encoding", "chunked"]],
        "a",
      ),
    /Both Content-Length and Transfer-Encoding/,
  );
  assert.throws(
    () => serializeRequest("POST", "/", [["Transfer-Encoding", "gzip"]], "a"),
    /without chunked as final coding/,
  );
});

test("writer frames a stream, async and sync iterables as chunked", async () => {
  const parts = ["ab", "", "cde"].map((part) => encoder.encode(part));
  const expected = "POST /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n";
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  assert.equal(await wire(serializeRequest("POST", "/up", HOST, stream)), expected);
  async function* generate(): AsyncGenerator<Uint8Array> {
    yield* parts;
  }
  assert.equal(await wire(serializeRequest("POST", "/up", HOST, generate())), expected);
  assert.equal(await wire(serializeRequest("POST", "/up", HOST, parts)), expected);
  assert.equal(
    await wire(serializeRequest("POST", "/up", HOST, [])),
    "POST /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  );
});

test("writer frames a large chunk with a hex size", async () => {
  const big = new Uint8Array(70_000).fill(0x61);
  const text = await wire(serializeRequest("POST", "/", HOST, [big]));
  assert.ok(text.includes("\r\n\r\n11170\r\naaa"));
  assert.ok(text.endsWith("a\r\n0\r\n\r\n"));
});

test("writer honours a caller's chunked Transfer-Encoding for bytes too", async () => {
  assert.equal(
    await wire(serializeRequest("POST", "/", [["Transfer-Encoding", "chunked"]], "hello")),
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  );
  assert.equal(
    await wire(serializeRequest("POST", "/", [["Transfer-Encoding", "chunked"]], null)),
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  );
});

test("writer sends a stream with a given Content-Length as is and checks its size", async () => {
  const parts = [encoder.encode("ab"), encoder.encode("c")];
  assert.equal(
    await wire(serializeRequest("PUT", "/", [["Content-Length", "3"]], parts)),
    "PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
  );
  await assert.rejects(
    wire(serializeRequest("PUT", "/", [["Content-Length", "2"]], parts)),
    (error) =>
      error instanceof LocalProtocolError && /longer than its Content-Length/.test(error.message),
  );
  await assert.rejects(
    wire(serializeRequest("PUT", "/", [["Content-Length", "4"]], parts)),
    /ended after 3 bytes, before its Content-Length "4"/,
  );
});

test("writer refuses body chunks that are not bytes", async () => {
  await assert.rejects(
    wire(serializeRequest("POST", "/", HOST, [42 as unknown as Uint8Array])),
    /Request body chunks must be Uint8Array, got "\[object Number\]"/,
  );
});

test("writer cancels a stream it stops reading", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode("x"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const { body } = serializeRequest("POST", "/", HOST, stream);
  for await (const _chunk of body!) break;
  assert.ok(cancelled);
});

test("writer accepts every target form", async () => {
  for (const target of ["/", "/a/b?c=d&e", "http://example.com/x?y", "example.com:443", "*"]) {
    assert.ok((await wire(serializeRequest("OPTIONS", target, [], null))).includes(` ${target} `));
  }
});

test("writer refuses bad methods, targets and headers before producing anything", () => {
  const bad: [() => unknown, RegExp][] = [
    [() => serializeRequest("", "/", [], null), /Invalid method ""/],
    [() => serializeRequest("GE T", "/", [], null), /Invalid method "GE T"/],
    [() => serializeRequest("GET\r\n", "/", [], null), /Invalid method/],
    [() => serializeRequest("GET", "", [], null), /Invalid request target ""/],
    [() => serializeRequest("GET", "/a b", [], null), /Invalid request target "\/a b"/],
    [() => serializeRequest("GET", "/a\r\nX: y", [], null), /Invalid request target/],
    [() => serializeRequest("GET", "/\0", [], null), /Invalid request target/],
    [() => serializeRequest("GET", "/é", [], null), /Invalid request target/],
    [() => serializeRequest("GET", "/", [["", "x"]], null), /Invalid header name ""/],
    [() => serializeRequest("GET", "/", [["A B", "x"]], null), /Invalid header name "A B"/],
    [() => serializeRequest("GET", "/", [["A:", "x"]], null), /Invalid header name "A:"/],
    [() => serializeRequest("GET", "/", [["A\r\n", "x"]], null), /Invalid header name/],
    [() => serializeRequest("GET", "/", [["A", "x\r\nB: y"]], null), /Invalid value of header "A"/],
    [() => serializeRequest("GET", "/", [["A", "x\ny"]], null), /Invalid value of header "A"/],
    [() => serializeRequest("GET", "/", [["A", "x\0"]], null), /Invalid value of header "A"/],
    [() => serializeRequest("GET", "/", [["A", "☃"]], null), /Invalid value of header "A"/],
  ];
  for (const [call, pattern] of bad) {
    assert.throws(
      call,
      (error) => error instanceof LocalProtocolError && pattern.test(error.message),
    );
  }
});

test("writer encodes Latin-1 header values byte for byte", async () => {
  const text = await wire(serializeRequest("GET", "/", [["X", "caf\xe9\tok"]], null));
  assert.equal(text, "GET / HTTP/1.1\r\nX: caf\xe9\tok\r\n\r\n");
});

test("requestTarget builds origin, absolute and authority forms", () => {
  const url = new URL("http://example.com:8080/a b/?q=1&r=é#frag");
  assert.equal(requestTarget(url), "/a%20b/?q=1&r=%C3%A9");
  assert.equal(requestTarget(url, "absolute"), "http://example.com:8080/a%20b/?q=1&r=%C3%A9");
  assert.equal(requestTarget(url, "authority"), "example.com:8080");
  assert.equal(requestTarget(new URL("https://example.com")), "/");
  assert.equal(requestTarget(new URL("https://example.com"), "authority"), "example.com:443");
  assert.equal(requestTarget(new URL("http://[::1]/x"), "authority"), "[::1]:80");
});

test("writer heads stay intact when more requests are serialised", async () => {
  const first = serializeRequest("GET", "/first", HOST, null);
  const text = await wire(first);
  for (let i = 0; i < 2000; i++) serializeRequest("POST", `/other/${i}`, HOST, "x".repeat(i % 50));
  assert.equal(await wire(first), text);
  const big = serializeRequest("POST", "/", HOST, "y".repeat(10_000));
  assert.equal(big.head.length, 61 + 10_000);
  assert.ok((await wire(big)).endsWith("Content-Length: 10000\r\n\r\n" + "y".repeat(10_000)));
});

test("writer refuses a locked stream body when it starts reading it", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("x"));
      controller.close();
    },
  });
  const reader = stream.getReader();
  const { body } = serializeRequest("POST", "/", HOST, stream);
  await assert.rejects(wire({ head: new Uint8Array(0), body }), StreamConsumed);
  reader.releaseLock();
});

test("writer refuses control characters other than HTAB in header values", async () => {
  for (const code of [0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f]) {
    const value = `a${String.fromCharCode(code)}b`;
    assert.throws(
      () => serializeRequest("GET", "/", [...HOST, ["X-Evil", value]], null),
      (error) =>
        error instanceof LocalProtocolError &&
        error.message === `Invalid value of header "X-Evil": ${JSON.stringify(value)}`,
      `0x${code.toString(16)}`,
    );
  }
  // HTAB and obs-text (0x80-0xFF) stay allowed.
  assert.equal(
    await wire(serializeRequest("GET", "/", [...HOST, ["X-Ok", "a\tb\u00e9"]], null)),
    "GET / HTTP/1.1\r\nHost: example.com\r\nX-Ok: a\tb\u00e9\r\n\r\n",
  );
});

test("writer refuses a second Host header, whatever its case", () => {
  assert.throws(
    () => serializeRequest("GET", "/", [...HOST, ["host", "evil.example"]], null),
    (error) =>
      error instanceof LocalProtocolError &&
      error.message === 'More than one Host header: "evil.example"',
  );
});

test("the client sends nothing when a header value or a second Host is refused", async () => {
  const backend = new MemoryNetworkBackend(async (stream) => {
    for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
      written += decoder.decode(part);
    }
    await stream.close();
  });
  let written = "";
  await using client = new Client({ transport: new ConnectionPool({ backend }) });
  await assert.rejects(
    client.get("http://example.test/", { headers: { "X-Evil": "a\x1bb" } }),
    LocalProtocolError,
  );
  await assert.rejects(
    client.get("http://example.test/", {
      headers: [["Host", "a.example"], ["Host", "b.example"]],
    }),
    /More than one Host header: "b.example"/,
  );
  await client.close();
  await Promise.all(backend.served);
  assert.equal(written, "");
});

test("the caller's Host replaces the default one", async () => {
  let written = "";
  const backend = new MemoryNetworkBackend(async (stream) => {
    const part = await stream.read();
    written += decoder.decode(part);
    await stream.write(encoder.encode("HTTP/1.1 204 No Content\r\n\r\n"));
    await stream.close();
  });
  await using client = new Client({ transport: new ConnectionPool({ backend }) });
  await client.get("http://example.test/", { headers: { host: "virtual.example" } });
  await client.close();
  await Promise.all(backend.served);
  assert.equal(written.match(/^host:/gim)?.length, 1, written);
  assert.match(written, /^host: virtual\.example\r$/im);
});
