import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { test } from "./_harness.ts";
import {
  AppTransport,
  Auth,
  Client,
  Cookies,
  DigestAuth,
  HTTPStatusError,
  InvalidURL,
  MockTransport,
  Proxy,
  RemoteProtocolError,
  type Request,
  Response,
  StreamConsumed,
  TooManyRedirects,
  UnsupportedProtocol,
  VERSION,
} from "../mod.ts";

/** A mock that echoes what it received as JSON. */
function echo(): MockTransport {
  return new MockTransport((request) => {
    const body = request.content instanceof Uint8Array
      ? new TextDecoder().decode(request.content)
      : request.content === null
      ? null
      : String(request.content);
    return new Response(200, {
      headers: { "Content-Type": "application/json" },
      content: JSON.stringify({
        method: request.method,
        url: request.url.href,
        headers: request.headers.pairs(),
        body,
        timeout: request.extensions.timeout ?? null,
      }),
    });
  });
}

interface Echo {
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
  timeout: Record<string, number | null>;
}

function header(echoed: Echo, name: string): string | undefined {
  return echoed.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

test("VERSION matches deno.json", () => {
  const config = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
  assert.equal(VERSION, config.version);
});

test("client sends default User-Agent, Accept and Accept-Encoding", async () => {
  await using client = new Client({ transport: echo() });
  const response = await client.get("http://example.com/");
  const echoed = await response.json<Echo>();
  assert.equal(header(echoed, "user-agent"), `ferry/${VERSION}`);
  assert.equal(header(echoed, "accept"), "*/*");
  assert.match(header(echoed, "accept-encoding")!, /gzip, deflate/);
  assert.equal(String(response), "<Response [200 OK]>");
  assert.equal(response.url?.href, "http://example.com/");
  assert.ok(response.elapsed >= 0);
});

test("client merges headers: request values win per name, others are kept", async () => {
  await using client = new Client({
    transport: echo(),
    headers: { "X-Client": "c", "X-Both": "client", "User-Agent": "mine/1" },
  });
  const echoed = await (await client.get("http://example.com/", {
    headers: { "x-both": "request", "X-Request": "r" },
  })).json<Echo>();
  assert.equal(header(echoed, "x-client"), "c");
  assert.equal(header(echoed, "x-both"), "request");
  assert.equal(header(echoed, "x-request"), "r");
  assert.equal(header(echoed, "user-agent"), "mine/1");
  assert.equal(echoed.headers.filter(([n]) => n.toLowerCase() === "x-both").length, 1);
});

test("client merges params: client, request and URL query, request wins per name", async () => {
  await using client = new Client({ transport: echo(), params: { a: "1", b: "client" } });
  const echoed = await (await client.get("http://example.com/p?z=0", {
    params: { b: ["x", "y"], c: "3" },
  })).json<Echo>();
  assert.equal(echoed.url, "http://example.com/p?z=0&a=1&b=x&b=y&c=3");
});

test("client joins relative URLs to baseUrl, keeping the base path", async () => {
  await using client = new Client({ transport: echo(), baseUrl: "http://example.com/api" });
  assert.equal(
    (await (await client.get("/users")).json<Echo>()).url,
    "http://example.com/api/users",
  );
  assert.equal(
    (await (await client.get("items?x=1")).json<Echo>()).url,
    "http://example.com/api/items?x=1",
  );
  assert.equal(
    (await (await client.get("http://other.org/x")).json<Echo>()).url,
    "http://other.org/x",
  );
});

test("a relative URL without baseUrl is httpx's UnsupportedProtocol", async () => {
  await using client = new Client({ transport: echo() });
  await assert.rejects(client.post("/nope"), (error) => {
    assert.ok(error instanceof UnsupportedProtocol);
    assert.equal(
      error.message,
      "Request URL is missing an 'http://' or 'https://' protocol. (POST /nope)",
    );
    return true;
  });
  // The method is named as sent (upper case), whatever case it was given in.
  await assert.rejects(client.request("delete", "/gone"), (error) => {
    assert.ok(error instanceof UnsupportedProtocol);
    assert.match(error.message, /\(DELETE \/gone\)$/);
    return true;
  });
  // A lower-case method is sent in upper case, as httpx does.
  const sent = await (await client.request("patch", "http://x/p")).json<Echo>();
  assert.equal(sent.method, "PATCH");
});

test("a request's headers and the client's are separate: changing one leaves the other", async () => {
  await using client = new Client({ transport: echo(), headers: { "X-Team": "a" } });
  const first = client.buildRequest("GET", "http://x/");
  first.headers.set("X-Team", "changed on the request");
  first.headers.set("Accept", "text/plain");
  first.headers.delete("User-Agent");
  assert.equal(client.headers.get("x-team"), "a");
  assert.equal(client.headers.get("accept"), "*/*");
  assert.ok(client.headers.has("user-agent"));
  client.headers.set("X-Team", "b");
  client.headers.delete("Accept");
  assert.equal(first.headers.get("x-team"), "changed on the request");
  assert.equal(first.headers.get("accept"), "text/plain");
  const echoed = await (await client.get("http://x/")).json<Echo>();
  assert.equal(header(echoed, "x-team"), "b");
  assert.equal(header(echoed, "accept"), undefined);
});

test("timeout: default 5000 ms per phase, number, object and null", async () => {
  await using client = new Client({ transport: echo() });
  const defaults = (await (await client.get("http://x/")).json<Echo>()).timeout;
  assert.deepEqual(defaults, { connect: 5000, read: 5000, write: 5000, pool: 5000 });
  const one = (await (await client.get("http://x/", { timeout: 100 })).json<Echo>()).timeout;
  assert.deepEqual(one, { connect: 100, read: 100, write: 100, pool: 100 });
  const some = (await (await client.get("http://x/", { timeout: { read: 7 } })).json<Echo>())
    .timeout;
  assert.deepEqual(some, { connect: 5000, read: 7, write: 5000, pool: 5000 });
  await using none = new Client({ transport: echo(), timeout: null });
  const off = (await (await none.get("http://x/")).json<Echo>()).timeout;
  assert.deepEqual(off, { connect: null, read: null, write: null, pool: null });
  assert.throws(() => new Client({ timeout: -1 }), RangeError);
  assert.throws(() => new Client({ limits: { maxConnections: 0 } }), /limits.maxConnections "0"/);
  assert.throws(() => new Client({ limits: { keepaliveExpiry: -5 } }), RangeError);
});

test("signal is passed to the transport as an extension", async () => {
  const controller = new AbortController();
  let seen: AbortSignal | undefined;
  await using client = new Client({
    transport: new MockTransport((request) => {
      seen = request.extensions.signal;
      return new Response(204);
    }),
  });
  await client.get("http://x/", { signal: controller.signal });
  assert.equal(seen, controller.signal);
});

test("content, json and data set the body and its headers", async () => {
  await using client = new Client({ transport: echo() });
  const json = await (await client.post("http://x/", { json: { a: [1, 2] } })).json<Echo>();
  assert.equal(json.body, '{"a":[1,2]}');
  assert.equal(header(json, "content-type"), "application/json");
  assert.equal(header(json, "content-length"), "11");
  const form = await (await client.post("http://x/", { data: { a: "1 2", b: ["x", "y"] } }))
    .json<Echo>();
  assert.equal(form.body, "a=1+2&b=x&b=y");
  assert.equal(header(form, "content-type"), "application/x-www-form-urlencoded");
  const text = await (await client.put("http://x/", {
    content: "héllo",
    headers: { "Content-Type": "text/plain" },
  })).json<Echo>();
  assert.equal(text.body, "héllo");
  assert.equal(header(text, "content-length"), "6");
  async function* chunks() {
    yield new TextEncoder().encode("a");
    yield new TextEncoder().encode("b");
  }
  const streamed = await (await client.post("http://x/", { content: chunks() })).json<Echo>();
  assert.equal(streamed.body, "ab");
  assert.equal(header(streamed, "content-length"), undefined);
});

test("a Blob body sends its bytes, size and type", async () => {
  await using client = new Client({ transport: echo() });
  const blob = new Blob(["<p>hi</p>"], { type: "text/html" });
  const echoed = await (await client.post("http://x/", { content: blob })).json<Echo>();
  assert.equal(echoed.body, "<p>hi</p>");
  // Blob#type is the runtime's: Bun adds ";charset=utf-8" to text types.
  assert.match(header(echoed, "content-type")!, /^text\/html/);
  assert.equal(header(echoed, "content-length"), "9");
});

test("event hooks see every request and response, redirects included", async () => {
  const seen: string[] = [];
  await using client = new Client({
    followRedirects: true,
    transport: new MockTransport((request) =>
      request.url.pathname === "/a"
        ? new Response(302, { headers: { Location: "/b" } })
        : new Response(200)
    ),
    eventHooks: {
      request: [(request) => void seen.push(`> ${request.method} ${request.url.pathname}`)],
      response: [(response) => void seen.push(`< ${response.status}`)],
    },
  });
  await client.get("http://x/a");
  assert.deepEqual(seen, ["> GET /a", "< 302", "> GET /b", "< 200"]);
});

test("a response hook can raise for status", async () => {
  await using client = new Client({
    transport: new MockTransport(() => new Response(404)),
    eventHooks: { response: [(response) => void response.raiseForStatus()] },
  });
  await assert.rejects(client.get("http://x/"), HTTPStatusError);
});

test("redirects are not followed by default; nextRequest says where", async () => {
  await using client = new Client({
    transport: new MockTransport(() =>
      new Response(301, { headers: { Location: "https://y.example/next" } })
    ),
  });
  const response = await client.get("http://x/");
  assert.equal(response.status, 301);
  assert.ok(response.isRedirect && response.hasRedirectLocation);
  assert.equal(response.nextRequest?.url.href, "https://y.example/next");
  assert.equal(response.nextRequest?.method, "GET");
});

function redirector(status: number, location: string) {
  const requests: Request[] = [];
  const transport = new MockTransport((request) => {
    requests.push(request);
    if (requests.length === 1) return new Response(status, { headers: { Location: location } });
    return new Response(200, { content: "done" });
  });
  return { transport, requests };
}

test("redirects: 301/302 turn POST into GET and drop the body; 303 any method", async () => {
  for (
    const [status, method, expected] of [
      [301, "POST", "GET"],
      [302, "POST", "GET"],
      [303, "PUT", "GET"],
      [303, "HEAD", "HEAD"],
      [302, "PUT", "PUT"],
    ] as const
  ) {
    const { transport, requests } = redirector(status, "/next");
    await using client = new Client({ transport, followRedirects: true });
    const response = await client.request(method, "http://x/start", {
      content: "body",
      headers: { "Content-Type": "text/plain" },
    });
    assert.equal(requests[1].method, expected, `${status} ${method}`);
    if (expected !== method) {
      assert.equal(requests[1].content, null);
      assert.equal(requests[1].headers.has("content-type"), false);
      assert.equal(requests[1].headers.has("content-length"), false);
    } else if (method === "PUT") {
      assert.deepEqual(requests[1].content, new TextEncoder().encode("body"));
    }
    assert.equal(response.history.length, 1);
    assert.equal(response.history[0].status, status);
    assert.equal(response.url?.href, "http://x/next");
  }
});

test("redirects: 307/308 keep method and body", async () => {
  for (const status of [307, 308]) {
    const { transport, requests } = redirector(status, "http://x/other");
    await using client = new Client({ transport, followRedirects: true });
    await client.post("http://x/", { json: { a: 1 } });
    assert.equal(requests[1].method, "POST");
    assert.deepEqual(requests[1].content, new TextEncoder().encode('{"a":1}'));
  }
});

test("redirects: a streamed body cannot be resent by 307", async () => {
  // A transport that sends the body as a stream without keeping it, as the pool does.
  const transport = {
    send: (request: Request) =>
      Promise.resolve(new Response(307, { headers: { Location: "/again" }, request })),
    close: () => Promise.resolve(),
  };
  await using client = new Client({ transport, followRedirects: true });
  async function* body() {
    yield new Uint8Array([1]);
  }
  await assert.rejects(client.post("http://x/", { content: body() }), StreamConsumed);
});

test("Host comes first; a redirect to another origin names the new host", async () => {
  const { transport, requests } = redirector(302, "http://other:8080/next");
  await using client = new Client({ transport, followRedirects: true });
  await client.get("http://x/", { headers: { "X-Last": "1" } });
  assert.deepEqual(requests[0].headers.pairs()[0], ["Host", "x"]);
  assert.deepEqual(requests[1].headers.pairs()[0], ["Host", "other:8080"]);
  assert.equal(requests[1].headers.get("x-last"), "1");
  const same = redirector(302, "/again");
  await using custom = new Client({ transport: same.transport, followRedirects: true });
  await custom.get("http://x/", { headers: { Host: "virtual.example" } });
  assert.equal(same.requests[0].headers.get("host"), "virtual.example");
  assert.equal(same.requests[1].headers.get("host"), "virtual.example");
});

test("redirects: the fragment is kept, relative Location resolves", async () => {
  const { transport, requests } = redirector(302, "../c/d?x=1");
  await using client = new Client({ transport, followRedirects: true });
  await client.get("http://x/a/b/page#frag");
  assert.equal(requests[1].url.href, "http://x/a/c/d?x=1#frag");
});

test("redirects: Authorization is dropped across origins, kept on the same origin", async () => {
  for (
    const [location, kept] of [
      ["http://x/same", true],
      ["https://x/upgrade", true],
      ["http://other/", false],
      ["http://x:8080/", false],
    ] as const
  ) {
    const { transport, requests } = redirector(302, location);
    await using client = new Client({ transport, followRedirects: true, auth: ["u", "p"] });
    await client.get("http://x/");
    assert.equal(requests[1].headers.has("authorization"), kept, location);
  }
});

test("redirects: TooManyRedirects after maxRedirects", async () => {
  let count = 0;
  await using client = new Client({
    followRedirects: true,
    maxRedirects: 3,
    transport: new MockTransport(() => {
      count++;
      return new Response(302, { headers: { Location: `/r${count}` } });
    }),
  });
  await assert.rejects(client.get("http://x/"), (error) => {
    assert.ok(error instanceof TooManyRedirects);
    assert.match(error.message, /3/);
    assert.equal(error.request?.url.href, "http://x/r4");
    return true;
  });
  assert.equal(count, 4);
});

test("redirects: a non-HTTP Location is UnsupportedProtocol", async () => {
  const { transport } = redirector(302, "ftp://x/file");
  await using client = new Client({ transport, followRedirects: true });
  await assert.rejects(client.get("http://x/"), UnsupportedProtocol);
});

test("redirects can be switched on per request", async () => {
  const { transport } = redirector(302, "/b");
  await using client = new Client({ transport });
  const response = await client.get("http://x/", { followRedirects: true });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "done");
});

