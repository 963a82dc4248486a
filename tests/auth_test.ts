import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./_harness.ts";
import { cannedServer, ok } from "./_servers.ts";
import { useNodeFileAccess } from "./_file_access.ts";
import {
  Auth,
  BasicAuth,
  Client,
  DigestAuth,
  FunctionAuth,
  MockTransport,
  NetRCAuth,
  ProtocolError,
  type Request,
  Response,
} from "../mod.ts";
import { parseNetrc } from "../src/auth.ts";

function seen(): { transport: MockTransport; requests: Request[] } {
  const requests: Request[] = [];
  const transport = new MockTransport((request) => {
    requests.push(request);
    return new Response(200);
  });
  return { transport, requests };
}

test("Basic auth from a tuple or BasicAuth, UTF-8 credentials", async () => {
  const { transport, requests } = seen();
  await using client = new Client({ transport, auth: ["user", "pass"] });
  await client.get("http://x/");
  await client.get("http://x/", { auth: new BasicAuth("jürgen", "pä:ss") });
  await client.get("http://x/", { auth: null });
  assert.equal(requests[0].headers.get("authorization"), "Basic dXNlcjpwYXNz");
  const decoded = new TextDecoder().decode(
    Uint8Array.from(
      atob(requests[1].headers.get("authorization")!.slice(6)),
      (c) => c.charCodeAt(0),
    ),
  );
  assert.equal(decoded, "jürgen:pä:ss");
  assert.equal(requests[2].headers.has("authorization"), false);
});

test("a function is an auth", async () => {
  const { transport, requests } = seen();
  await using client = new Client({
    transport,
    auth: (request) => request.headers.set("X-Key", "k"),
  });
  await client.get("http://x/");
  assert.equal(requests[0].headers.get("x-key"), "k");
  assert.ok(new FunctionAuth(() => {}) instanceof Auth);
});

test("a generator flow resends after a 401; history keeps the first answer", async () => {
  class TokenAuth extends Auth {
    *authFlow(request: Request): Generator<Request, void, Response> {
      const response = yield request;
      if (response.status === 401) {
        request.headers.set("X-Token", "secret");
        yield request;
      }
    }
  }
  await using client = new Client({
    auth: new TokenAuth(),
    transport: new MockTransport((request) =>
      request.headers.get("x-token") === "secret"
        ? new Response(200, { content: "in" })
        : new Response(401, { content: "who are you" })
    ),
  });
  const response = await client.get("http://x/");
  assert.equal(await response.text(), "in");
  assert.equal(response.history.length, 1);
  assert.equal(response.history[0].status, 401);
  assert.equal(await response.history[0].text(), "who are you");
});

test("requiresRequestBody: the flow can sign a streamed body", async () => {
  class BodySigning extends Auth {
    override requiresRequestBody = true;
    async *authFlow(request: Request): AsyncGenerator<Request, void, Response> {
      const body = await request.bytes();
      request.headers.set("X-Length", String(body.length));
      yield request;
    }
  }
  const { transport, requests } = seen();
  await using client = new Client({ transport, auth: new BodySigning() });
  async function* chunks() {
    yield new Uint8Array(3);
    yield new Uint8Array(4);
  }
  await client.post("http://x/", { content: chunks() });
  assert.equal(requests[0].headers.get("x-length"), "7");
});

test("requiresResponseBody: the flow reads a response body", async () => {
  class ChallengeAuth extends Auth {
    override requiresResponseBody = true;
    async *authFlow(request: Request): AsyncGenerator<Request, void, Response> {
      const response = yield request;
      if (response.status === 401) {
        request.headers.set("X-Answer", response.content.length ? await response.text() : "");
        yield request;
      }
    }
  }
  await using client = new Client({
    auth: new ChallengeAuth(),
    transport: new MockTransport((request) =>
      request.headers.get("x-answer") === "42"
        ? new Response(200)
        : new Response(401, { content: "42" })
    ),
  });
  assert.equal((await client.get("http://x/")).status, 200);
});

