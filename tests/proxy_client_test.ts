/**
 * `Client` with proxies: `proxy`, `mounts` per scheme and host, `trustEnv` with
 * `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, and `Proxy-Authorization` on
 * redirects. Real tinyproxy and microsocks where a proxy must actually carry requests;
 * recording transports where only the choice of transport matters.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { peerTest, test } from "./_harness.ts";
import {
  microsocksPeer,
  type SeenRequest,
  startHttpsTarget,
  startHttpTarget,
  startMicrosocks,
  startTinyproxy,
  tinyproxyPeer,
} from "./_peers/proxies.ts";
import { makeTestCertificates, openssl } from "./_peers/tls_certs.ts";
import { Client } from "../src/client.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import { MockTransport } from "../src/transports/mock.ts";
import { Response } from "../src/models/response.ts";
import { ProxyError } from "../src/errors.ts";

const withTls = {
  pkg: `${tinyproxyPeer.pkg} ${openssl.pkg}`,
  available: tinyproxyPeer.available && openssl.available,
};

const PROXY_VARIABLES = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "REQUEST_METHOD",
];

/** Runs `fn` with exactly the proxy variables of `env` set, then restores the rest. */
async function withEnv(env: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, env);
  try {
    await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function echo(response: Response): Promise<SeenRequest> {
  return await response.json<SeenRequest>();
}

peerTest(
  "Client({ proxy }) forwards http and tunnels https through tinyproxy",
  withTls,
  async () => {
    const certs = await makeTestCertificates();
    await using target = await startHttpTarget();
    await using secure = await startHttpsTarget();
    await using proxy = await startTinyproxy({ auth: ["c", "d"], connectPorts: [secure.port] });
    await withEnv({ HTTP_PROXY: "http://127.0.0.1:1" }, async () => {
      await using client = new Client({
        proxy: new Proxy({ url: proxy.url, auth: ["c", "d"] }),
        verify: certs.caPem,
      });
      const plain = await client.get(`${target.origin}/fwd`);
      assert.equal((await echo(plain)).url, "/fwd");
      assert.equal(plain.request?.headers.has("proxy-authorization"), false);
      const tls = await client.post(`https://localhost:${secure.port}/tun`, { content: "x" });
      assert.equal((await echo(tls)).body, "x");
    });
    // Without the test CA, the target's certificate is refused inside the tunnel.
    await using strict = new Client({ proxy: `http://c:d@127.0.0.1:${proxy.port}` });
    await assert.rejects(strict.get(`https://localhost:${secure.port}/`), (error) => {
      assert.equal((error as Error).name, "ConnectError", String(error));
      return true;
    });
  },
);

peerTest(
  "Client with trustEnv: HTTP_PROXY carries requests, NO_PROXY bypasses it",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["e", "f"] });
    // Through the proxy: without credentials in the variable, tinyproxy answers 407,
    // which is the proxy's refusal: a ProxyError.
    await withEnv({ HTTP_PROXY: proxy.url }, async () => {
      await using client = new Client();
      await assert.rejects(client.get(`${target.origin}/a`), { name: "ProxyError", status: 407 });
      assert.equal(target.seen.length, 0);
    });
    await withEnv({ http_proxy: `http://e:f@127.0.0.1:${proxy.port}` }, async () => {
      await using client = new Client();
      assert.equal((await echo(await client.get(`${target.origin}/b`))).url, "/b");
    });
    // NO_PROXY forms that cover 127.0.0.1: the request goes direct (no 407).
    for (const noProxy of ["127.0.0.1", "127.0.0.0/8", "localhost,127.0.0.1", "*"]) {
      await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: noProxy }, async () => {
        await using client = new Client();
        const response = await client.get(`${target.origin}/direct`);
        assert.equal(response.status, 200, `NO_PROXY=${noProxy}`);
      });
    }
    // A NO_PROXY that does not cover it: still proxied.
    await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "10.0.0.0/8,.example.com" }, async () => {
      await using client = new Client();
      await assert.rejects(client.get(`${target.origin}/c`), { name: "ProxyError", status: 407 });
    });
    // trustEnv: false ignores the variables.
    await withEnv({ HTTP_PROXY: "http://127.0.0.1:1" }, async () => {
      await using client = new Client({ trustEnv: false });
      assert.equal((await client.get(`${target.origin}/d`)).status, 200);
    });
  },
);