test("cookies: set by responses, sent back, merged with per-request cookies", async () => {
  const cookieHeaders: (string | null)[] = [];
  await using client = new Client({
    cookies: { fixed: "1" },
    transport: new MockTransport((request) => {
      cookieHeaders.push(request.headers.get("cookie"));
      return new Response(200, {
        headers: [["Set-Cookie", "session=abc; Path=/"], ["Set-Cookie", "other=z; Path=/deep"]],
      });
    }),
  });
  await client.get("http://x/");
  await client.get("http://x/", { cookies: { once: "y" } });
  await client.get("http://x/deep/er");
  assert.deepEqual(cookieHeaders, [
    "fixed=1",
    "fixed=1; session=abc; once=y",
    "other=z; fixed=1; session=abc",
  ]);
  assert.equal(client.cookies.get("session"), "abc");
  assert.ok(client.cookies instanceof Cookies);
});

test("a Cookie header given by hand wins over the jar", async () => {
  const seen: (string | null)[] = [];
  await using client = new Client({
    cookies: { jar: "1" },
    transport: new MockTransport((request) => {
      seen.push(request.headers.get("cookie"));
      return new Response(200);
    }),
  });
  await client.get("http://x/", { headers: { Cookie: "mine=2" } });
  await client.get("http://x/", { headers: { Cookie: "mine=3" }, cookies: { extra: "4" } });
  assert.deepEqual(seen, ["mine=2", "mine=3"]);
});