function hash(algorithm: string, text: string): string {
  const name = algorithm.replace(/-SESS$/i, "").toLowerCase().replace("sha-", "sha");
  return createHash(name === "md5" ? "md5" : name).update(text).digest("hex");
}

/** A server side of Digest auth that checks the client's answer independently. */
function digestServer(
  options: { algorithm: string; qop: string | null; opaque?: string },
  log: string[],
): MockTransport {
  const realm = "test@ferry";
  const nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  return new MockTransport((request) => {
    const header = request.headers.get("authorization");
    if (header === null) {
      let challenge = `Digest realm="${realm}", nonce="${nonce}", algorithm=${options.algorithm}`;
      if (options.qop) challenge += `, qop="${options.qop}"`;
      if (options.opaque) challenge += `, opaque="${options.opaque}"`;
      return new Response(401, { headers: { "WWW-Authenticate": challenge } });
    }
    const params = new Map<string, string>();
    for (const match of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) {
      params.set(match[1], match[2] ?? match[3]);
    }
    log.push(header);
    const algorithm = options.algorithm;
    const uri = params.get("uri")!;
    assert.equal(uri, request.url.pathname + request.url.search);
    let ha1 = hash(algorithm, `user:${realm}:passwd`);
    if (algorithm.toUpperCase().endsWith("-SESS")) {
      ha1 = hash(algorithm, `${ha1}:${nonce}:${params.get("cnonce")}`);
    }
    const ha2 = hash(algorithm, `${request.method}:${uri}`);
    const expected = options.qop
      ? hash(algorithm, `${ha1}:${nonce}:${params.get("nc")}:${params.get("cnonce")}:auth:${ha2}`)
      : hash(algorithm, `${ha1}:${nonce}:${ha2}`);
    if (options.opaque) assert.equal(params.get("opaque"), options.opaque);
    return new Response(params.get("response") === expected ? 200 : 403);
  });
}

test("Digest: MD5, SHA-256, -sess variants, with and without qop", async () => {
  for (const algorithm of ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"]) {
    for (const qop of ["auth", "auth,auth-int", null]) {
      const log: string[] = [];
      await using client = new Client({
        transport: digestServer({ algorithm, qop, opaque: "op" }, log),
        auth: new DigestAuth("user", "passwd"),
      });
      const response = await client.get("http://x/path?q=1");
      assert.equal(response.status, 200, `${algorithm} qop=${qop}`);
      assert.equal(response.history[0].status, 401);
    }
  }
});

test("Digest: later requests reuse the challenge with a growing nonce count", async () => {
  const log: string[] = [];
  const auth = new DigestAuth("user", "passwd");
  await using client = new Client({
    transport: digestServer({ algorithm: "MD5", qop: "auth" }, log),
    auth,
  });
  assert.equal((await client.get("http://x/a")).history.length, 1);
  const second = await client.get("http://x/b");
  assert.equal(second.status, 200);
  assert.equal(second.history.length, 0);
  assert.match(log[0], /nc=00000001/);
  assert.match(log[1], /nc=00000002/);
});

test("Digest: auth-int only, unknown algorithms and malformed challenges are ProtocolErrors", async () => {
  for (
    const challenge of [
      'Digest realm="r", nonce="n", qop="auth-int"',
      'Digest realm="r", nonce="n", algorithm=SHA-999',
      'Digest realm="r"',
    ]
  ) {
    await using client = new Client({
      auth: new DigestAuth("u", "p"),
      transport: new MockTransport(() =>
        new Response(401, { headers: { "WWW-Authenticate": challenge } })
      ),
    });
    await assert.rejects(client.get("http://x/"), ProtocolError, challenge);
  }
});

test("Digest: a 401 without a Digest challenge is returned as it is", async () => {
  await using client = new Client({
    auth: new DigestAuth("u", "p"),
    transport: new MockTransport(() =>
      new Response(401, { headers: { "WWW-Authenticate": 'Basic realm="r"' } })
    ),
  });
  assert.equal((await client.get("http://x/")).status, 401);
});

