/**
 * HTTP/2 against real servers: nginx-light's http2 module (TLS with ALPN, and h2c) and
 * nghttpd (Debian's nghttp2-server), through `Http2Connection`.
 */

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { peerTest } from "./_harness.ts";
import { nginxPeer, SMALL_BODY, startNginx } from "./_peers/nginx.ts";
import { nghttpdPeer, startNghttpd } from "./_peers/nghttpd.ts";
import { scratchDir } from "./_peers/common.ts";
import { CA_CERT, SERVER_CERT, SERVER_KEY } from "./_tls_fixtures.ts";
import { Http2Connection } from "../src/http2/connection.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";

const backend = new NetworkBackend();

async function open(origin: string): Promise<Http2Connection> {
  const url = new URL(origin);
  let stream: NetworkStreamInterface = await backend.connect("127.0.0.1", Number(url.port));
  if (url.protocol === "https:") {
    stream = await stream.startTls({
      hostname: "localhost",
      caCerts: [CA_CERT],
      alpnProtocols: ["h2", "http/1.1"],
    });
    assert.equal(stream.getExtraInfo("alpn_protocol"), "h2");
  }
  return new Http2Connection(stream, origin);
}

async function concurrentGets(connection: Http2Connection, path: string, count: number) {
  const responses = await Promise.all(
    Array.from({ length: count }, () => connection.request("GET", path)),
  );
  return responses;
}

for (const mode of ["tls", "h2c"] as const) {
  peerTest(
    `nginx (${mode}): concurrent requests share one HTTP/2 connection`,
    nginxPeer,
    async () => {
      const dir = scratchDir("ferry-h2-certs-");
      writeFileSync(join(dir, "cert.pem"), SERVER_CERT);
      writeFileSync(join(dir, "key.pem"), SERVER_KEY);
      const nginx = await startNginx({
        http2: mode,
        tls: mode === "tls"
          ? { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") }
          : undefined,
        largeBytes: 8 * 1024 * 1024,
      });
      try {
        await using connection = await open(nginx.origin);
        const responses = await concurrentGets(connection, "/", 10);
        for (const response of responses) {
          assert.equal(response.status, 200);
          assert.equal(response.httpVersion, "HTTP/2");
          assert.equal(await response.text(), SMALL_BODY);
        }
        assert.deepEqual(
          responses.map((response) => response.extensions.streamId).sort((a, b) =>
            Number(a) - Number(b)
          ),
          [1, 3, 5, 7, 9, 11, 13, 15, 17, 19],
        );
        const large = await connection.request("GET", "/large.bin");
        assert.equal((await large.bytes()).length, 8 * 1024 * 1024);
        const missing = await connection.request("GET", "/missing");
        assert.equal(missing.status, 404);
        assert.equal(connection.state, "IDLE");
      } finally {
        await nginx.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  peerTest(`nghttpd (${mode}): requests and a 4 MiB download`, nghttpdPeer, async () => {
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 253);
    await using server = await startNghttpd({ "index.html": "hello nghttpd\n", "big.bin": big }, {
      tls: mode === "tls",
    });
    await using connection = await open(server.origin);
    const [index, download] = await Promise.all([
      connection.request("GET", "/index.html"),
      connection.request("GET", "/big.bin"),
    ]);
    assert.equal(await index.text(), "hello nghttpd\n");
    assert.deepEqual(await download.bytes(), big);
    assert.equal(download.httpVersion, "HTTP/2");
    assert.equal((await connection.request("GET", "/nope")).status, 404);
  });
}
