/**
 * `openProxiedStream` and `forwardedRequest` against real proxies (tinyproxy, microsocks,
 * dante) and local targets, one request per stream written and parsed by hand with the
 * http11 writer and parser. The pool and client tests build on the same pieces.
 */

import assert from "node:assert/strict";
import { peerTest, test } from "./_harness.ts";
import {
  dantePeer,
  microsocksPeer,
  type SeenRequest,
  startClosingProxy,
  startDante,
  startHttpsTarget,
  startHttpTarget,
  startMicrosocks,
  startTinyproxy,
  startTlsFront,
  tinyproxyPeer,
} from "./_peers/proxies.ts";
import { makeTestCertificates, openssl } from "./_peers/tls_certs.ts";
import { forwardedRequest, openProxiedStream, proxyPoolKey } from "../src/proxy/pool_seams.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import { Request } from "../src/models/request.ts";
import { NodeNetworkBackend } from "../src/network/node.ts";
import { ResponseParser } from "../src/http11/parser.ts";
import { serializeRequest } from "../src/http11/writer.ts";
import { originOf } from "../src/_origin.ts";
import { ConnectError, ProxyError } from "../src/errors.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";

const backend = new NodeNetworkBackend();
const both = {
  pkg: `${tinyproxyPeer.pkg} ${openssl.pkg}`,
  available: tinyproxyPeer.available && openssl.available,
};

/** Sends `request` on `stream` and reads the whole response; returns status and body. */
async function exchange(
  stream: NetworkStreamInterface,
  request: Request,
): Promise<{ status: number; reason: string; body: string }> {
  const target = (request.extensions.target as string | undefined) ??
    request.url.pathname + request.url.search;
  const headers: [string, string][] = [["Host", request.url.host], ...request.headers];
  const { head } = serializeRequest(request.method, target, headers, request.content);
  await stream.write(head);
  const parser = new ResponseParser();
  parser.startResponse(request.method);
  let status = 0;
  let reason = "";
  let body = "";
  const decoder = new TextDecoder();
  while (true) {
    const event = parser.next();
    if (event === null) {
      const chunk = await stream.read();
      if (chunk.length === 0) parser.feedEnd();
      else parser.feed(chunk);
      continue;
    }
    if (event.type === "head") [status, reason] = [event.status, event.reason];
    else if (event.type === "data") body += decoder.decode(event.data, { stream: true });
    else if (event.type === "end") return { status, reason, body };
  }
}

async function viaProxy(
  proxy: Proxy,
  request: Request,
  tls?: { caCerts: string[] },
): Promise<{ status: number; reason: string; body: string }> {
  const stream = await openProxiedStream(
    proxy,
    originOf(request.url),
    { backend, tls },
    5000,
    null,
  );
  try {
    return await exchange(stream, forwardedRequest(proxy, request));
  } finally {
    await stream.close();
  }
}

function seen(body: string): SeenRequest {
  return JSON.parse(body);
}

peerTest(
  "tinyproxy forwards GET in absolute form, with Proxy-Authorization",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["ferry", "s3cret"] });
    const request = new Request("GET", `${target.origin}/items?page=2`, {
      headers: { "X-Test": "forward" },
    });
    const response = await viaProxy(
      new Proxy({ url: proxy.url, auth: ["ferry", "s3cret"] }),
      request,
    );
    assert.equal(response.status, 200);
    const echo = seen(response.body);
    assert.equal(echo.method, "GET");
    assert.equal(echo.url, "/items?page=2");
    assert.equal(echo.headers["x-test"], "forward");
    // tinyproxy consumed the proxy credentials: the target never sees them.
    assert.equal(echo.headers["proxy-authorization"], undefined);
    // The request the caller holds was not changed.
    assert.equal(request.headers.has("proxy-authorization"), false);
    assert.equal(request.extensions.target, undefined);
  },
);

peerTest("tinyproxy forwards POST bodies", tinyproxyPeer, async () => {
  await using target = await startHttpTarget();
  await using proxy = await startTinyproxy();
  const response = await viaProxy(
    new Proxy(proxy.url),
    new Request("POST", `${target.origin}/submit`, { content: '{"a":1}' }),
  );
  const echo = seen(response.body);
  assert.equal(echo.method, "POST");
  assert.equal(echo.body, '{"a":1}');
});

