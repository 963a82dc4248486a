import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "./_harness.ts";
import {
  type BodySource,
  Client,
  codes,
  Cookies,
  Headers,
  HTTPStatusError,
  LocalProtocolError,
  QueryParams,
  Request,
  Response,
  ResponseNotRead,
  StreamConsumed,
} from "../mod.ts";
import { phaseLimit } from "../src/models/request.ts";

function source(chunks: (string | Uint8Array)[]): BodySource & { closed: boolean } {
  const encoder = new TextEncoder();
  const queue = chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  const result = {
    closed: false,
    read: () => Promise.resolve(queue.shift() ?? null),
    close: () => {
      result.closed = true;
      return Promise.resolve();
    },
  };
  return result;
}

test("Headers: case-insensitive, multi-valued, original case and order on the wire", () => {
  const headers = new Headers([["X-A", "1"], ["x-b", "2"], ["X-a", "3"]]);
  assert.equal(headers.get("x-a"), "1, 3");
  assert.deepEqual(headers.getAll("X-A"), ["1", "3"]);
  assert.deepEqual(headers.pairs(), [["X-A", "1"], ["x-b", "2"], ["X-a", "3"]]);
  headers.set("X-A", "9");
  assert.deepEqual(headers.pairs(), [["X-A", "9"], ["x-b", "2"]]);
  assert.deepEqual(new Headers({ a: ["1", "2"] }).getAll("a"), ["1", "2"]);
  assert.equal(
    new Headers(new globalThis.Headers({ "Content-Type": "x" })).get("content-type"),
    "x",
  );
  assert.equal(String(new Headers({ A: "b" })), '<Headers [("A", "b")]>');
});

test("QueryParams: immutable, multi-valued, grouped by name, merge replaces in place (httpx)", () => {
  const params = new QueryParams("a=1&b=2&b=3");
  assert.deepEqual(params.getAll("b"), ["2", "3"]);
  assert.equal(params.get("missing"), null);
  assert.equal(params.set("b", "x").toString(), "a=1&b=x");
  assert.equal(params.add("c", null).toString(), "a=1&b=2&b=3&c=");
  assert.equal(params.remove("a").toString(), "b=2&b=3");
  assert.equal(params.merge({ a: ["8", "9"] }).toString(), "a=8&a=9&b=2&b=3");
  assert.equal(params.merge({ c: "4", a: "0" }).toString(), "a=0&b=2&b=3&c=4");
  // Repeated names read together where they first appeared: httpx.QueryParams("a=1&b=2&a=3")
  // is "a=1&a=3&b=2".
  assert.equal(new QueryParams("a=1&b=2&a=3").toString(), "a=1&a=3&b=2");
  assert.equal(new QueryParams("a=1&b=2&a=3").merge({ a: "9" }).toString(), "a=9&b=2");
  assert.equal(new QueryParams("a=1&b=2").add("a", "3").toString(), "a=1&a=3&b=2");
  assert.equal(params.toString(), "a=1&b=2&b=3");
  assert.equal(new QueryParams({ t: true, n: 1, s: "a b&c" }).toString(), "t=true&n=1&s=a+b%26c");
  assert.equal(inspect(params), '<QueryParams "a=1&b=2&b=3">');
});

test("Request.bytes() reads a streamed body once and makes it replayable", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array([1, 2]));
      controller.enqueue(new Uint8Array([3]));
      controller.close();
    },
  });
  const request = new Request("POST", "http://x/", { content: stream });
  assert.equal(request.isReplayable, false);
  assert.deepEqual(await request.bytes(), new Uint8Array([1, 2, 3]));
  assert.equal(request.isReplayable, true);
  assert.deepEqual(await request.bytes(), new Uint8Array([1, 2, 3]));
  const text = new Request("POST", "http://x/", { content: "hé" });
  assert.deepEqual(await text.bytes(), new TextEncoder().encode("hé"));
});