test("credentials in the URL become Basic auth unless auth says otherwise", async () => {
  const seen: (string | null)[] = [];
  await using client = new Client({
    transport: new MockTransport((request) => {
      seen.push(request.headers.get("authorization"));
      return new Response(200);
    }),
  });
  await client.get("http://us%40er:p%3Ass@x/");
  await client.get("http://u:p@x/", { auth: null });
  await client.get("http://u:p@x/", { auth: ["other", "pw"] });
  assert.equal(atob(seen[0]!.slice(6)), "us@er:p:ss");
  assert.equal(seen[1], null);
  assert.equal(atob(seen[2]!.slice(6)), "other:pw");
});

test("cookies set during redirects are sent on the next hop", async () => {
  const seen: (string | null)[] = [];
  await using client = new Client({
    followRedirects: true,
    transport: new MockTransport((request) => {
      seen.push(request.headers.get("cookie"));
      if (request.url.pathname === "/login") {
        return new Response(302, { headers: { Location: "/home", "Set-Cookie": "id=7" } });
      }
      return new Response(200);
    }),
  });
  await client.get("http://x/login");
  assert.deepEqual(seen, [null, "id=7"]);
});

test("stream() returns before the body is read; send() reads it", async () => {
  await using client = new Client({
    transport: new MockTransport(() => new Response(200, { content: "a\nb\r\nc" })),
  });
  await using response = await client.stream("GET", "http://x/");
  const lines: string[] = [];
  for await (const line of response.iterLines()) lines.push(line);
  assert.deepEqual(lines, ["a", "b", "c"]);
  const request = client.buildRequest("GET", "http://x/");
  const sent = await client.send(request);
  assert.equal(sent.isRead, true);
});

