/**
 * `ConnectionPool({ proxy })` against real proxies: forwarding, tunnelling, SOCKS5, proxy
 * auth, reuse keyed by proxy and target, and failures that leave nothing open.
 */

import assert from "node:assert/strict";
import { peerTest, test } from "./_harness.ts";
import {
  microsocksPeer,
  type SeenRequest,
  squidPeer,
  startClosingProxy,
  startHttpsTarget,
  startHttpTarget,
  startMicrosocks,
  startSquid,
  startTinyproxy,
  startTlsFront,
  tinyproxyPeer,
} from "./_peers/proxies.ts";
import { makeTestCertificates, openssl } from "./_peers/tls_certs.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import { ConnectTimeout, ProxyError } from "../src/errors.ts";

const withTls = {
  pkg: `${tinyproxyPeer.pkg} ${openssl.pkg}`,
  available: tinyproxyPeer.available && openssl.available,
};

async function echo(response: { json<T>(): Promise<T> }): Promise<SeenRequest> {
  return await response.json<SeenRequest>();
}

peerTest(
  "pool forwards POST and GET through tinyproxy with Proxy-Authorization",
  tinyproxyPeer,
  async () => {
    // tinyproxy closes every client connection after one response, without saying so
    // (no `Connection: close`): the POST goes first, on a fresh connection, and the GET,
    // being idempotent, may be retried once on a fresh one (see the pool's stale retry).
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["ferry", "pw"] });
    await using pool = new ConnectionPool({ proxy: { url: proxy.url, auth: ["ferry", "pw"] } });
    const post = await pool.request("POST", `${target.origin}/two`, { content: "body" });
    assert.equal((await echo(post)).body, "body");
    const first = await pool.request("GET", `${target.origin}/one`, {
      headers: { "X-Case": "forward" },
    });
    assert.equal(first.status, 200);
    const seen = await echo(first);
    assert.equal(seen.url, "/one");
    assert.equal(seen.headers["x-case"], "forward");
    assert.equal(seen.headers["proxy-authorization"], undefined);
    // The response's request is the caller's: no proxy credentials in it.
    assert.equal(first.request?.headers.has("proxy-authorization"), false);
  },
);

peerTest(
  "pool tunnels https:// through tinyproxy with CONNECT, one tunnel per origin",
  withTls,
  async () => {
    const certs = await makeTestCertificates();
    await using a = await startHttpsTarget();
    await using b = await startHttpsTarget();
    await using proxy = await startTinyproxy({ connectPorts: [a.port, b.port] });
    await using pool = new ConnectionPool({ proxy: proxy.url, tls: { caCerts: [certs.caPem] } });
    for (const path of ["/a1", "/a2"]) {
      const response = await pool.request("GET", `https://localhost:${a.port}${path}`);
      assert.equal((await echo(response)).url, path);
    }
    const response = await pool.request("GET", `https://127.0.0.1:${b.port}/b`);
    assert.equal((await echo(response)).url, "/b");
    // Two origins: two tunnels (the second origin never rode the first one's tunnel).
    assert.equal(pool.connections.length, 2);
    assert.equal(a.seen.length, 2);
    assert.equal(b.seen.length, 1);
  },
);

peerTest(
  "pool: refused CONNECT is a ProxyError and leaves no connection behind",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["u", "p"] });
    await using pool = new ConnectionPool({
      proxy: new Proxy({ url: proxy.url, mode: "TUNNEL_ONLY" }),
    });
    await assert.rejects(pool.request("GET", `${target.origin}/`), (error) => {
      assert.ok(error instanceof ProxyError);
      assert.equal(error.status, 407);
      return true;
    });
    assert.equal(pool.connections.length, 0);
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
  },
);

peerTest(
  "pool through microsocks (socks5h with credentials): http and https",
  microsocksPeer,
  async () => {
    const certs = await makeTestCertificates();
    await using target = await startHttpTarget();
    await using secure = await startHttpsTarget();
    await using proxy = await startMicrosocks({ auth: ["s", "t"] });
    await using pool = new ConnectionPool({
      proxy: proxy.url.replace("socks5://", "socks5h://s:t@"),
      tls: { caCerts: [certs.caPem] },
    });
    assert.equal((await echo(await pool.request("GET", `${target.origin}/plain`))).url, "/plain");
    const tls = await pool.request("GET", `https://localhost:${secure.port}/tls`);
    assert.equal((await echo(tls)).url, "/tls");
    const again = await pool.request("GET", `${target.origin}/again`);
    assert.equal((await echo(again)).url, "/again");
    assert.equal(pool.connections.length, 2);
  },
);

