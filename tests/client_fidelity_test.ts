/**
 * The Client as httpx behaves, checked on the wire where it matters (real sockets on
 * loopback): request targets, header decoding, redirects, URLs without a host, streams
 * after close(), Digest retries, encodings, multipart boundaries and error messages.
 * Expected values come from httpx 0.28.1 (`client.get(url).request.url.raw_path`,
 * `str(error)`), noted beside each case.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import { cannedServer, ok } from "./_servers.ts";
import { answer, h2Server } from "./_h2_servers.ts";
import { CA_CERT } from "./_tls_fixtures.ts";
import {
  Client,
  ConnectionPool,
  DecodingError,
  DigestAuth,
  Headers,
  LocalProtocolError,
  MockTransport,
  ReadTimeout,
  Request,
  Response,
  StreamClosed,
  UnsupportedProtocol,
} from "../mod.ts";

/** The request target of each request head a server received. */
function targets(heads: string[]): string[] {
  return heads.map((head) => head.slice(head.indexOf(" ") + 1, head.indexOf(" HTTP/1.1")));
}

test("the path and query are sent as written, normalised only as httpx does", async () => {
  await using server = await servedOk();
  await using client = new Client();
  // [what the caller wrote, what httpx 0.28.1 sends (url.raw_path)]
  const cases: [string, string][] = [
    ["/a\\b", "/a\\b"],
    ["/a/%2e%2e/b", "/a/%2e%2e/b"],
    ["/~a?x=~&y='", "/~a?x=~&y='"],
    ["/a?", "/a?"],
    ["/a/./b/../c/.", "/a/c"],
    ["/a/..", "/"],
    ["/a^b|c[d]{e}`", "/a^b|c[d]%7Be%7D%60"],
    ["/café?q=é 'x'", "/caf%C3%A9?q=%C3%A9%20'x'"],
    ["/a%zz?%", "/a%zz?%"],
    ["/plain/path.json?page=2", "/plain/path.json?page=2"],
  ];
  for (const [written] of cases) await client.get(server.url + written);
  assert.deepEqual(targets(server.heads), cases.map(([, sent]) => sent));
});

test("params are merged into the query as httpx's QueryParams merge (grouped, in place)", async () => {
  await using server = await servedOk();
  await using client = new Client({ baseUrl: server.url + "/api", params: { lang: "en" } });
  await client.get("/p?a=1&b=2&a=3", { params: { a: "9" } });
  await client.get("/p", { params: { t: "~*" } }); // httpx: t=~%2A
  await client.get("/p\\q?", { params: { x: "1" } }); // the path stays as written
  assert.deepEqual(targets(server.heads), [
    "/api/p?a=9&b=2&lang=en",
    "/api/p?lang=en&t=~%2A",
    "/api/p\\q?lang=en&x=1",
  ]);
});