test("mounts: the most specific pattern wins; null means the default transport", async () => {
  const named = (name: string) => new MockTransport(() => new Response(200, { content: name }));
  await using client = new Client({
    transport: named("default"),
    mounts: {
      "all://": named("all"),
      "https://*.example.com": named("subdomains"),
      "all://api.example.com": named("api"),
      "http://blocked.example": null,
    },
  });
  const text = async (url: string) => await (await client.get(url)).text();
  assert.equal(await text("https://api.example.com/"), "api");
  assert.equal(await text("https://www.example.com/"), "subdomains");
  assert.equal(await text("http://www.example.com/"), "all");
  // As in httpx, a `null` mount exempts a host from the other mounts (proxies).
  assert.equal(await text("http://blocked.example/"), "default");
});

test("close() closes the transports; a closed client refuses requests", async () => {
  const transport = new MockTransport(() => new Response(200));
  const client = new Client({ transport });
  await client.close();
  assert.equal(transport.isClosed, true);
  assert.equal(String(client), "<Client [closed]>");
  await assert.rejects(client.get("http://x/"), TypeError);
});

test("app transport calls a fetch handler in process", async () => {
  const app = async (request: globalThis.Request) => {
    const body = request.method === "POST" ? await request.text() : "";
    const headers = new globalThis.Headers({ "Content-Type": "text/plain" });
    headers.append("Set-Cookie", "a=1");
    headers.append("Set-Cookie", "b=2");
    return new globalThis.Response(`${request.method} ${new URL(request.url).pathname} ${body}`, {
      status: 201,
      headers,
    });
  };
  await using client = new Client({ transport: new AppTransport(app), baseUrl: "http://app" });
  const response = await client.post("/items", { json: { x: 1 } });
  assert.equal(response.status, 201);
  assert.equal(await response.text(), 'POST /items {"x":1}');
  assert.deepEqual(response.headers.getAll("set-cookie"), ["a=1", "b=2"]);
  assert.equal(client.cookies.get("b"), "2");
});