test("netrc parsing: machines, default, quoted tokens, comments, macdef", () => {
  const entries = parseNetrc(`
# comment
machine example.com login alice password "se cret"
macdef init
  cd /pub
  ls

machine other.org
  login bob
  password hunter2 account acct
default login anon password guest
`);
  assert.deepEqual(entries.get("example.com"), { login: "alice", password: "se cret" });
  assert.deepEqual(entries.get("other.org"), {
    login: "bob",
    password: "hunter2",
    account: "acct",
  });
  assert.deepEqual(entries.get(""), { login: "anon", password: "guest" });
});

test("NetRCAuth: content, an explicit file, NETRC; hosts without entry get no header", async () => {
  useNodeFileAccess();
  const dir = mkdtempSync(join(tmpdir(), "ferry-netrc-"));
  try {
    const file = join(dir, "netrc");
    writeFileSync(file, "machine example.com login me password pw\n");
    const { transport, requests } = seen();
    await using client = new Client({ transport, auth: new NetRCAuth({ file }) });
    await client.get("http://example.com/");
    await client.get("http://unknown.org/");
    assert.equal(requests[0].headers.get("authorization"), "Basic bWU6cHc=");
    assert.equal(requests[1].headers.has("authorization"), false);
    // deno-lint-ignore no-explicit-any
    const env = (globalThis as any).process.env;
    const saved = env.NETRC;
    env.NETRC = file;
    try {
      assert.deepEqual(await new NetRCAuth().lookup("EXAMPLE.com"), {
        login: "me",
        password: "pw",
      });
    } finally {
      if (saved === undefined) delete env.NETRC;
      else env.NETRC = saved;
    }
    const fromContent = new NetRCAuth({ content: "default login d password p" });
    assert.deepEqual(await fromContent.lookup("any.host"), { login: "d", password: "p" });
    await assert.rejects(
      new NetRCAuth({ file: join(dir, "missing") }).lookup("example.com"),
      /ENOENT|no such file/i,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Digest: host A's challenge is never answered to host B (two loopback servers)", async () => {
  const challenge = (realm: string) =>
    `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="${realm}", ` +
    `nonce="n-${realm}", qop="auth"\r\nContent-Length: 0\r\n\r\n`;
  const answer = (realm: string) => (head: string) =>
    /^authorization:/im.test(head) ? ok("in") : challenge(realm);
  await using a = await cannedServer(answer("a"));
  await using b = await cannedServer(answer("b"));
  await using client = new Client({ auth: new DigestAuth("user", "passwd") });
  assert.equal((await client.get(`${a.url}/one`)).status, 200);
  assert.equal((await client.get(`${a.url}/two`)).status, 200);
  assert.equal(a.heads.length, 3, "A's challenge is reused on A: no second 401");
  assert.match(a.heads[2], /^authorization: Digest username="user", realm="a"/im);
  assert.equal((await client.get(`${b.url}/`)).status, 200);
  assert.doesNotMatch(b.heads[0], /^authorization:/im, "B got nothing computed for A");
  assert.match(b.heads[1], /realm="b", nonce="n-b"/);
  // Each origin keeps its own challenge and nonce count.
  await client.get(`${a.url}/three`);
  assert.match(a.heads[3], /nonce="n-a".*nc=00000003/);
});

test("trustEnv never reads .netrc: only NetRCAuth does (httpx 1.0's design)", async () => {
  useNodeFileAccess();
  const dir = mkdtempSync(join(tmpdir(), "ferry-netrc-"));
  const server = await cannedServer(() => ok("hi"));
  // deno-lint-ignore no-explicit-any
  const env = (globalThis as any).process.env;
  const saved = env.NETRC;
  try {
    const file = join(dir, "netrc");
    writeFileSync(file, "machine 127.0.0.1 login me password pw\n");
    env.NETRC = file;
    await using trusting = new Client({ trustEnv: true });
    await trusting.get(server.url);
    assert.doesNotMatch(server.heads[0], /^authorization:/im);
    await using explicit = new Client({ auth: new NetRCAuth() });
    await explicit.get(server.url);
    assert.match(server.heads[1], /^authorization: Basic bWU6cHc=\r$/im);
  } finally {
    if (saved === undefined) delete env.NETRC;
    else env.NETRC = saved;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
