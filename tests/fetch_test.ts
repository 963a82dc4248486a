/**
 * The fetch adapter (`client.fetch`, the root `fetch`): the WHATWG semantics that code
 * written for `fetch` observes, against `node:http` servers on loopback.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { runtime, test } from "./_harness.ts";
import { type Echo, echo, serveHttp } from "./_http_server.ts";
import { eventWithin } from "./_sse.ts";
import {
  Client,
  ConnectError,
  fetch as rootFetch,
  StreamConsumed,
  TooManyRedirects,
} from "../mod.ts";
import { closeDefaultFetchClient } from "../src/fetch.ts";
import { modUrl, runScript } from "./_child.ts";

const decoder = new TextDecoder();

async function echoed(response: Response): Promise<Echo> {
  assert.equal(response.status, 200);
  return await response.json() as Echo;
}

test("client.fetch returns the runtime's Response with status, headers, url and a body", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(201, "Made It", { "x-one": "1", "content-type": "text/plain" });
    response.end("hello");
  });
  await using client = new Client();
  const { fetch } = client; // detached, as SDKs hold it
  const response = await fetch(`${server.origin}/path?q=1#frag`);
  assert.ok(response instanceof Response);
  assert.equal(response.status, 201);
  assert.equal(response.statusText, "Made It");
  assert.equal(response.ok, true);
  assert.equal(response.headers.get("x-one"), "1");
  assert.equal(response.url, `${server.origin}/path?q=1`);
  assert.equal(response.redirected, false);
  assert.equal(response.type, "basic");
  assert.ok(response.body instanceof ReadableStream);
  assert.equal(await response.text(), "hello");
  assert.equal(fetch.Response, Response);
  assert.equal(client.fetch, fetch);
  const copy = (await fetch(server.origin)).clone();
  assert.equal(copy.url, `${server.origin}/`);
  await copy.text();
});

test("client.fetch sends the default headers undici sends, and the caller's win", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const plain = await echoed(await client.fetch(server.origin));
  assert.equal(plain.method, "GET");
  assert.equal(plain.headers["accept"], "*/*");
  assert.equal(plain.headers["accept-language"], "*");
  assert.equal(plain.headers["sec-fetch-mode"], "cors");
  assert.match(plain.headers["accept-encoding"], /gzip/);
  assert.match(plain.headers["user-agent"], /^ferry\//);
  const custom = await echoed(
    await client.fetch(server.origin, { headers: { Accept: "text/html", "User-Agent": "me" } }),
  );
  assert.equal(custom.headers["accept"], "text/html");
  assert.equal(custom.headers["user-agent"], "me");
});

test("client.fetch takes headers as Headers, a record or pairs (repeated names kept)", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const inits: HeadersInit[] = [
    new Headers([["x-a", "1"], ["x-b", "2"]]),
    { "x-a": "1", "x-b": "2" },
    [["x-a", "1"], ["x-b", "2"]],
  ];
  for (const headers of inits) {
    const got = await echoed(await client.fetch(server.origin, { headers }));
    assert.equal(got.headers["x-a"], "1");
    assert.equal(got.headers["x-b"], "2");
  }
  const pairs = await echoed(
    await client.fetch(server.origin, { headers: [["x-n", "1"], ["x-n", "2"]] }),
  );
  assert.equal(pairs.headers["x-n"], "1, 2");
  await assert.rejects(
    client.fetch(server.origin, { headers: { "bad name": "x" } }),
    TypeError,
  );
});

test("client.fetch(request) takes the method, headers, body and signal from a Request", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const request = new Request(`${server.origin}/items`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-id": "7" },
    body: JSON.stringify({ a: 1 }),
  });
  const got = await echoed(await client.fetch(request));
  assert.equal(got.method, "POST");
  assert.equal(got.url, "/items");
  assert.equal(got.headers["x-id"], "7");
  assert.equal(got.headers["content-type"], "application/json");
  assert.equal(got.headers["content-length"], "7");
  assert.equal(got.body, '{"a":1}');
  assert.equal(request.bodyUsed, true);
  await assert.rejects(client.fetch(request), /already read/);

  // init overrides the Request's fields
  const over = await echoed(
    await client.fetch(new Request(`${server.origin}/x`, { method: "PUT", body: "old" }), {
      method: "PATCH",
      body: "new",
      headers: { "x-over": "yes" },
    }),
  );
  assert.equal(over.method, "PATCH");
  assert.equal(over.body, "new");
  assert.equal(over.headers["x-over"], "yes");

  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    client.fetch(new Request(server.origin, { signal: controller.signal })),
    (error: Error) => error.name === "AbortError",
  );
});