test("app transport: app exceptions propagate, or become 500 when asked", async () => {
  const app = () => {
    throw new Error("boom");
  };
  await using raising = new Client({ transport: new AppTransport(app) });
  await assert.rejects(raising.get("http://app/"), /boom/);
  await using quiet = new Client({
    transport: new AppTransport(app, { raiseAppExceptions: false }),
  });
  assert.equal((await quiet.get("http://app/")).status, 500);
});

test("app transport streams the handler's body and decodes its Content-Encoding", async () => {
  const app = () => {
    const encoder = new TextEncoder();
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++n > 3) return controller.close();
        controller.enqueue(encoder.encode(`line ${n}\n`));
      },
    }).pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    return new globalThis.Response(body, { headers: { "Content-Encoding": "gzip" } });
  };
  await using client = new Client({ transport: new AppTransport(app) });
  await using response = await client.stream("GET", "http://app/");
  const lines: string[] = [];
  for await (const line of response.iterLines()) lines.push(line);
  assert.deepEqual(lines, ["line 1", "line 2", "line 3"]);
});

test("app transport: a HEAD response has no body; the app sees method, headers and query", async () => {
  let seen = "";
  const app = (request: globalThis.Request) => {
    seen = `${request.method} ${request.url} ${request.headers.get("x-test")} ${
      request.headers.get("host")
    }`;
    return new globalThis.Response("body that HEAD must not show");
  };
  await using client = new Client({ transport: new AppTransport(app) });
  const response = await client.head("http://app.local:8080/p", {
    params: { q: "1" },
    headers: { "X-Test": "yes" },
  });
  assert.equal((await response.bytes()).length, 0);
  assert.equal(seen, "HEAD http://app.local:8080/p?q=1 yes app.local:8080");
});