test("a URL without a host is httpx's UnsupportedProtocol, and nothing is sent", async () => {
  let sent = 0;
  await using client = new Client({
    auth: ["user", "secret"],
    transport: new MockTransport(() => {
      sent++;
      return new Response(200);
    }),
  });
  for (const url of ["http:///api/v1", "https:///x", "http://user:pw@/x", "http://:8080/x"]) {
    await assert.rejects(client.get(url), (error) => {
      assert.ok(error instanceof UnsupportedProtocol, url);
      assert.match(
        error.message,
        /^Request URL is missing an 'http:\/\/' or 'https:\/\/' protocol\. \(GET http/,
      );
      assert.doesNotMatch(error.message, /pw@/);
      return true;
    });
  }
  assert.throws(() => new Request("GET", "http:///api"), UnsupportedProtocol);
  assert.equal(sent, 0);
});

test("header values are decoded as httpx does: UTF-8 when valid, else Latin-1; raw bytes kept", async () => {
  await using server = await cannedServer(() =>
    new Uint8Array([
      ...latin1("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Name: Jos"),
      0xc3,
      0xa9, // "é" in UTF-8
      ...latin1("\r\nX-Old: caf"),
      0xe9, // "é" in Latin-1 (not valid UTF-8)
      ...latin1("\r\nX-Plain: ascii\r\n\r\n"),
    ])
  );
  await using client = new Client();
  const response = await client.get(server.url);
  assert.equal(response.headers.get("x-name"), "José");
  assert.equal(response.headers.get("x-old"), "café");
  assert.equal(response.headers.get("x-plain"), "ascii");
  const raw = new Map(response.headers.raw().map(([n, v]) => [decode(n), [...v]]));
  assert.deepEqual(raw.get("X-Name"), [0x4a, 0x6f, 0x73, 0xc3, 0xa9]);
  assert.deepEqual(raw.get("X-Old"), [0x63, 0x61, 0x66, 0xe9]);
  assert.deepEqual([...new Headers({ "X-Set": "é" }).raw()[0][1]], [0xc3, 0xa9]);
});

test("a redirect to a raw UTF-8 Location lands on the right URL", async () => {
  await using server = await cannedServer((head) =>
    head.startsWith("GET /start ")
      ? new Uint8Array([
        ...latin1("HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: /caf"),
        0xc3,
        0xa9,
        ...latin1("\r\n\r\n"),
      ])
      : ok("done")
  );
  await using client = new Client({ followRedirects: true });
  const response = await client.get(server.url + "/start");
  assert.equal(await response.text(), "done");
  assert.equal(response.url?.pathname, "/caf%C3%A9");
  assert.deepEqual(targets(server.heads), ["/start", "/caf%C3%A9"]);
});

test("a Location without a host keeps the request's host (httpx)", async () => {
  await using server = await cannedServer((head) =>
    head.startsWith("GET /start ")
      ? "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: http:///next\\step\r\n\r\n"
      : ok("done")
  );
  await using client = new Client({ followRedirects: true });
  const response = await client.get(server.url + "/start");
  assert.equal(await response.text(), "done");
  // Resolved against the request's host and port; the path sent as the server wrote it.
  assert.deepEqual(targets(server.heads), ["/start", "/next\\step"]);
});

test("reading a streamed response after close() is StreamClosed", async () => {
  await using server = await servedOk("streamed body");
  await using client = new Client();
  for (const read of ["bytes", "text", "json", "iterBytes", "iterRaw", "iterText"] as const) {
    const response = await client.stream("GET", server.url);
    await response.close();
    await assert.rejects(
      async () => {
        const result = response[read]();
        if (Symbol.asyncIterator in result) {
          for await (const _ of result as AsyncIterable<unknown>) { /* drain */ }
        } else await result;
      },
      StreamClosed,
      read,
    );
  }
  // A body already read stays readable after close(), as in httpx.
  const read = await client.get(server.url);
  await read.close();
  assert.equal(await read.text(), "streamed body");
});

test("Digest: the retry replaces a stale cookie instead of sending it twice", async () => {
  const cookies: (string | null)[] = [];
  await using client = new Client({
    cookies: { sess: "old", other: "kept" },
    auth: new DigestAuth("user", "passwd"),
    transport: new MockTransport((request) => {
      cookies.push(request.headers.get("cookie"));
      if (!request.headers.has("authorization")) {
        return new Response(401, {
          headers: [
            ["WWW-Authenticate", 'Digest realm="r", nonce="n", qop="auth"'],
            ["Set-Cookie", "sess=new; Path=/"],
          ],
        });
      }
      return new Response(200);
    }),
  });
  assert.equal((await client.get("http://example.test/")).status, 200);
  assert.deepEqual(cookies, ["sess=old; other=kept", "other=kept; sess=new"]);
});

test("Digest: the algorithm token is echoed as the server wrote it", async () => {
  const answers: string[] = [];
  await using client = new Client({
    auth: new DigestAuth("user", "passwd"),
    transport: new MockTransport((request) => {
      const authorization = request.headers.get("authorization");
      if (authorization === null) {
        return new Response(401, {
          headers: { "WWW-Authenticate": 'Digest realm="r", nonce="n", algorithm=MD5-sess' },
        });
      }
      answers.push(authorization);
      return new Response(200);
    }),
  });
  await client.get("http://example.test/a\\b?");
  assert.match(answers[0], /, algorithm=MD5-sess,/);
  // The digest covers the target that is sent.
  assert.match(answers[0], /uri="\/a\\\\b\?"/);
});

test("response.encoding can be set: text() and iterText() decode with it", async () => {
  const latin = new Uint8Array([0x63, 0x61, 0x66, 0xe9]);
  const response = new Response(200, {
    headers: { "Content-Type": "text/plain; charset=utf-8" },
    content: latin,
  });
  assert.equal(response.encoding, "utf-8");
  response.encoding = "iso-8859-1";
  assert.equal(response.encoding, "iso-8859-1");
  assert.equal(await response.text(), "café");
  const streamed = new Response(200, { content: latin });
  streamed.encoding = "latin1";
  let text = "";
  for await (const piece of streamed.iterText()) text += piece;
  assert.equal(text, "café");
  assert.throws(() => {
    streamed.encoding = "no-such-encoding";
  }, /^RangeError: Unknown encoding "no-such-encoding"/);
});

test("json() detects UTF-16 and UTF-32 without a charset, as httpx (BOMs, RFC 4627 patterns)", async () => {
  const doc = '{"a":"é😀"}';
  const utf16le = new Uint8Array(new Uint16Array([...doc].flatMap(units)).buffer);
  const cases: [string, Uint8Array][] = [
    ["utf-8", new TextEncoder().encode(doc)],
    ["utf-8 BOM", new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(doc)])],
    ["utf-16le", utf16le],
    ["utf-16be", swap16(utf16le)],
    ["utf-16le BOM", new Uint8Array([0xff, 0xfe, ...utf16le])],
    ["utf-16be BOM", new Uint8Array([0xfe, 0xff, ...swap16(utf16le)])],
    ["utf-32le", utf32(doc, true)],
    ["utf-32be", utf32(doc, false)],
    ["utf-32le BOM", new Uint8Array([0xff, 0xfe, 0, 0, ...utf32(doc, true)])],
    ["utf-32be BOM", new Uint8Array([0, 0, 0xfe, 0xff, ...utf32(doc, false)])],
  ];
  for (const [name, bytes] of cases) {
    const response = new Response(200, {
      headers: { "Content-Type": "application/json" },
      content: bytes,
    });
    assert.deepEqual(await response.json(), { a: "é😀" }, name);
  }
  // Two-byte documents: `"1"` is not JSON-shaped; a digit is.
  assert.equal(await new Response(200, { content: new Uint8Array([0x37, 0]) }).json(), 7);
  // A declared charset still wins.
  const declared = new Response(200, {
    headers: { "Content-Type": "application/json; charset=iso-8859-1" },
    content: new Uint8Array([0x22, 0xe9, 0x22]),
  });
  assert.equal(await declared.json(), "é");
});