test("client.fetch extracts each body type as fetch does, with its Content-Type", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const post = async (body: BodyInit, headers?: HeadersInit) =>
    await echoed(await client.fetch(server.origin, { method: "POST", body, headers }));

  let got = await post("héllo");
  assert.equal(got.body, "héllo");
  assert.equal(got.headers["content-type"], "text/plain;charset=UTF-8");
  assert.equal(got.headers["content-length"], "6");

  got = await post(new URLSearchParams({ a: "1", b: "x y" }));
  assert.equal(got.body, "a=1&b=x+y");
  assert.equal(got.headers["content-type"], "application/x-www-form-urlencoded;charset=UTF-8");

  got = await post(new Blob(["blob"], { type: "text/x-blob" }));
  assert.equal(got.body, "blob");
  assert.equal(got.headers["content-type"], "text/x-blob");
  assert.equal(got.headers["content-length"], "4");

  got = await post(new TextEncoder().encode("abc").buffer as ArrayBuffer);
  assert.equal(got.body, "abc");
  assert.equal(got.headers["content-type"], undefined);

  const view = new TextEncoder().encode("xxmiddlexx").subarray(2, 8);
  got = await post(view);
  assert.equal(got.body, "middle");
  got = await post(new DataView(view.buffer, view.byteOffset, view.byteLength));
  assert.equal(got.body, "middle");

  // The caller's Content-Type wins over the body's.
  got = await post("{}", { "Content-Type": "application/json" });
  assert.equal(got.headers["content-type"], "application/json");

  // The runtime encodes a FormData (Bun adds ";charset=utf-8" to a text Blob's type).
  const form = new FormData();
  form.append("field", "value");
  form.append("file", new Blob(["file body"], { type: "text/plain" }), "a.txt");
  got = await post(form);
  const boundary = /^multipart\/form-data; ?boundary=(.+)$/.exec(got.headers["content-type"]);
  assert.ok(boundary, got.headers["content-type"]);
  assert.ok(got.body.includes(`--${boundary[1]}`));
  assert.match(got.body, /name="field"\r\n\r\nvalue\r\n/);
  assert.match(
    got.body,
    /name="file"; filename="a.txt"\r\nContent-Type: text\/plain[^\r]*\r\n\r\nfile body/,
  );
  assert.equal(Number(got.headers["content-length"]), new TextEncoder().encode(got.body).length);
});

test("client.fetch streams a ReadableStream body with duplex: half (chunked)", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const stream = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("one,"));
        controller.enqueue(new TextEncoder().encode("two"));
        controller.close();
      },
    });
  const got = await echoed(
    await client.fetch(server.origin, { method: "POST", body: stream(), duplex: "half" }),
  );
  assert.equal(got.body, "one,two");
  assert.equal(got.headers["transfer-encoding"], "chunked");
  await assert.rejects(
    client.fetch(server.origin, { method: "POST", body: stream() }),
    (error: Error) => error instanceof TypeError && /duplex/.test(error.message),
  );
  const strings = new ReadableStream({
    start(controller) {
      controller.enqueue("not bytes");
      controller.close();
    },
  });
  await assert.rejects(
    client.fetch(server.origin, { method: "POST", body: strings, duplex: "half" }),
    (error: Error) => error instanceof TypeError && error.message === "fetch failed",
  );
});

test("client.fetch rejects bad methods and a body on GET or HEAD with a TypeError", async () => {
  await using client = new Client();
  const url = "http://127.0.0.1:9/";
  await assert.rejects(
    client.fetch(url, { method: "GET", body: "x" }),
    /GET method cannot have body/,
  );
  await assert.rejects(client.fetch(url, { method: "HEAD", body: "x" }), /HEAD method/);
  await assert.rejects(client.fetch(url, { method: "BAD METHOD" }), /Invalid method "BAD METHOD"/);
  await assert.rejects(client.fetch(url, { method: "connect" }), /Forbidden method "connect"/);
  await assert.rejects(client.fetch(url, { redirect: "sideways" as RequestRedirect }), /redirect/);
  await assert.rejects(client.fetch("/relative"), (error: Error) => error instanceof TypeError);
});

