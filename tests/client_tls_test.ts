/** The client's TLS settings (`verify`, `cert`, `SSL_CERT_FILE`) against a local TLS server. */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { peerTest, runtime, type TestOptions, withEnv } from "./_harness.ts";
import { makeTestCertificates, openssl, type TestCertificates } from "./_peers/tls_certs.ts";
import { tcpServer, tlsServer } from "./_peers/net_servers.ts";
import { useNodeFileAccess } from "./_file_access.ts";
import { Client, ConnectError } from "../mod.ts";

/** Answers every request with the client certificate's CN (or "anonymous"), then closes. */
async function whoAmIServer(certs: TestCertificates) {
  return await tlsServer(
    {
      cert: certs.serverCertPem,
      key: certs.serverKeyPem,
      ca: [certs.caPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      socket.once("data", () => {
        const body = socket.getPeerCertificate()?.subject?.CN ?? "anonymous";
        socket.end(
          `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
    },
  );
}

function tlsClientTest(
  name: string,
  fn: (certs: TestCertificates, url: string) => Promise<void>,
  options: TestOptions = {},
) {
  peerTest(`client TLS: ${name}`, openssl, async () => {
    useNodeFileAccess();
    const certs = await makeTestCertificates();
    const server = await whoAmIServer(certs);
    try {
      await fn(certs, `https://127.0.0.1:${server.port}/`);
    } finally {
      await server.close();
    }
  }, options);
}

tlsClientTest("verify with a CA as PEM text or as a path", async (certs, url) => {
  await using pem = new Client({ verify: certs.caPem });
  assert.equal(await (await pem.get(url)).text(), "anonymous");
  await using path = new Client({ verify: join(certs.dir, "ca.pem") });
  assert.equal((await path.get(url)).status, 200);
});

tlsClientTest("the default trust store does not know the test CA", async (_certs, url) => {
  await using client = new Client({ trustEnv: false });
  await assert.rejects(client.get(url), ConnectError);
});

tlsClientTest("a client certificate from PEM files or text", async (certs, url) => {
  await using files = new Client({
    verify: certs.caPem,
    cert: [join(certs.dir, "client.pem"), join(certs.dir, "client.key")],
  });
  assert.equal(await (await files.get(url)).text(), "ferry-test-client");
  await using text = new Client({
    verify: certs.caPem,
    cert: { cert: certs.clientCertPem, key: certs.clientKeyPem },
  });
  assert.equal(await (await text.get(url)).text(), "ferry-test-client");
  const combined = join(certs.dir, "client-combined.pem");
  writeFileSync(combined, certs.clientCertPem + "\n" + certs.clientKeyPem);
  await using one = new Client({ verify: certs.caPem, cert: combined });
  assert.equal(await (await one.get(url)).text(), "ferry-test-client");
});

tlsClientTest(
  "a cert file without a private key is refused before connecting",
  async (certs, url) => {
    await using client = new Client({ verify: certs.caPem, cert: join(certs.dir, "client.pem") });
    await assert.rejects(
      client.get(url),
      /Invalid cert ".*client.pem": no private key found in it/,
    );
  },
);

tlsClientTest("SSL_CERT_FILE is trusted with trustEnv, ignored without", async (certs, url) => {
  await withEnv({ SSL_CERT_FILE: join(certs.dir, "ca.pem") }, async () => {
    await using trusting = new Client();
    assert.equal((await trusting.get(url)).status, 200);
    await using ignoring = new Client({ trustEnv: false });
    await assert.rejects(ignoring.get(url), ConnectError);
  });
});

tlsClientTest(
  "a CA file is read only for TLS; a missing one fails the connection naming it",
  async (
    _certs,
    url,
  ) => {
    const missing = "/nonexistent/ferry-ca.pem";
    const plain = await tcpServer((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
    );
    try {
      await using client = new Client({ verify: missing });
      assert.equal((await client.get(`http://127.0.0.1:${plain.port}/`)).status, 204);
      const error = await client.get(url).catch((error) => error);
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(
        error.message,
        `Cannot read the CA certificates in "${missing}" (caFiles): no such file or directory ` +
          `(ENOENT) (GET ${url})`,
      );
    } finally {
      await plain.close();
    }
  },
);

tlsClientTest("an SSL_CERT_FILE that names no file is skipped, as OpenSSL does", async (
  certs,
  url,
) => {
  await withEnv(
    { SSL_CERT_FILE: "/nonexistent/ferry-ca.pem", SSL_CERT_DIR: certs.dir },
    async () => {
      await using client = new Client();
      assert.equal((await client.get(url)).status, 200);
    },
  );
});

tlsClientTest("SSL_CERT_DIR: certificates in a folder are trusted", async (certs, url) => {
  // The folder holds ca.pem among other files.
  await withEnv({ SSL_CERT_FILE: undefined, SSL_CERT_DIR: certs.dir }, async () => {
    await using client = new Client();
    assert.equal((await client.get(url)).status, 200);
  });
});

tlsClientTest("verify: false skips checks where the runtime allows it", async (_certs, url) => {
  await using client = new Client({ verify: false });
  if (runtime === "deno") {
    // Deno always verifies; the backend refuses instead of pretending.
    await assert.rejects(client.get(url), ConnectError);
  } else {
    assert.equal((await client.get(url)).status, 200);
  }
});