test("pool: a proxy that closes mid-handshake is a ProxyError, nothing leaked", async () => {
  await using closing = await startClosingProxy({ afterBytes: 1 });
  for (const url of [`socks5://127.0.0.1:${closing.port}`, `http://127.0.0.1:${closing.port}`]) {
    await using pool = new ConnectionPool({ proxy: url });
    await assert.rejects(pool.request("GET", "https://example.test/"), ProxyError);
    assert.equal(pool.connections.length, 0);
  }
});

peerTest(
  "pool through an https:// proxy (the default backend): TLS to the proxy, forwarded",
  withTls,
  async () => {
    const certs = await makeTestCertificates();
    await using target = await startHttpTarget();
    await using tinyproxy = await startTinyproxy();
    await using front = await startTlsFront(tinyproxy.port);
    await using pool = new ConnectionPool({
      proxy: `https://localhost:${front.port}`,
      tls: { caCerts: [certs.caPem] },
    });
    const response = await pool.request("GET", `${target.origin}/via-tls-proxy`);
    assert.equal((await echo(response)).url, "/via-tls-proxy");
  },
);

test("pool: a proxy that never answers the handshake is a ConnectTimeout, nothing leaked", async () => {
  await using silent = await startClosingProxy({ afterBytes: Number.MAX_SAFE_INTEGER });
  for (const url of [`socks5://127.0.0.1:${silent.port}`, `http://127.0.0.1:${silent.port}`]) {
    await using pool = new ConnectionPool({ proxy: url, timeout: { connect: 150 } });
    await assert.rejects(pool.request("GET", "https://example.test/"), (error) => {
      assert.ok(error instanceof ConnectTimeout, `${url}: ${error}`);
      assert.match(error.message, /127\.0\.0\.1:\d+/);
      return true;
    });
    assert.equal(pool.connections.length, 0);
  }
});

peerTest("pool: trace events of a tunnelled request", tinyproxyPeer, async () => {
  await using target = await startHttpTarget();
  await using proxy = await startTinyproxy();
  await using pool = new ConnectionPool({
    proxy: { url: proxy.url, mode: "TUNNEL_ONLY" },
  });
  const events: string[] = [];
  await pool.request("GET", `${target.origin}/traced`, {
    extensions: { trace: (event) => void events.push(event) },
  });
  const opening = events.filter((event) => !event.startsWith("http11."));
  assert.deepEqual(opening, [
    "connection.connect_tcp.started",
    "connection.connect_tcp.complete",
    "proxy.connect.started",
    "proxy.connect.complete",
  ]);
});

peerTest(
  "pool through squid: forwarded connections are reused per target origin",
  squidPeer,
  async () => {
    await using a = await startHttpTarget();
    await using b = await startHttpTarget();
    await using proxy = await startSquid();
    await using pool = new ConnectionPool({ proxy: proxy.url });
    for (const path of ["/1", "/2", "/3"]) {
      assert.equal((await echo(await pool.request("GET", `${a.origin}${path}`))).url, path);
    }
    const post = await pool.request("POST", `${a.origin}/4`, { content: "kept alive" });
    assert.equal((await echo(post)).body, "kept alive");
    assert.equal(pool.connections.length, 1, "one forwarding connection for origin a");
    assert.equal((await echo(await pool.request("GET", `${b.origin}/b`))).url, "/b");
    assert.equal(pool.connections.length, 2, "a second one for origin b");
  },
);

peerTest(
  "pool: a 407 to a forwarded request is a ProxyError; the connection is reusable",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["u", "p"] });
    await using pool = new ConnectionPool({ proxy: proxy.url });
    for (const method of ["GET", "POST"]) {
      await assert.rejects(pool.request(method, `${target.origin}/x`), (error) => {
        assert.ok(error instanceof ProxyError);
        assert.equal(error.status, 407);
        assert.equal(error.reasonPhrase, "Proxy Authentication Required");
        assert.match(
          error.message,
          /refused to forward (GET|POST) "http:\/\/127\.0\.0\.1:\d+\/x" with 407/,
        );
        assert.equal(error.request?.url.href, `${target.origin}/x`);
        return true;
      });
    }
    assert.equal(target.seen.length, 0);
    // A streamed 407 is refused the same way, its body discarded.
    await assert.rejects(pool.stream("GET", `${target.origin}/y`), { status: 407 });
  },
);