test("app transport passes Deno.serve's info: the client address", async () => {
  const app = (_request: globalThis.Request, info: { remoteAddr: { hostname: string } }) =>
    new globalThis.Response(info.remoteAddr.hostname);
  await using client = new Client({
    transport: new AppTransport(app, { clientAddr: { hostname: "10.1.2.3", port: 5 } }),
  });
  assert.equal(await (await client.get("http://app/")).text(), "10.1.2.3");
});

test("client settings can be read and replaced; inspect shows the state", async () => {
  const seen: Request[] = [];
  await using client = new Client({
    transport: new MockTransport((request) => {
      seen.push(request);
      return new Response(200);
    }),
  });
  assert.equal(client.baseUrl, null);
  assert.equal(client.params.size, 0);
  client.headers = { "X-New": "1" };
  client.params = { p: "1" };
  client.cookies = { c: "1" };
  client.auth = ["u", "p"];
  client.eventHooks.request.push((request) => request.headers.set("X-Hooked", "yes"));
  await client.get("http://x/");
  assert.equal(seen[0].headers.get("x-new"), "1");
  // Merged over the defaults, as httpx's setter does.
  assert.match(seen[0].headers.get("user-agent")!, /^ferry\//);
  assert.equal(seen[0].url.search, "?p=1");
  assert.equal(seen[0].headers.get("cookie"), "c=1");
  assert.equal(seen[0].headers.get("authorization"), "Basic dTpw");
  assert.equal(seen[0].headers.get("x-hooked"), "yes");
  assert.ok(client.auth !== null);
  assert.equal(client.isClosed, false);
  assert.equal(inspect(client), "<Client [open]>");
});

test("a malformed Location is a RemoteProtocolError naming it", async () => {
  const { transport } = redirector(302, "http://[broken/");
  await using client = new Client({ transport, followRedirects: true });
  await assert.rejects(client.get("http://x/"), (error) => {
    assert.ok(error instanceof RemoteProtocolError);
    assert.equal(
      error.message,
      "Invalid URL in location header: 'http://[broken/'. (GET http://x/)",
    );
    return true;
  });
});

test("auth flows: one that yields nothing is refused; a streamed body is not resent", async () => {
  class Empty extends Auth {
    *authFlow(): Generator<Request, void, Response> {}
  }
  await using client = new Client({ transport: new MockTransport(() => new Response(200)) });
  await assert.rejects(client.get("http://x/", { auth: new Empty() }), /yielded no request/);
  class Twice extends Auth {
    *authFlow(request: Request): Generator<Request, void, Response> {
      yield request;
      yield request;
    }
  }
  const streaming = {
    send: (request: Request) => Promise.resolve(new Response(401, { request })),
    close: () => Promise.resolve(),
  };
  await using once = new Client({ transport: streaming });
  async function* body() {
    yield new Uint8Array([1]);
  }
  await assert.rejects(
    once.post("http://x/", { content: body(), auth: new Twice() }),
    StreamConsumed,
  );
});

test("not following: a redirect to another scheme is returned, without nextRequest", async () => {
  await using client = new Client({
    transport: new MockTransport(() =>
      new Response(302, { headers: { Location: "myapp://callback?code=abc" } })
    ),
  });
  const response = await client.get("http://example.test/oauth");
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "myapp://callback?code=abc");
  assert.equal(response.nextRequest, null);
  // Following it is still refused, with a typed error.
  await assert.rejects(
    client.get("http://example.test/oauth", { followRedirects: true }),
    (error) => {
      assert.ok(error instanceof UnsupportedProtocol);
      assert.equal(
        error.message,
        "Request URL has an unsupported protocol 'myapp://'. (GET http://example.test/oauth)",
      );
      return true;
    },
  );
});

test("not following: a 307 to a streamed upload is returned, without nextRequest", async () => {
  // Over a real socket (MockTransport would buffer the body, making it replayable).
  const { createServer } = await import("node:http");
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(307, { Location: "/again" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    await using client = new Client();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data"));
        controller.close();
      },
    });
    const response = await client.post(`http://127.0.0.1:${port}/upload`, { content: body });
    assert.equal(response.status, 307);
    assert.equal(response.nextRequest, null);
    await response.close();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A client whose transport records each request in `seen` and answers 200. */
function recordingClient(seen: Request[]): Client {
  return new Client({
    transport: new MockTransport((request) => {
      seen.push(request);
      return new Response(200);
    }),
  });
}

test("a stray % in URL credentials is kept as written, not a URIError", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  await client.get("http://us%er:p%ss@example.test/");
  assert.equal(seen.at(-1)!.headers.get("authorization"), `Basic ${btoa("us%er:p%ss")}`);
});