test("a network failure rejects with TypeError('fetch failed') caused by Ferry's error", async () => {
  const server = await serveHttp(echo);
  const origin = server.origin;
  await server.close();
  await using client = new Client();
  await assert.rejects(client.fetch(origin), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, "fetch failed");
    assert.ok(error.cause instanceof ConnectError, String(error.cause));
    return true;
  });
});

test("an abort rejects with the signal's reason, before, during and after the headers", async () => {
  let release: () => void = () => {};
  await using server = await serveHttp(async (request, response) => {
    if (request.url === "/slow") {
      await new Promise<void>((resolve) => release = resolve);
      response.end("late");
      return;
    }
    response.writeHead(200);
    response.write("first");
  });
  await using client = new Client();

  const already = new AbortController();
  already.abort();
  await assert.rejects(client.fetch(server.origin, { signal: already.signal }), (error) => {
    assert.ok(error instanceof DOMException);
    assert.equal(error.name, "AbortError");
    return true;
  });

  const waiting = new AbortController();
  const pending = client.fetch(`${server.origin}/slow`, { signal: waiting.signal });
  const reason = new Error("gave up");
  setTimeout(() => waiting.abort(reason), 20);
  await assert.rejects(pending, (error) => error === reason);
  release();

  const reading = new AbortController();
  const response = await client.fetch(`${server.origin}/body`, { signal: reading.signal });
  const reader = response.body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "first");
  reading.abort();
  await assert.rejects(reader.read(), (error: Error) => error.name === "AbortError");
});

test("redirects: followed by default, 303 turns into GET, the response knows its URL", async () => {
  await using server = await serveHttp((request, response, body) => {
    if (request.url === "/see-other") {
      response.writeHead(303, { location: "/final" }).end();
    } else if (request.url === "/temporary") {
      response.writeHead(307, { location: "/final" }).end();
    } else echo(request, response, body);
  });
  await using client = new Client();
  let response = await client.fetch(`${server.origin}/see-other`, { method: "POST", body: "x" });
  let got = await echoed(response);
  assert.equal(got.method, "GET");
  assert.equal(got.body, "");
  assert.equal(response.url, `${server.origin}/final`);
  assert.equal(response.redirected, true);

  response = await client.fetch(`${server.origin}/temporary`, { method: "PUT", body: "kept" });
  got = await echoed(response);
  assert.equal(got.method, "PUT");
  assert.equal(got.body, "kept");

  // A stream body cannot be sent again: fetch fails, as the standard says.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array([1]));
      controller.close();
    },
  });
  await assert.rejects(
    client.fetch(`${server.origin}/temporary`, { method: "PUT", body: stream, duplex: "half" }),
    (error: Error) => error.message === "fetch failed" && error.cause instanceof StreamConsumed,
  );
});

test("redirects: Authorization is dropped across origins and kept on the same origin", async () => {
  await using other = await serveHttp(echo);
  await using server = await serveHttp((request, response, body) => {
    if (request.url === "/away") response.writeHead(302, { location: `${other.origin}/` }).end();
    else if (request.url === "/here") response.writeHead(302, { location: "/echo" }).end();
    else echo(request, response, body);
  });
  await using client = new Client();
  const headers = { authorization: "Bearer secret", "x-keep": "1" };
  const away = await echoed(await client.fetch(`${server.origin}/away`, { headers }));
  assert.equal(away.headers["authorization"], undefined);
  assert.equal(away.headers["x-keep"], "1");
  const here = await echoed(await client.fetch(`${server.origin}/here`, { headers }));
  assert.equal(here.headers["authorization"], "Bearer secret");
});