test("Response: status families and repr", () => {
  const cases: [number, string][] = [
    [101, "isInformational"],
    [204, "isSuccess"],
    [302, "isRedirect"],
    [404, "isClientError"],
    [503, "isServerError"],
  ];
  for (const [status, family] of cases) {
    const response = new Response(status);
    for (
      const name of ["isInformational", "isSuccess", "isRedirect", "isClientError", "isServerError"]
    ) {
      assert.equal(
        (response as unknown as Record<string, boolean>)[name],
        name === family,
        `${status} ${name}`,
      );
    }
    assert.equal(response.isError, status >= 400);
  }
  assert.equal(String(new Response(404)), "<Response [404 Not Found]>");
  assert.equal(inspect(new Response(200)), "<Response [200 OK]>");
  assert.equal(
    String(new Response(200, { extensions: { reasonPhrase: "Fine" } })),
    "<Response [200 Fine]>",
  );
  assert.equal(new Response(302).hasRedirectLocation, false);
  assert.equal(new Response(302, { headers: { Location: "/" } }).hasRedirectLocation, true);
  assert.equal(new Response(304, { headers: { Location: "/" } }).hasRedirectLocation, false);
});

test("raiseForStatus returns the response when 2xx and throws httpx's exact message otherwise", () => {
  const request = new Request("GET", "https://user:secret@example.com/x?q=1");
  const ok = new Response(200, { request });
  assert.equal(ok.raiseForStatus(), ok);
  const more =
    "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status";
  const cases: [number, Record<string, string>, string][] = [
    [404, {}, `Client error '404 Not Found' for url 'https://example.com/x?q=1'\n${more}/404`],
    [502, {}, `Server error '502 Bad Gateway' for url 'https://example.com/x?q=1'\n${more}/502`],
    [
      301,
      { Location: "/moved" },
      `Redirect response '301 Moved Permanently' for url 'https://example.com/x?q=1'\n` +
      `Redirect location: '/moved'\n${more}/301`,
    ],
    // A 300 is a redirect status but not one a client follows: no location line (httpx).
    [
      300,
      { Location: "/moved" },
      `Redirect response '300 Multiple Choices' for url 'https://example.com/x?q=1'\n${more}/300`,
    ],
    [
      101,
      {},
      `Informational response '101 Switching Protocols' for url 'https://example.com/x?q=1'\n${more}/101`,
    ],
    [600, {}, `Invalid status code '600 ' for url 'https://example.com/x?q=1'\n${more}/600`],
  ];
  for (const [status, headers, message] of cases) {
    const response = new Response(status, { request, headers });
    assert.throws(() => response.raiseForStatus(), (error) => {
      assert.ok(error instanceof HTTPStatusError);
      assert.equal(error.response, response);
      assert.equal(error.request, request);
      assert.equal(error.message, message);
      return true;
    });
  }
});

test("text(): charset from Content-Type, else defaultEncoding (a name or a function)", async () => {
  const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
  const named = new Response(200, {
    headers: { "Content-Type": "text/plain; charset=ISO-8859-1" },
    content: latin1,
  });
  assert.equal(await named.text(), "café");
  assert.equal(named.encoding, "ISO-8859-1");
  const fallback = new Response(200, { content: latin1, defaultEncoding: "latin1" });
  assert.equal(await fallback.text(), "café");
  const guessed = new Response(200, {
    content: latin1,
    defaultEncoding: (body) => body.includes(0xe9) ? "windows-1252" : "utf-8",
  });
  assert.equal(await guessed.text(), "café");
  const unknownCharset = new Response(200, {
    headers: { "Content-Type": "text/plain; charset=no-such-thing" },
    content: "plain",
  });
  assert.equal(unknownCharset.encoding, "utf-8");
  assert.equal(await unknownCharset.text(), "plain");
  const quoted = new Response(200, { headers: { "Content-Type": 'text/html; charset="utf-8"' } });
  assert.equal(quoted.encoding, "utf-8");
});

test("iterText keeps multi-byte characters split across chunks; iterLines splits on any ending", async () => {
  const euro = new TextEncoder().encode("€"); // 3 bytes
  const text = new Response(200, {
    content: source([euro.subarray(0, 1), euro.subarray(1), "!"]),
  });
  let joined = "";
  for await (const piece of text.iterText()) joined += piece;
  assert.equal(joined, "€!");
  const lines = new Response(200, {
    content: source(["one\r", "\ntwo\nth", "ree\rfour\r\n\nlast"]),
  });
  const seen: string[] = [];
  for await (const line of lines.iterLines()) seen.push(line);
  assert.deepEqual(seen, ["one", "two", "three", "four", "", "last"]);
});