peerTest(
  "tinyproxy tunnels HTTPS with CONNECT and the target's certificate is verified",
  both,
  async () => {
    const certs = await makeTestCertificates();
    await using target = await startHttpsTarget();
    await using proxy = await startTinyproxy({ auth: ["u", "p"], connectPorts: [target.port] });
    const response = await viaProxy(
      new Proxy(`http://u:p@${proxy.url.slice(7)}`),
      new Request("GET", `https://localhost:${target.port}/secure`),
      { caCerts: [certs.caPem] },
    );
    assert.equal(response.status, 200);
    const echo = seen(response.body);
    assert.equal(echo.url, "/secure");
    assert.equal(echo.headers.host, `localhost:${target.port}`);
    assert.equal(echo.headers["proxy-authorization"], undefined);
    // An untrusted CA fails inside the tunnel, as a connect error, not a proxy error.
    await assert.rejects(
      viaProxy(
        new Proxy(`http://u:p@${proxy.url.slice(7)}`),
        new Request("GET", `https://localhost:${target.port}/secure`),
        { caCerts: [certs.otherCaPem] },
      ),
      (error) => error instanceof ConnectError && !(error instanceof ProxyError),
    );
  },
);

peerTest(
  "TUNNEL_ONLY tunnels plain http too; Proxy-Authorization is not sent inside",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["u", "p"] });
    const response = await viaProxy(
      new Proxy({ url: proxy.url, auth: ["u", "p"], mode: "TUNNEL_ONLY" }),
      new Request("GET", `${target.origin}/t`, { headers: { "Proxy-Authorization": "leak" } }),
    );
    const echo = seen(response.body);
    assert.equal(echo.url, "/t");
    assert.equal(echo.headers["proxy-authorization"], undefined);
  },
);

peerTest(
  "tinyproxy without credentials: 407 forwarded, ProxyError on CONNECT",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ auth: ["u", "p"] });
    // Forwarded: the 407 is the proxy's response to the request itself.
    const forwarded = await viaProxy(new Proxy(proxy.url), new Request("GET", target.origin));
    assert.equal(forwarded.status, 407);
    // Tunnelled: the refusal is a ProxyError with the proxy's status and reason.
    await assert.rejects(
      viaProxy(
        new Proxy({ url: proxy.url, mode: "TUNNEL_ONLY" }),
        new Request("GET", target.origin),
      ),
      (error) => {
        assert.ok(error instanceof ProxyError);
        assert.equal(error.status, 407);
        assert.equal(error.reasonPhrase, "Proxy Authentication Required");
        assert.match(error.message, /CONNECT 127\.0\.0\.1:\d+: refused with 407/);
        return true;
      },
    );
    // Wrong credentials: tinyproxy answers 401 rather than 407; still the proxy's words.
    await assert.rejects(
      viaProxy(
        new Proxy({ url: proxy.url, auth: ["u", "wrong"], mode: "TUNNEL_ONLY" }),
        new Request("GET", target.origin),
      ),
      (error) => {
        assert.ok(error instanceof ProxyError);
        assert.equal(error.status, 401);
        assert.equal(error.reasonPhrase, "Unauthorized");
        return true;
      },
    );
  },
);

peerTest(
  "tinyproxy refusing CONNECT to a port not allowed is a ProxyError 403",
  tinyproxyPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startTinyproxy({ connectPorts: [443] });
    await assert.rejects(
      viaProxy(
        new Proxy({ url: proxy.url, mode: "TUNNEL_ONLY" }),
        new Request("GET", target.origin),
      ),
      (error) => {
        assert.ok(error instanceof ProxyError);
        assert.equal(error.status, 403);
        return true;
      },
    );
  },
);

peerTest(
  "microsocks without auth: socks5 and socks5h, http and https",
  microsocksPeer,
  async () => {
    const certs = await makeTestCertificates();
    await using target = await startHttpTarget();
    await using secure = await startHttpsTarget();
    await using proxy = await startMicrosocks();
    for (const scheme of ["socks5", "socks5h"]) {
      const url = proxy.url.replace("socks5", scheme);
      const plain = await viaProxy(
        new Proxy(url),
        new Request("GET", `http://localhost:${target.port}/p`),
      );
      assert.equal(seen(plain.body).url, "/p");
      const tls = await viaProxy(
        new Proxy(url),
        new Request("GET", `https://localhost:${secure.port}/s`),
        { caCerts: [certs.caPem] },
      );
      assert.equal(seen(tls.body).url, "/s");
    }
  },
);