test("redirects: at most 20 followed; manual returns the 3xx; error rejects", async () => {
  await using server = await serveHttp((request, response) => {
    const n = Number(request.url!.slice(1));
    response.writeHead(302, { location: `/${n + 1}` }).end();
  });
  await using client = new Client();
  await assert.rejects(
    client.fetch(`${server.origin}/0`),
    (error: Error) => error.message === "fetch failed" && error.cause instanceof TooManyRedirects,
  );
  const manual = await client.fetch(`${server.origin}/0`, { redirect: "manual" });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get("location"), "/1");
  assert.equal(manual.redirected, false);
  await manual.body?.cancel();
  await assert.rejects(
    client.fetch(`${server.origin}/0`, { redirect: "error" }),
    (error: Error) =>
      error.message === "fetch failed" && error.cause instanceof TooManyRedirects &&
      /redirect mode is "error"/.test(error.cause.message),
  );
  // ky passes a Request: its redirect mode counts.
  const fromRequest = await client.fetch(
    new Request(`${server.origin}/0`, { redirect: "manual" }),
  );
  assert.equal(fromRequest.status, 302);
  await fromRequest.body?.cancel();
});

test("Set-Cookie stays separate; the root fetch keeps no cookies, client.fetch uses the jar", async () => {
  await using server = await serveHttp((request, response, body) => {
    if (request.url === "/set") {
      response.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
      response.end();
    } else echo(request, response, body);
  });
  try {
    const set = await rootFetch(`${server.origin}/set`);
    assert.deepEqual(set.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
    await set.body?.cancel();
    const after = await echoed(await rootFetch(`${server.origin}/echo`));
    assert.equal(after.headers["cookie"], undefined);
  } finally {
    await closeDefaultFetchClient();
  }
  await using client = new Client();
  await (await client.fetch(`${server.origin}/set`)).arrayBuffer();
  const withJar = await echoed(await client.fetch(`${server.origin}/echo`));
  assert.equal(withJar.headers["cookie"], "a=1; b=2");
});

test("client.fetch decompresses gzip transparently and keeps the headers as sent", async () => {
  const text = "squeeze me ".repeat(100);
  await using server = await serveHttp((_request, response) => {
    response.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" });
    response.end(gzipSync(text));
  });
  await using client = new Client();
  const response = await client.fetch(server.origin);
  assert.equal(response.headers.get("content-encoding"), "gzip");
  assert.equal(await response.text(), text);
});

test("HEAD, 204 and 304 responses have a null body", async () => {
  await using server = await serveHttp((request, response) => {
    if (request.url === "/204") response.writeHead(204).end();
    else if (request.url === "/304") response.writeHead(304).end();
    else {response.writeHead(200, { "content-length": "5" }).end(
        request.method === "HEAD" ? undefined : "hello",
      );}
  });
  await using client = new Client();
  const head = await client.fetch(server.origin, { method: "HEAD" });
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), "5");
  assert.equal((await client.fetch(`${server.origin}/204`)).body, null);
  assert.equal((await client.fetch(`${server.origin}/304`)).body, null);
  // The connection went back to the pool each time.
  assert.equal(await (await client.fetch(server.origin)).text(), "hello");
  assert.equal(server.connections, 1);
});

test("the body streams chunk by chunk, and cancelling it closes the connection", async () => {
  let next: () => void = () => {};
  let socketClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => socketClosed = resolve);
  await using server = await serveHttp(async (request, response) => {
    request.socket.on("close", () => socketClosed());
    response.writeHead(200, { "content-type": "text/plain" });
    for (let i = 0;; i++) {
      if (response.destroyed) return;
      response.write(`chunk ${i}\n`);
      await new Promise<void>((resolve) => next = resolve);
    }
  });
  await using client = new Client();
  const response = await client.fetch(server.origin);
  const reader = response.body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "chunk 0\n");
  next(); // the server sends the second chunk only once the first arrived
  assert.equal(decoder.decode((await reader.read()).value), "chunk 1\n");
  await reader.cancel();
  // An unfinished body cannot be reused: its connection is closed.
  await eventWithin(closed, "the server saw the connection close");
});

test("a body cut short errors the stream with TypeError('terminated')", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(200, { "content-length": "100" });
    response.write("only ten b");
    setTimeout(() => response.socket?.destroy(), 10);
  });
  await using client = new Client();
  const response = await client.fetch(server.origin);
  await assert.rejects(response.text(), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, "terminated");
    assert.ok(error.cause instanceof Error);
    return true;
  });
});

test("client.fetch answers data: URLs (OpenAI's SDK may probe with one)", async () => {
  await using client = new Client();
  const response = await client.fetch("data:text/plain,hi%20there");
  assert.equal(await response.text(), "hi there");
});