test("a body is read once: StreamConsumed after streaming, cached after bytes()", async () => {
  const streamed = new Response(200, { content: source(["a", "b"]) });
  for await (const _ of streamed.iterBytes()) { /* drain */ }
  await assert.rejects(streamed.bytes(), StreamConsumed);
  const read = new Response(200, { content: source(["a", "b"]) });
  assert.throws(() => read.content, ResponseNotRead);
  assert.equal(new TextDecoder().decode(await read.bytes()), "ab");
  assert.equal(new TextDecoder().decode(read.content), "ab");
  assert.equal(await read.text(), "ab");
  assert.equal(read.isRead, true);
  assert.equal(read.isClosed, true);
});

test("body is a ReadableStream; cancelling it closes the source", async () => {
  const whole = new Response(200, { content: source(["x", "y"]) });
  const reader = whole.body.getReader();
  const chunks: string[] = [];
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks.push(new TextDecoder().decode(next.value));
  }
  assert.deepEqual(chunks, ["x", "y"]);
  const body = source(["x", "y", "z"]);
  const cancelled = new Response(200, { content: body });
  const partial = cancelled.body.getReader();
  await partial.read();
  await partial.cancel();
  assert.equal(body.closed, true);
  assert.equal(cancelled.isClosed, true);
});

test("close() and await using release the source once", async () => {
  const body = source(["never read"]);
  {
    await using _response = new Response(200, { content: body });
  }
  assert.equal(body.closed, true);
  const response = new Response(200, { content: source(["a"]) });
  await response.close();
  await response.close();
  assert.equal(response.isClosed, true);
});

test("json() parses; numBytesDownloaded counts what was read", async () => {
  const response = new Response(200, { content: source(['{"a":', "[1,2]}"]) });
  assert.deepEqual(await response.json(), { a: [1, 2] });
  assert.equal(response.numBytesDownloaded, 11);
});

test("query strings are encoded as httpx encodes them (Python's urlencode)", () => {
  // Expected values from Python 3's urllib.parse.urlencode, which httpx uses: `~` kept,
  // `*` escaped (URLSearchParams does the opposite), a space as `+`.
  const cases: [string, string][] = [
    ["plain", "plain=plain"],
    ["a b", "a+b=a+b"],
    ["&=?#/", "%26%3D%3F%23%2F=%26%3D%3F%23%2F"],
    ["é€😀", "%C3%A9%E2%82%AC%F0%9F%98%80=%C3%A9%E2%82%AC%F0%9F%98%80"],
    ["!'()~*-._", "%21%27%28%29~%2A-._=%21%27%28%29~%2A-._"],
    ["%41+", "%2541%2B=%2541%2B"],
    ["", "="],
  ];
  for (const [sample, expected] of cases) {
    assert.equal(new QueryParams([[sample, sample]]).toString(), expected, JSON.stringify(sample));
  }
  // A lone surrogate (which Python refuses) becomes U+FFFD, as URLSearchParams does.
  assert.equal(new QueryParams({ a: "\ud800" }).toString(), "a=%EF%BF%BD");
});

test("iterBytes and iterRaw re-cut the body into chunkSize pieces", async () => {
  const sizes = async (iterator: AsyncIterable<Uint8Array>) => {
    const out: number[] = [];
    for await (const chunk of iterator) out.push(chunk.length);
    return out;
  };
  const body = () => source(["abc", "defgh", "", "ijklmnopq", "r"]);
  assert.deepEqual(await sizes(new Response(200, { content: body() }).iterBytes(4)), [
    4,
    4,
    4,
    4,
    2,
  ]);
  assert.deepEqual(await sizes(new Response(200, { content: body() }).iterRaw(100)), [18]);
  const whole = new Response(200, { content: body() });
  let text = "";
  for await (const chunk of whole.iterBytes(5)) text += new TextDecoder().decode(chunk);
  assert.equal(text, "abcdefghijklmnopqr");
  await assert.rejects(async () => {
    for await (const _ of new Response(200, { content: body() }).iterBytes(0)) { /* none */ }
  }, RangeError);
});