test("a failed json() is a SyntaxError that names the response and its request", async () => {
  const response = new Response(502, {
    content: "<html>Bad gateway</html>",
    request: new Request("GET", "https://user:pw@api.example/items?page=2"),
  });
  await assert.rejects(response.json(), (error) => {
    assert.ok(error instanceof SyntaxError);
    assert.match(
      error.message,
      /^Invalid JSON in the body of <Response \[502 Bad Gateway\]> \(GET https:\/\/api\.example\/items\?page=2\): /,
    );
    assert.ok((error as Error).cause instanceof SyntaxError);
    return true;
  });
});

test("every RequestError names the method and URL: a read timeout on a real socket", async () => {
  await using server = await cannedServer(() => null); // never answers
  await using client = new Client({ timeout: { read: 50 } });
  const url = server.url.replace("http://", "http://user:secret@") + "/slow?q=1";
  await assert.rejects(client.post(url, { content: "x" }), (error) => {
    assert.ok(error instanceof ReadTimeout);
    assert.equal(
      error.message,
      `Read timed out after 50 ms (POST ${server.url}/slow?q=1)`,
    );
    assert.equal(String(error.stack).split("\n")[0], `ReadTimeout: ${error.message}`);
    return true;
  });
});

test("a multipart boundary declared in Content-Type is the one the body uses", async () => {
  const bodies: string[] = [];
  await using client = new Client({
    transport: new MockTransport(async (request) => {
      bodies.push(new TextDecoder().decode(await request.bytes()));
      return new Response(200, { content: request.headers.get("content-type") ?? "" });
    }),
  });
  for (
    const [declared, boundary] of [
      ["multipart/form-data; boundary=myboundary", "myboundary"],
      ['multipart/form-data; boundary="with space"', "with space"],
      ["multipart/mixed;boundary=Mixed-1", "Mixed-1"],
    ]
  ) {
    const response = await client.post("http://x/", {
      headers: { "Content-Type": declared },
      data: { a: "1" },
      files: { f: ["f.txt", "F"] },
    });
    assert.equal(await response.text(), declared); // the caller's header, untouched
    const body = bodies.at(-1)!;
    assert.ok(body.startsWith(`--${boundary}\r\n`), body);
    assert.ok(body.endsWith(`--${boundary}--\r\n`), body);
    const form = new FormData();
    form.append("x", "y");
    await client.post("http://x/", { headers: { "Content-Type": declared }, content: form });
    assert.ok(bodies.at(-1)!.startsWith(`--${boundary}\r\n`));
  }
  // A boundary RFC 2046 does not allow is refused before anything is sent.
  assert.throws(
    () =>
      client.buildRequest("POST", "http://x/", {
        headers: { "Content-Type": "multipart/form-data; boundary=bad\u0001" },
        files: { f: ["f.txt", "F"] },
      }),
    (error) =>
      error instanceof LocalProtocolError && /Invalid multipart boundary/.test(error.message),
  );
});