peerTest(
  "microsocks with username and password: right and wrong credentials",
  microsocksPeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startMicrosocks({ auth: ["sockuser", "sockpass"] });
    const withAuth = proxy.url.replace("socks5://", "socks5h://sockuser:sockpass@");
    const response = await viaProxy(
      new Proxy(withAuth),
      new Request("POST", `${target.origin}/x`, { content: "hi" }),
    );
    assert.equal(seen(response.body).body, "hi");
    await assert.rejects(
      viaProxy(
        new Proxy(withAuth.replace("sockpass", "nope")),
        new Request("GET", target.origin),
      ),
      (error) =>
        error instanceof ProxyError && /refused the username "sockuser"/.test(error.message),
    );
    await assert.rejects(
      viaProxy(new Proxy(proxy.url), new Request("GET", target.origin)),
      (error) =>
        error instanceof ProxyError &&
        /accepts none of the authentication methods/.test(error.message),
    );
  },
);

peerTest(
  "dante: SOCKS5 to a local target, and its refusal of a closed port",
  dantePeer,
  async () => {
    await using target = await startHttpTarget();
    await using proxy = await startDante();
    const response = await viaProxy(
      new Proxy(proxy.url),
      new Request("GET", `${target.origin}/d`),
    );
    assert.equal(seen(response.body).url, "/d");
    const closed = await startHttpTarget();
    const closedPort = closed.port;
    await closed.close();
    await assert.rejects(
      viaProxy(new Proxy(proxy.url), new Request("GET", `http://127.0.0.1:${closedPort}/`)),
      (error) => error instanceof ProxyError && /refused with reply \d/.test(error.message),
    );
  },
);

test("a proxy that accepts then closes: ProxyError for CONNECT and SOCKS5, nothing leaked", async () => {
  for (const afterBytes of [0, 1]) {
    await using closing = await startClosingProxy({ afterBytes });
    for (
      const url of [`http://127.0.0.1:${closing.port}`, `socks5://127.0.0.1:${closing.port}`]
    ) {
      await assert.rejects(
        viaProxy(
          new Proxy({ url, mode: "TUNNEL_ONLY" }),
          new Request("GET", "http://example.test/"),
        ),
        (error) => {
          assert.ok(error instanceof ProxyError, `${url}: ${error}`);
          assert.match(error.message, /127\.0\.0\.1:\d+/);
          return true;
        },
      );
    }
    assert.equal(closing.accepted(), 2);
  }
});

test("a proxy that answers garbage to CONNECT: ProxyError", async () => {
  await using closing = await startClosingProxy({
    afterBytes: 1,
    reply: new TextEncoder().encode("220 smtp.example ESMTP\r\n"),
  });
  await assert.rejects(
    viaProxy(
      new Proxy({ url: `http://127.0.0.1:${closing.port}`, mode: "TUNNEL_ONLY" }),
      new Request("GET", "http://example.test/"),
    ),
    ProxyError,
  );
});

test("an unreachable proxy is a ConnectError", async () => {
  const closing = await startClosingProxy();
  const port = closing.port;
  await closing.close();
  await assert.rejects(
    viaProxy(new Proxy(`http://127.0.0.1:${port}`), new Request("GET", "http://example.test/")),
    ConnectError,
  );
});

test("proxyPoolKey separates targets, proxies and credentials", () => {
  const a = new Proxy("http://127.0.0.1:3128");
  const b = new Proxy("http://u:p@127.0.0.1:3128");
  const keys = new Set([
    proxyPoolKey(a, new URL("https://one.example/")),
    proxyPoolKey(a, new URL("https://two.example/")),
    proxyPoolKey(a, new URL("http://one.example/")),
    proxyPoolKey(b, new URL("https://one.example/")),
  ]);
  assert.equal(keys.size, 4);
  assert.equal(
    proxyPoolKey(a, new URL("https://one.example/x")),
    proxyPoolKey(a, new URL("https://one.example:443/y")),
  );
});

