import assert from "node:assert/strict";
import type * as tls from "node:tls";
import { peerTest, runtime, type TestOptions } from "./_harness.ts";
import { makeTestCertificates, openssl, type TestCertificates } from "./_peers/tls_certs.ts";
import { tcpServer, type TestServer, tlsServer } from "./_peers/net_servers.ts";
import { ConnectError, ConnectTimeout, ReadError } from "../src/errors.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkStreamInterface, TlsOptions } from "../src/network/types.ts";
import { timeout } from "../src/timeout.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TLS echo-ish server: answers "hello <client CN or anonymous>" and closes. */
async function helloServer(
  certs: TestCertificates,
  options: Partial<tls.TlsOptions> = {},
): Promise<TestServer & { tlsErrors: Error[] }> {
  return await tlsServer(
    {
      cert: certs.serverCertPem,
      key: certs.serverKeyPem,
      ALPNProtocols: ["http/1.1"],
      ...options,
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(`hello ${peer?.subject?.CN ?? "anonymous"}`);
    },
  );
}

async function readAll(stream: NetworkStreamInterface): Promise<string> {
  let text = "";
  for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
    text += decoder.decode(part);
  }
  return text;
}

/** Connects over TCP and starts TLS; closes the plain stream when the upgrade fails. */
async function connectTls(port: number, options: TlsOptions): Promise<NetworkStreamInterface> {
  const plain = await new NetworkBackend().connect("127.0.0.1", port);
  try {
    return await plain.startTls(options);
  } catch (error) {
    await plain.close();
    throw error;
  }
}

function tlsTest(
  name: string,
  fn: (certs: TestCertificates) => Promise<void>,
  options: TestOptions = {},
): void {
  peerTest(name, openssl, async () => await fn(await makeTestCertificates()), options);
}

tlsTest("TLS with a trusted CA: handshake, ALPN, reprs, extra info", async (certs) => {
  await using server = await helloServer(certs);
  const plain = await new NetworkBackend().connect("127.0.0.1", server.port);
  const stream = await plain.startTls({
    hostname: "localhost",
    caCerts: [certs.caPem],
    alpnProtocols: ["h2", "http/1.1"],
  });
  assert.equal(plain.closed, true, "the plain stream is replaced");
  assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" TLS]>`);
  assert.equal(stream.getExtraInfo("tls"), true);
  assert.equal(stream.getExtraInfo("alpn_protocol"), "http/1.1");
  assert.ok(stream.getExtraInfo("tls_info"));
  assert.deepEqual(stream.getExtraInfo("server_addr"), {
    hostname: "127.0.0.1",
    port: server.port,
    transport: "tcp",
  });
  assert.equal(await readAll(stream), "hello anonymous");
  await stream.close();
  await stream.close();
  await plain.close(); // harmless after the upgrade
  assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" TLS CLOSED]>`);
});

tlsTest("TLS to an IP address checks the certificate's IP SAN", async (certs) => {
  await using server = await helloServer(certs);
  const stream = await connectTls(server.port, {
    hostname: "127.0.0.1",
    caCerts: [certs.caPem],
  });
  assert.equal(await readAll(stream), "hello anonymous");
  assert.equal(stream.getExtraInfo("alpn_protocol"), null, "no ALPN offered");
  await stream.close();
});

tlsTest("an unknown CA is rejected with a ConnectError that says why", async (certs) => {
  await using server = await helloServer(certs);
  await assert.rejects(
    connectTls(server.port, { hostname: "localhost", caCerts: [certs.otherCaPem] }),
    (error) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
      assert.match(error.message, /unknown authority|issuer|self[- ]signed/i);
      return true;
    },
  );
});

tlsTest("no extra CA: the system roots do not trust the test CA", async (certs) => {
  await using server = await helloServer(certs);
  await assert.rejects(connectTls(server.port, { hostname: "localhost" }), ConnectError);
});

tlsTest("an expired certificate is rejected with a ConnectError that says so", async (certs) => {
  await using server = await helloServer(certs, {
    cert: certs.expiredCertPem,
    key: certs.expiredKeyPem,
  });
  await assert.rejects(
    connectTls(server.port, { hostname: "localhost", caCerts: [certs.caPem] }),
    (error) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.match(error.message, /expired/i);
      return true;
    },
  );
});

tlsTest("a wrong host name is rejected with a ConnectError that says so", async (certs) => {
  await using server = await helloServer(certs);
  await assert.rejects(
    connectTls(server.port, { hostname: "wrong.example", caCerts: [certs.caPem] }),
    (error) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.match(error.message, /not valid for|does not match|altnames/i);
      assert.match(error.message, /wrong\.example/);
      return true;
    },
  );
});

tlsTest("a TLS handshake that never completes: ConnectTimeout", async () => {
  await using server = await tcpServer(); // accepts TCP, never speaks TLS
  const plain = await new NetworkBackend().connect("127.0.0.1", server.port);
  const start = performance.now();
  await assert.rejects(plain.startTls({ hostname: "localhost" }, 150), (error) => {
    assert.ok(error instanceof ConnectTimeout, String(error));
    assert.equal(error.message, "Connect timed out after 150 ms");
    return true;
  });
  assert.ok(performance.now() - start >= 150);
  await plain.close();
  // And under a scope.
  const again = await new NetworkBackend().connect("127.0.0.1", server.port);
  const error = await timeout(100, () => again.startTls({ hostname: "localhost" })).catch((
    e,
  ) => e);
  assert.ok(error instanceof ConnectTimeout, String(error));
  await again.close();
});

