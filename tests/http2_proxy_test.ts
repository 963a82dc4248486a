/**
 * HTTP/2 through proxies: h2 inside an HTTP CONNECT tunnel (tinyproxy), through an
 * `https://` proxy (TLS to the proxy, then TLS with ALPN to the target inside it), and
 * through SOCKS5 (microsocks), the ALPN offer made on the inner TLS each time.
 */

import assert from "node:assert/strict";
import { peerTest } from "./_harness.ts";
import { h2Server } from "./_h2_servers.ts";
import {
  microsocksPeer,
  startMicrosocks,
  startTinyproxy,
  startTlsFront,
  tinyproxyPeer,
} from "./_peers/proxies.ts";
import { makeTestCertificates, openssl } from "./_peers/tls_certs.ts";
import { CA_CERT } from "./_tls_fixtures.ts";
import { ConnectionPool } from "../src/pool.ts";
import { NodeNetworkBackend } from "../src/network/node.ts";
import type { NetworkBackendInterface } from "../src/network/types.ts";

/** An h2-only TLS server whose answers name the stream, and three concurrent requests. */
async function threeOverOne(
  proxy: string,
  caCerts: string[],
  backend?: NetworkBackendInterface,
): Promise<void> {
  await using server = await h2Server({
    "/": (stream) => {
      stream.respond({ ":status": 200 });
      stream.end(`stream ${stream.id}`);
    },
  }, { tls: true });
  const origin = `https://127.0.0.1:${server.port}`;
  await using pool = new ConnectionPool({ http2: true, proxy, tls: { caCerts }, backend });
  const responses = await Promise.all([1, 2, 3].map(() => pool.request("GET", `${origin}/`)));
  for (const response of responses) assert.equal(response.httpVersion, "HTTP/2");
  assert.deepEqual(
    (await Promise.all(responses.map((response) => response.text()))).sort(),
    ["stream 1", "stream 3", "stream 5"],
  );
  assert.equal(server.sessions.length, 1);
  assert.match(String(pool.connections[0]), /HTTP\/2 IDLE>$/);
}

peerTest("HTTP/2 inside an HTTP CONNECT tunnel (tinyproxy)", tinyproxyPeer, async () => {
  const proxy = await startTinyproxy();
  try {
    await threeOverOne(proxy.url, [CA_CERT]);
  } finally {
    await proxy.stop();
  }
});

peerTest(
  "HTTP/2 through an https:// proxy: TLS with ALPN inside the proxy's TLS",
  {
    pkg: `${tinyproxyPeer.pkg} ${openssl.pkg}`,
    available: tinyproxyPeer.available && openssl.available,
  },
  async () => {
    const certs = await makeTestCertificates();
    const tinyproxy = await startTinyproxy();
    const front = await startTlsFront(tinyproxy.port);
    try {
      // The Node backend (node:tls, under Deno too) layers TLS inside TLS; Deno's own
      // backend cannot (README: proxies).
      await threeOverOne(
        `https://localhost:${front.port}`,
        [certs.caPem, CA_CERT],
        new NodeNetworkBackend(),
      );
    } finally {
      await front.close();
      await tinyproxy.stop();
    }
  },
);

peerTest("HTTP/2 through SOCKS5 (microsocks)", microsocksPeer, async () => {
  const proxy = await startMicrosocks();
  try {
    await threeOverOne(proxy.url, [CA_CERT]);
  } finally {
    await proxy.stop();
  }
});