peerTest("Client with ALL_PROXY=socks5h://… through microsocks", microsocksPeer, async () => {
  await using target = await startHttpTarget();
  await using proxy = await startMicrosocks({ auth: ["g", "h"] });
  await withEnv({ ALL_PROXY: proxy.url.replace("socks5://", "socks5h://g:h@") }, async () => {
    await using client = new Client();
    assert.equal((await echo(await client.get(`http://localhost:${target.port}/s`))).url, "/s");
  });
  await withEnv({ all_proxy: proxy.url }, async () => {
    await using client = new Client();
    await assert.rejects(client.get(`${target.origin}/`), ProxyError);
  });
});

test("Client mounts: httpx's order between proxies and exceptions", async () => {
  const seen: string[] = [];
  const named = (name: string) =>
    new MockTransport((request) => {
      seen.push(`${name} ${request.url.href}`);
      return new Response(200, { content: name });
    });
  await withEnv({
    HTTPS_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "internal.example",
  }, async () => {
    await using client = new Client({
      transport: named("default"),
      mounts: {
        "all://": named("all"),
        "http://": named("http"),
        "all://*.example.org": named("example.org"),
        "http://api.example.org:8080": named("api:8080"),
        "all://skip.example.org": null,
      },
    });
    const text = async (url: string) => await (await client.get(url)).text();
    assert.equal(await text("http://api.example.org:8080/"), "api:8080");
    assert.equal(await text("http://api.example.org/"), "example.org");
    assert.equal(await text("https://www.example.org/"), "example.org");
    assert.equal(await text("http://other.test/"), "http");
    assert.equal(await text("https://other.test/"), "all");
    assert.equal(await text("https://skip.example.org/"), "default");
  });
  // A custom transport turns the environment's proxies off (as in httpx): no HTTPS_PROXY
  // mount was made, so https://other.test/ went to the "all://" mount above.
  assert.equal(seen.length, 6);
});

test("Client redirects drop Proxy-Authorization (and Authorization) across origins", async () => {
  const seen: [string, string | null][] = [];
  const transport = new MockTransport((request) => {
    seen.push([request.url.href, request.headers.get("proxy-authorization")]);
    if (request.url.hostname === "a.example") {
      return new Response(302, { headers: { Location: "http://b.example/next" } });
    }
    return new Response(200);
  });
  await using client = new Client({ transport, followRedirects: true });
  await client.get("http://a.example/", { headers: { "Proxy-Authorization": "Basic eDp5" } });
  assert.deepEqual(seen, [
    ["http://a.example/", "Basic eDp5"],
    ["http://b.example/next", null],
  ]);
});

test("ConnectionPool and Client refuse a proxy URL with an unknown scheme", () => {
  assert.throws(
    () => new ConnectionPool({ proxy: "ftp://127.0.0.1:21" }),
    /Unsupported proxy scheme "ftp"/,
  );
  assert.throws(
    () => new Client({ proxy: "socks4://127.0.0.1" }),
    /Unsupported proxy scheme "socks4"/,
  );
});

peerTest(
  "Client mounts per host: a proxied pool for one host, direct for another",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["m", "n"] });
    await using client = new Client({
      trustEnv: false,
      mounts: {
        // Without credentials: a request that goes through it is refused with 407.
        "all://localhost": new ConnectionPool({ proxy: proxy.url }),
        [`http://localhost:${target.port}`]: new ConnectionPool({
          proxy: `http://m:n@127.0.0.1:${proxy.port}`,
        }),
      },
    });
    // The pattern with a port is the most specific: its proxy has the credentials.
    assert.equal((await echo(await client.get(`http://localhost:${target.port}/p`))).url, "/p");
    // 127.0.0.1 matches no mount: direct.
    assert.equal((await echo(await client.get(`${target.origin}/direct`))).url, "/direct");
    // localhost on another port: the host-only mount, whose proxy wants credentials.
    await using other = await startHttpTarget();
    await assert.rejects(client.get(`http://localhost:${other.port}/`), {
      name: "ProxyError",
      status: 407,
    });
  },
);