tlsTest("a server that requires a client certificate gets one through connect({ tls })", async (
  certs,
) => {
  await using server = await helloServer(certs, {
    requestCert: true,
    rejectUnauthorized: true,
    ca: [certs.caPem],
  });
  const options: TlsOptions = {
    hostname: "127.0.0.1",
    caCerts: [certs.caPem],
    cert: certs.clientCertPem,
    key: certs.clientKeyPem,
  };
  let stream: NetworkStreamInterface = await new NetworkBackend().connect(
    "127.0.0.1",
    server.port,
    { tls: options },
  );
  // A backend that does not know `tls` returns a plain stream: upgrade it here.
  if (stream.getExtraInfo("tls") !== true) stream = await stream.startTls(options);
  assert.equal(await readAll(stream), "hello ferry-test-client");
  await stream.close();
});

tlsTest("without the client certificate the server's refusal is an error", async (certs) => {
  await using server = await helloServer(certs, {
    requestCert: true,
    rejectUnauthorized: true,
    ca: [certs.caPem],
  });
  // With TLS 1.3 the client finishes its handshake before the server checks: the
  // refusal comes with the handshake or with the first read.
  let error: unknown = null;
  let stream: NetworkStreamInterface | null = null;
  try {
    stream = await connectTls(server.port, { hostname: "localhost", caCerts: [certs.caPem] });
    await readAll(stream);
  } catch (e) {
    error = e;
  }
  await stream?.close();
  assert.ok(error instanceof ConnectError || error instanceof ReadError, String(error));
});

tlsTest("a client certificate through startTls() on a fresh connection", async (certs) => {
  await using server = await helloServer(certs, {
    requestCert: true,
    rejectUnauthorized: true,
    ca: [certs.caPem],
  });
  // Deno.startTls cannot send a certificate: the Deno backend reconnects with
  // Deno.connectTls, which it can do while no byte went over the stream.
  const stream = await connectTls(server.port, {
    hostname: "127.0.0.1",
    caCerts: [certs.caPem],
    cert: certs.clientCertPem,
    key: certs.clientKeyPem,
    alpnProtocols: ["http/1.1"],
  });
  assert.equal(stream.getExtraInfo("tls"), true);
  assert.equal(stream.getExtraInfo("alpn_protocol"), "http/1.1");
  assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" TLS]>`);
  assert.equal(await readAll(stream), "hello ferry-test-client");
  await stream.close();
});

tlsTest(
  "Deno: what its TLS cannot do is refused clearly, and the stream stays usable",
  async (certs) => {
    await using server = await helloServer(certs);
    const plain = await new NetworkBackend().connect("127.0.0.1", server.port);
    const withCert = {
      caCerts: [certs.caPem],
      cert: certs.clientCertPem,
      key: certs.clientKeyPem,
    };
    await assert.rejects(plain.startTls({ verify: false }), (error) => {
      assert.ok(error instanceof ConnectError);
      assert.match(error.message, /Deno always verifies/);
      return true;
    });
    await assert.rejects(
      plain.startTls({ ...withCert, hostname: "localhost" }),
      /server name "localhost": Deno\.connectTls uses one name/,
    );
    await assert.rejects(
      plain.startTls({ caCerts: [certs.caPem], cert: certs.clientCertPem }),
      /needs both cert and key/,
    );
    assert.equal(plain.closed, false, "a refused upgrade leaves the stream usable");
    await plain.write(new Uint8Array([22])); // bytes went over: no reconnecting any more
    await assert.rejects(
      plain.startTls({ ...withCert, hostname: "127.0.0.1" }),
      /bytes were already exchanged/,
    );
    await plain.close();
    await assert.rejects(
      new NetworkBackend().connect("127.0.0.1", server.port, {
        tls: { ...withCert, hostname: "localhost" },
      }),
      /one name for both/,
    );
  },
  { denoOnly: "Deno's TLS limits" },
);

tlsTest("Node: verify: false accepts an unknown CA", async (certs) => {
  await using server = await helloServer(certs);
  const stream = await connectTls(server.port, { hostname: "localhost", verify: false });
  assert.equal(await readAll(stream), "hello anonymous");
  await stream.close();
}, { skip: runtime === "deno" ? "Deno cannot switch certificate verification off" : false });

// Written bytes travel whole through TLS too.
tlsTest("TLS: large writes and reads", async (certs) => {
  const total = 4 * 1024 * 1024;
  await using server = await tlsServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (
    socket,
  ) => {
    let received = 0;
    socket.on("data", (chunk: Uint8Array) => {
      received += chunk.length;
      if (received >= total) socket.end(`got ${received}`);
    });
  });
  const stream = await connectTls(server.port, { hostname: "localhost", caCerts: [certs.caPem] });
  await stream.write(encoder.encode("a".repeat(total)));
  assert.equal(await readAll(stream), `got ${total}`);
  await stream.close();
});