test("client.fetch goes through the client: base URL, default headers, timeouts", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client({ baseUrl: server.origin, headers: { "x-client": "c" } });
  const got = await echoed(await client.fetch("/relative"));
  assert.equal(got.url, "/relative");
  assert.equal(got.headers["x-client"], "c");
});

test("the root fetch leaves nothing that keeps the process alive", {
  denoOnly: "runs a Deno child process",
}, async () => {
  await using server = await serveHttp((_request, response) => response.end("done"));
  const { runDenoScript } = await import("./_child.ts");
  const modUrl = new URL("../mod.ts", import.meta.url).href;
  const result = await runDenoScript(
    `import { fetch } from ${JSON.stringify(modUrl)};
     const response = await fetch(${JSON.stringify(server.origin)});
     console.log(await response.text());`,
  );
  assert.equal(result.output.trim(), "done");
  assert.equal(result.code, 0);
  assert.equal(runtime, "deno");
});

/** A JSON body of about `size` bytes: small ones come whole with the head, large ones do not. */
function jsonOfSize(size: number): string {
  return JSON.stringify({ n: "x".repeat(Math.max(0, size - 8)) });
}

for (const [kind, size] of [["whole with its head", 7], ["streamed", 300_000]] as const) {
  test(`reading a body whole marks it used and locks its stream, as fetch does (${kind})`, async () => {
    const body = jsonOfSize(size);
    await using server = await serveHttp((_request, response) => response.end(body));
    await using client = new Client();
    for (const read of ["arrayBuffer", "bytes", "text", "json"] as const) {
      const response = await client.fetch(server.origin);
      assert.equal(response.bodyUsed, false);
      const value = await response[read]();
      const text = typeof value === "string"
        ? value
        : value instanceof ArrayBuffer || value instanceof Uint8Array
        ? decoder.decode(value)
        : JSON.stringify(value);
      assert.equal(text, body, read);
      assert.equal(response.bodyUsed, true, read);
      assert.equal(response.body!.locked, true, read);
      await assert.rejects(response.text(), TypeError);
      assert.throws(() => response.clone(), TypeError);
    }
    // A body already being read through its stream is not read again past it.
    const partly = await client.fetch(server.origin);
    const reader = partly.body!.getReader();
    await assert.rejects(partly.text(), TypeError);
    const chunks: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    assert.equal(decoder.decode(await new Blob(chunks as BlobPart[]).arrayBuffer()), body);
  });
}

test("a body that came whole frees its connection at once, read or not", async () => {
  // One connection, no pool wait allowed: each fetch needs the one before to have given its
  // connection back, with the body never read and nothing collected.
  await using server = await serveHttp((_request, response) => response.end("small"));
  await using client = new Client({ limits: { maxConnections: 1 }, timeout: { pool: 0 } });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await client.fetch(server.origin)).status);
  assert.deepEqual(statuses, [200, 200, 200]);
  // The bytes are the web Response's own: it reads, clones and tees as the runtime's does.
  const response = await client.fetch(server.origin);
  const copy = response.clone();
  assert.deepEqual(await Promise.all([response.text(), copy.text()]), ["small", "small"]);
  assert.equal(response.bodyUsed, true);
});

test("clone() tees the body: both copies read it whole and keep url and redirected", async () => {
  await using server = await serveHttp((request, response) => {
    if (request.url === "/from") response.writeHead(302, { location: "/to" }).end();
    else response.end("twice");
  });
  await using client = new Client();
  const response = await client.fetch(`${server.origin}/from`);
  const copy = response.clone();
  assert.equal(copy.url, `${server.origin}/to`);
  assert.equal(copy.redirected, true);
  assert.equal(copy.type, "basic");
  assert.deepEqual(await Promise.all([response.text(), copy.text()]), ["twice", "twice"]);
});

test("a body cut short errors a reader too, and an abort ends text()", async () => {
  let release: () => void = () => {};
  await using server = await serveHttp(async (request, response) => {
    response.writeHead(200, { "content-length": "100" });
    response.write("only ten b");
    if (request.url === "/cut") setTimeout(() => response.socket?.destroy(), 10);
    else await new Promise<void>((resolve) => release = resolve);
  });
  await using client = new Client();
  const reader = (await client.fetch(`${server.origin}/cut`)).body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "only ten b");
  await assert.rejects(reader.read(), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, "terminated");
    return true;
  });
  const controller = new AbortController();
  const response = await client.fetch(`${server.origin}/hang`, { signal: controller.signal });
  const text = response.text();
  const reason = new Error("stop reading");
  controller.abort(reason);
  await assert.rejects(text, (error) => error === reason);
  release();
});