test("send() given a web Request says what to do, and the advice works", async () => {
  await using server = await servedOk("hi");
  await using client = new Client();
  const web = () =>
    new globalThis.Request(server.url + "/echo", {
      method: "POST",
      headers: { "X-A": "1" },
      body: "payload",
    });
  await assert.rejects(
    client.send(web() as unknown as Request),
    /^TypeError: Invalid request: client\.send\(\) takes Ferry's Request, not a web Request; send a web Request with client\.fetch\(request\)/,
  );
  await assert.rejects(
    client.send({} as Request),
    /^TypeError: Invalid request "\[object Object\]"/,
  );
  const response = await client.fetch(web());
  assert.equal(await response.text(), "hi");
  assert.match(server.heads[0], /^POST \/echo HTTP\/1\.1\r\n/);
  assert.match(server.heads[0], /\r\nX-A: 1\r\n/i);
});

// -- helpers --------------------------------------------------------------------------------

function servedOk(body = "ok") {
  return cannedServer(() => ok(body));
}

function latin1(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

function decode(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function units(char: string): number[] {
  const code = char.codePointAt(0)!;
  if (code < 0x10000) return [code];
  const v = code - 0x10000;
  return [0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff)];
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) [out[i], out[i + 1]] = [bytes[i + 1], bytes[i]];
  return out;
}

function utf32(text: string, littleEndian: boolean): Uint8Array {
  const points = [...text].map((char) => char.codePointAt(0)!);
  const view = new DataView(new ArrayBuffer(points.length * 4));
  points.forEach((point, i) => view.setUint32(i * 4, point, littleEndian));
  return new Uint8Array(view.buffer);
}

test("gzip and what follows it: padding and more members decode, other bytes are a DecodingError", async () => {
  const member = gzipSync("hello world");
  const decode = (tail: number[] | Uint8Array) =>
    new Response(200, {
      headers: { "Content-Encoding": "gzip" },
      content: new Uint8Array([...member, ...tail]),
    }).text();
  assert.equal(await decode([]), "hello world");
  assert.equal(await decode([0, 0, 0, 0]), "hello world"); // zero padding
  assert.equal(await decode(gzipSync(" again")), "hello world again"); // RFC 1952 members
  // The README's decision: stray bytes after the member are not gzip (as undici decides).
  await assert.rejects(decode(latin1("GARBAGE!")), DecodingError);
  await assert.rejects(
    new Response(200, {
      headers: { "Content-Encoding": "gzip" },
      content: member.subarray(0, member.length - 4),
    }).text(),
    DecodingError,
  );
});

test("the pool and a connection refuse a URL without a host too", async () => {
  await using pool = new ConnectionPool();
  for (const url of ["http:///api/v1", "https://user@/x", "http://:8080/"]) {
    await assert.rejects(pool.request("GET", url), (error) => {
      assert.ok(error instanceof UnsupportedProtocol, url);
      assert.match(
        error.message,
        /^Request URL is missing an 'http:\/\/' or 'https:\/\/' protocol\./,
      );
      return true;
    });
  }
});

test("a redirect to an absolute path is followed with the path as the server wrote it (httpx)", async () => {
  await using server = await cannedServer((head) =>
    head.startsWith("GET /start ")
      ? "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: /next\\step/%2e%2e/x?\r\n\r\n"
      : ok("done")
  );
  await using client = new Client({ followRedirects: true });
  const response = await client.get(server.url + "/start#frag");
  assert.equal(await response.text(), "done");
  // httpx 0.28.1 follows it to raw_path b"/next\\step/%2e%2e/x" (its join drops a bare "?").
  assert.deepEqual(targets(server.heads), ["/start", "/next\\step/%2e%2e/x"]);
  assert.equal(response.url?.hash, "#frag"); // the fragment carries over
});

test("over HTTP/2 too, :path is the path and query as written", async () => {
  // The route answers with the method and the :path it received.
  await using server = await h2Server({ "/a\\b/%2e%2e/c": answer() }, { tls: true });
  await using client = new Client({ http2: true, verify: CA_CERT });
  const response = await client.get(`${server.origin}/a\\b/%2e%2e/c?x='y'`);
  assert.equal(response.httpVersion, "HTTP/2");
  assert.equal(await response.text(), "GET /a\\b/%2e%2e/c?x='y'");
});