test("replacing the client's headers keeps Ferry's defaults underneath", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  client.headers = { "X-Token": "1" };
  await client.get("http://example.test/");
  assert.equal(seen.at(-1)!.headers.get("x-token"), "1");
  assert.match(seen.at(-1)!.headers.get("user-agent")!, /^ferry\//);
});

test("CR, LF or TAB in a URL is an InvalidURL, not a silently different path", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  for (const character of ["\r", "\n", "\t", "\r\n"]) {
    await assert.rejects(client.get(`http://example.test/a${character}b`), InvalidURL);
  }
  assert.equal(seen.length, 0);
});

test("a URL error never repeats the credentials the URL carries", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  for (
    const [url, error] of [
      ["http://user:pa@word@[::1/", InvalidURL],
      ["http://user:pa@word@/path", UnsupportedProtocol],
    ] as const
  ) {
    await assert.rejects(client.get(url), (thrown) => {
      assert.ok(thrown instanceof error, String(thrown));
      for (let at: unknown = thrown; at instanceof Error; at = at.cause) {
        assert.doesNotMatch(at.message, /user|pa@|word/, at.message);
      }
      return true;
    });
  }
  assert.equal(seen.length, 0);
  // A proxy URL (from HTTP_PROXY, say) with a typo.
  for (const url of ["http://user:pa@word@[::1", "http://user:pa@word@host:99999"]) {
    assert.throws(() => new Proxy(url), (thrown) => {
      assert.ok(thrown instanceof InvalidURL, String(thrown));
      for (let at: unknown = thrown; at instanceof Error; at = at.cause) {
        assert.doesNotMatch(at.message, /user|pa@|word/, at.message);
      }
      return true;
    });
  }
});

test("request methods are upper-cased, so redirect rules and the wire see POST", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  await client.request("post", "http://example.test/");
  assert.equal(seen.at(-1)!.method, "POST");
});

test("files: {} sends the form urlencoded, as httpx does", async () => {
  const seen: Request[] = [];
  await using client = recordingClient(seen);
  await client.post("http://example.test/", { data: { a: "1" }, files: {} });
  assert.equal(seen.at(-1)!.headers.get("content-type"), "application/x-www-form-urlencoded");
});

test("a Blob body is sent again for a 307 and for a Digest challenge", async () => {
  const { createServer } = await import("node:http");
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      if (request.url === "/upload") return response.writeHead(307, { Location: "/new" }).end();
      if (request.url === "/digest" && !request.headers.authorization) {
        return response.writeHead(401, {
          "WWW-Authenticate": 'Digest realm="r", nonce="n", qop="auth", algorithm=MD5',
        }).end();
      }
      bodies.push(`${request.url} ${body} ${request.headers["content-length"]}`);
      response.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    await using client = new Client({ followRedirects: true });
    const redirected = await client.post(`http://127.0.0.1:${port}/upload`, {
      content: new Blob(["hello blob"]),
    });
    assert.equal(redirected.status, 200);
    const digest = await client.post(`http://127.0.0.1:${port}/digest`, {
      content: new Blob(["hello digest"]),
      auth: new DigestAuth("u", "p"),
    });
    assert.equal(digest.status, 200);
    assert.deepEqual(bodies, ["/new hello blob 10", "/digest hello digest 12"]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test("requests built for the same URL text each have their own URL", () => {
  const client = new Client();
  const a = client.buildRequest("GET", "http://example.com/path?x=1");
  const b = client.buildRequest("GET", "http://example.com/path?x=1");
  assert.notEqual(a.url, b.url);
  assert.equal(a.headers.get("host"), "example.com");
  a.url.searchParams.set("x", "2");
  assert.equal(a.target, "/path?x=2");
  assert.equal(b.target, "/path?x=1");
  assert.equal(b.url.href, "http://example.com/path?x=1");
  b.url = new URL("http://example.org/other");
  assert.equal(b.target, "/other");
});