test("client.fetch over HTTP/2 (h2c): one connection, streamed bodies, cancel resets the stream", async () => {
  const { h2Server, answer } = await import("./_h2_servers.ts");
  await using server = await h2Server({
    "/": answer(),
    "/endless": (stream) => {
      stream.respond({ ":status": 200 });
      stream.write("first");
    },
  });
  await using client = new Client({ http1: false, http2: true });
  const responses = await Promise.all(
    ["/", "/", "/"].map((path) => client.fetch(`${server.origin}${path}`, { method: "PUT" })),
  );
  assert.deepEqual(await Promise.all(responses.map((r) => r.text())), [
    "PUT /",
    "PUT /",
    "PUT /",
  ]);
  assert.equal(server.sessions.length, 1);
  const endless = await client.fetch(`${server.origin}/endless`);
  const reader = endless.body!.getReader();
  assert.equal(decoder.decode((await reader.read()).value), "first");
  const closed = server.streamClosed("/endless");
  await reader.cancel();
  assert.notEqual(await eventWithin(closed, "the server saw the stream end"), 0);
});

test("a fetch Response dropped unread gives its connection back once collected", async () => {
  // As undici does: `if (!response.ok) throw …` without reading the body must not keep
  // the connection busy for good. One connection: each fetch after the first waits for
  // the one before to be collected (the pool limit would fail it otherwise).
  const script = `
    import { createServer } from "node:http";
    import { setFlagsFromString } from "node:v8";
    import { runInNewContext } from "node:vm";
    import { Client } from ${JSON.stringify(modUrl)};
    setFlagsFromString("--expose-gc");
    const gc = globalThis.Bun ? () => globalThis.Bun.gc(true) : runInNewContext("gc");
    // Large enough not to come whole with the head (a whole body frees the connection at once).
    const server = createServer((_request, response) => response.end("x".repeat(300000)));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = "http://127.0.0.1:" + server.address().port + "/";
    const client = new Client({ limits: { maxConnections: 1 }, timeout: { pool: 5000 } });
    const statusOnly = async () => (await client.fetch(url)).status;
    const statuses = [];
    try {
      for (let i = 0; i < 3; i++) {
        const status = statusOnly();
        statuses.push(await status);
        gc();
      }
      console.log("statuses " + JSON.stringify(statuses));
    } catch (error) {
      console.log("failed " + error + " " + error.cause);
    }
    await client.close();
    server.close();
  `;
  const { code, output } = await runScript(script);
  assert.equal(code, 0, output);
  assert.match(output, /statuses \[200,200,200\]/, output);
});

test("a client.fetch Response returned from Deno.serve reaches its caller whole", {
  denoOnly: "Deno.serve is Deno's",
}, async () => {
  // A proxy: what client.fetch answers is what Deno.serve sends on, status, headers and
  // body, for a body that came whole (bytes) and one that did not (a stream).
  const large = "y".repeat(300_000);
  await using upstream = await serveHttp((request, response) => {
    response.setHeader("x-upstream", "yes");
    response.setHeader("set-cookie", ["a=1", "b=2"]);
    response.writeHead(201, { "content-type": "text/x-ferry" });
    response.end(request.url === "/large" ? large : "small body");
  });
  await using client = new Client();
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  const controller = new AbortController();
  const proxy = deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen() {} },
    (request: Request) => client.fetch(upstream.origin + new URL(request.url).pathname),
  );
  try {
    for (const [path, body] of [["/small", "small body"], ["/large", large]]) {
      const response = await fetch(`http://127.0.0.1:${proxy.addr.port}${path}`);
      assert.equal(response.status, 201, path);
      assert.equal(response.headers.get("x-upstream"), "yes", path);
      assert.equal(response.headers.get("content-type"), "text/x-ferry", path);
      assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"], path);
      assert.equal(await response.text(), body, path);
    }
  } finally {
    controller.abort();
    await proxy.finished;
  }
});