test("links parses the Link header by rel", () => {
  const response = new Response(200, {
    headers: {
      Link:
        '<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel=last; title="Last"',
    },
  });
  assert.deepEqual(response.links, {
    next: { url: "https://api.example.com/items?page=2", rel: "next" },
    last: { url: "https://api.example.com/items?page=9", rel: "last", title: "Last" },
  });
  assert.deepEqual(new Response(200).links, {});
});

test("codes names every standard status", () => {
  assert.equal(codes.OK, 200);
  assert.equal(codes.NOT_FOUND, 404);
  assert.equal(codes.IM_A_TEAPOT, 418);
  assert.equal(codes.REQUEST_HEADER_FIELDS_TOO_LARGE, 431);
  assert.throws(() => {
    (codes as Record<string, number>).OK = 1;
  }, TypeError);
});

test("cookies are the ones this response sets", async () => {
  await Cookies.loadPublicSuffixList(); // for the Domain cookie
  const response = new Response(200, {
    headers: [["Set-Cookie", "a=1; Path=/"], ["Set-Cookie", "b=2; Domain=example.com"]],
    request: new Request("GET", "https://www.example.com/x"),
  });
  assert.equal(response.cookies.get("a"), "1");
  assert.equal(response.cookies.get("b"), "2");
  assert.equal(new Response(200).cookies.size, 0);
});

test("phaseLimit: the request's value when it sets one (null: no limit), else the fallback", () => {
  assert.equal(phaseLimit({ read: null }, "read", 1000), null);
  assert.equal(phaseLimit({ read: 0 }, "read", 1000), 0);
  assert.equal(phaseLimit({ read: 250 }, "connect", 1000), 1000);
  assert.equal(phaseLimit(undefined, "pool", null), null);
  assert.equal(phaseLimit(null, "write", 7), 7);
});

test("a method that is not a token is refused when the request is made, before any connection", async () => {
  for (const method of ["GE\r\nT", "G T", "", "GET\0", "ΓET"]) {
    assert.throws(
      () => new Request(method, "http://example.com/"),
      (error: Error) =>
        error instanceof LocalProtocolError &&
        error.message.startsWith(`Invalid method ${JSON.stringify(method)}`) &&
        !/[\r\n\0]/.test(error.message),
      JSON.stringify(method),
    );
  }
  // Through a client: refused without opening a connection (the transport is never asked).
  let sent = 0;
  const client = new Client({
    transport: { send: () => (sent++, Promise.reject(new Error("sent"))), close: async () => {} },
  });
  await assert.rejects(client.request("GE\r\nT", "http://example.com/"), LocalProtocolError);
  assert.equal(sent, 0);
  // Any token is a method (extension methods included), upper-cased as httpx does.
  assert.equal(new Request("purge", "http://example.com/").method, "PURGE");
  assert.equal(new Request("M-SEARCH", "http://example.com/").method, "M-SEARCH");
  // A method changed by hand afterwards is shown quoted in an error's context.
  const request = new Request("GET", "http://example.com/");
  request.method = "BAD\r\nX";
  const error = new LocalProtocolError("Refused", { request });
  assert.equal(error.message, 'Refused ("BAD\\r\\nX" http://example.com/)');
});

test("header lookups ignore the case of letters only, as toLowerCase() would", () => {
  // Pairs that must not match: characters one bit (0x20) apart that are not letters.
  const headers = new Headers([["A^B", "1"], ["X-Y", "2"], ["@z", "3"], ["Ä-Name", "4"]]);
  assert.equal(headers.get("a^b"), "1");
  assert.equal(headers.has("a~b"), false);
  assert.equal(headers.get("x-y"), "2");
  assert.equal(headers.has("x\ry"), false);
  assert.equal(headers.has("`z"), false);
  assert.equal(headers.get("@Z"), "3");
  assert.equal(headers.get("ä-name"), "4");
  assert.deepEqual(headers.getAll("X-y"), ["2"]);
  headers.set("a~b", "5");
  assert.deepEqual([...headers].map(([name]) => name), ["A^B", "X-Y", "@z", "Ä-Name", "a~b"]);
  headers.delete("A~B");
  headers.delete("x-Y");
  assert.deepEqual([...headers].map(([name]) => name), ["A^B", "@z", "Ä-Name"]);
});