test("forwardedRequest: absolute-form target and proxy headers on a copy only", () => {
  const proxy = new Proxy({ url: "http://u:p@127.0.0.1:3128", headers: { "X-Via": "ferry" } });
  const request = new Request("GET", "http://example.com:8080/a/b?c=d#frag", {
    headers: { "X-Via": "mine" },
  });
  const sent = forwardedRequest(proxy, request);
  assert.notEqual(sent, request);
  assert.equal(sent.extensions.target, "http://example.com:8080/a/b?c=d");
  assert.equal(sent.headers.get("proxy-authorization"), "Basic dTpw");
  assert.equal(sent.headers.get("x-via"), "mine", "the request's own header wins");
  assert.equal(request.headers.has("proxy-authorization"), false);
  // Tunnelled: the same request, unless it carries a Proxy-Authorization of its own.
  const https = new Request("GET", "https://example.com/");
  assert.equal(forwardedRequest(proxy, https), https);
  const leaky = new Request("GET", "https://example.com/", {
    headers: { "Proxy-Authorization": "x" },
  });
  assert.equal(forwardedRequest(proxy, leaky).headers.has("proxy-authorization"), false);
  // FORWARD_ONLY forwards https too, in absolute form.
  const forwardOnly = new Proxy({ url: "http://127.0.0.1:3128", mode: "FORWARD_ONLY" });
  assert.equal(forwardedRequest(forwardOnly, https).extensions.target, "https://example.com/");
});

peerTest("https:// proxy: TLS to the proxy, then forwarded requests", both, async () => {
  const certs = await makeTestCertificates();
  await using target = await startHttpTarget();
  await using tinyproxy = await startTinyproxy({ auth: ["t", "s"] });
  await using front = await startTlsFront(tinyproxy.port);
  const proxy = new Proxy({
    url: `https://t:s@localhost:${front.port}`,
    tls: { caCerts: [certs.caPem] },
  });
  const plain = await viaProxy(proxy, new Request("GET", `${target.origin}/over-tls`));
  assert.equal(seen(plain.body).url, "/over-tls");
  // The pool's CAs serve for the proxy when the proxy has no TLS settings of its own.
  const inherited = await viaProxy(
    new Proxy(`https://t:s@localhost:${front.port}`),
    new Request("GET", `${target.origin}/inherited`),
    { caCerts: [certs.caPem] },
  );
  assert.equal(seen(inherited.body).url, "/inherited");
  // Without the CA of the proxy's certificate, the proxy is refused.
  await assert.rejects(
    viaProxy(
      new Proxy({ url: `https://localhost:${front.port}`, tls: { caCerts: [certs.otherCaPem] } }),
      new Request("GET", `${target.origin}/`),
    ),
    (error) => error instanceof ConnectError && !(error instanceof ProxyError),
  );
});

peerTest(
  "https:// proxy: CONNECT, then TLS to the target inside the TLS to the proxy",
  both,
  async () => {
    const certs = await makeTestCertificates();
    await using secure = await startHttpsTarget();
    await using tinyproxy = await startTinyproxy();
    await using front = await startTlsFront(tinyproxy.port);
    const attempt = viaProxy(
      new Proxy(`https://localhost:${front.port}`),
      new Request("GET", `https://localhost:${secure.port}/tls-in-tls`),
      { caCerts: [certs.caPem] },
    );
    // The Node backend layers the target's TLS inside the proxy's TLS.
    assert.equal(seen((await attempt).body).url, "/tls-in-tls");
  },
);

peerTest(
  "https:// proxy: the Deno backend cannot layer TLS inside TLS and says what to do instead",
  both,
  async () => {
    const { DenoNetworkBackend } = await import("../src/network/deno.ts");
    const certs = await makeTestCertificates();
    await using secure = await startHttpsTarget();
    await using tinyproxy = await startTinyproxy();
    await using front = await startTlsFront(tinyproxy.port);
    const proxy = new Proxy({ url: `https://localhost:${front.port}` });
    const attempt = openProxiedStream(
      proxy,
      originOf(new URL(`https://localhost:${secure.port}/`)),
      { backend: new DenoNetworkBackend(), tls: { caCerts: [certs.caPem] } },
      5000,
      null,
    );
    await assert.rejects(attempt, (error) => {
      assert.ok(error instanceof ConnectError && !(error instanceof ProxyError));
      assert.match(error.message, /cannot start TLS inside TLS; use an http:\/\/ proxy URL/);
      return true;
    });
  },
  { denoOnly: "Deno.startTls takes only a TCP connection" },
);
