import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { bytes, memoryPair } from "./_proxy_streams.ts";
import { openTunnel, prefixStream } from "../src/proxy/tunnel.ts";
import { ConnectTimeout, LocalProtocolError, ProxyError, WriteTimeout } from "../src/errors.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";

const text = (data: Uint8Array) => new TextDecoder().decode(data);

test("tunnel sends CONNECT in authority form with the proxy's headers", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    const head = await server.readUntil("\r\n\r\n");
    await server.write(bytes("HTTP/1.1 200 Connection established\r\n\r\n"));
    return head;
  })();
  const tunnel = await openTunnel(client, "example.com:443", {
    headers: [["Proxy-Authorization", "Basic dXNlcjpzZWNyZXQ="], ["Host", "ignored"]],
  });
  assert.equal(
    await serving,
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n" +
      "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n",
  );
  assert.equal(tunnel, client, "no early bytes: the stream itself is the tunnel");
  // The tunnel carries bytes both ways.
  await tunnel.write(bytes("ping"));
  assert.equal(String.fromCharCode(...await server.readBytes(4)), "ping");
  await client.close();
  await server.close();
});

test("tunnel accepts any 2xx, HTTP/1.0 included, after 1xx responses", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 201 OK\r\nVia: x\r\n\r\n"));
  })();
  const tunnel = await openTunnel(client, "[::1]:8443");
  await serving;
  assert.equal(tunnel, client);
  await client.close();
  await server.close();
});

test("tunnel hands back bytes the proxy sent right after its answer", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(bytes("HTTP/1.1 200 OK\r\n\r\nSSH-2.0-banner\r\n"));
    await server.write(bytes("more"));
  })();
  const tunnel = await openTunnel(client, "example.com:22");
  await serving;
  assert.notEqual(tunnel, client);
  assert.equal(text(await tunnel.read(4)), "SSH-");
  assert.equal(text(await tunnel.read()), "2.0-banner\r\n");
  assert.equal(text(await tunnel.read()), "more");
  // Starting TLS would lose early bytes; once they are read, it is passed on.
  await assert.rejects(
    prefixStream(client, bytes("x")).startTls({ hostname: "example.com" }),
    /sent 1 bytes of the tunnel before the TLS handshake/,
  );
  await assert.rejects(tunnel.startTls({}), /no TLS in memory/);
  await tunnel.close();
  assert.equal(client.closed, true);
  await server.close();
});

test("tunnel refused with 407 is a ProxyError with the status and reason", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(
      bytes(
        "HTTP/1.1 407 Proxy Authentication Required\r\n" +
          'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 5\r\n\r\nnope!',
      ),
    );
  })();
  await assert.rejects(
    openTunnel(client, "example.com:443", { proxyName: "http://127.0.0.1:3128" }),
    (error) => {
      assert.ok(error instanceof ProxyError);
      assert.equal(error.status, 407);
      assert.equal(error.reasonPhrase, "Proxy Authentication Required");
      assert.equal(
        error.message,
        "http://127.0.0.1:3128: CONNECT example.com:443: refused with 407 Proxy Authentication Required",
      );
      return true;
    },
  );
  await serving;
  await client.close();
  await server.close();
});

test("tunnel refused with 403 and no reason phrase", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(bytes("HTTP/1.1 403\r\n\r\n"));
  })();
  await assert.rejects(openTunnel(client, "example.com:25"), (error) => {
    assert.ok(error instanceof ProxyError);
    assert.equal(error.status, 403);
    assert.match(error.message, /refused with 403$/);
    return true;
  });
  await serving;
  await client.close();
  await server.close();
});

test("tunnel: a 101 answer to CONNECT is a refusal", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(bytes("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
  })();
  await assert.rejects(openTunnel(client, "example.com:80"), { status: 101 });
  await serving;
  await client.close();
  await server.close();
});

test("tunnel: a proxy that closes before answering is a ProxyError", async () => {
  for (const sent of ["", "HTTP/1.1 200 Conn"]) {
    const [client, server] = memoryPair();
    const serving = (async () => {
      await server.readUntil("\r\n\r\n");
      if (sent) await server.write(bytes(sent));
      await server.close();
    })();
    await assert.rejects(openTunnel(client, "example.com:443"), (error) => {
      assert.ok(error instanceof ProxyError, String(error));
      assert.equal(error.status, null);
      assert.match(
        error.message,
        sent
          ? /CONNECT example.com:443: Connection closed in the middle of the response head/
          : /CONNECT example.com:443: Connection closed without sending a response/,
      );
      return true;
    });
    await serving;
    await client.close();
  }
});

test("tunnel: garbage from the proxy is a ProxyError caused by a RemoteProtocolError", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readUntil("\r\n\r\n");
    await server.write(bytes("SSH-2.0-OpenSSH\r\n\r\n"));
  })();
  await assert.rejects(openTunnel(client, "example.com:443"), (error) => {
    assert.ok(error instanceof ProxyError);
    assert.equal((error.cause as Error).name, "RemoteProtocolError");
    return true;
  });
  await serving;
  await client.close();
  await server.close();
});

test("tunnel: an invalid header for the proxy is refused before anything is sent", async () => {
  const [client, server] = memoryPair();
  await assert.rejects(
    openTunnel(client, "example.com:443", { headers: [["X-Bad", "a\r\nb"]] }),
    LocalProtocolError,
  );
  assert.deepEqual(client.written, []);
  await client.close();
  await server.close();
});

test("tunnel: a timeout during the handshake is a ConnectTimeout", async () => {
  const stream: NetworkStreamInterface = {
    read: () => Promise.resolve(new Uint8Array(0)),
    write: () => Promise.reject(new WriteTimeout("Write timed out after 9 ms", { timeoutMs: 9 })),
    startTls: () => Promise.reject(new Error("no")),
    getExtraInfo: () => undefined,
    close: () => Promise.resolve(),
  };
  await assert.rejects(openTunnel(stream, "example.com:443", { timeoutMs: 9 }), (error) => {
    assert.ok(error instanceof ConnectTimeout);
    assert.equal(error.timeoutMs, 9);
    return true;
  });
});

for (const trickle of [false, true]) {
  test(`tunnel answer ${trickle ? "trickled byte by byte" : "whole"}: same outcome`, async () => {
    const [client, server] = memoryPair({ trickle });
    const serving = (async () => {
      await server.readUntil("\r\n\r\n");
      await server.write(
        bytes(
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nX: y\r\n\r\nearly",
        ),
      );
    })();
    const tunnel = await openTunnel(client, "example.com:443");
    await serving;
    let early = "";
    while (early.length < 5) early += text(await tunnel.read());
    assert.equal(early, "early");
    await tunnel.close();
    await server.close();
  });

  test(`tunnel refusal ${trickle ? "trickled byte by byte" : "whole"}: same ProxyError`, async () => {
    const [client, server] = memoryPair({ trickle });
    const serving = (async () => {
      await server.readUntil("\r\n\r\n");
      await server.write(bytes("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
    })();
    await assert.rejects(openTunnel(client, "example.com:443"), {
      name: "ProxyError",
      status: 502,
      reasonPhrase: "Bad Gateway",
    });
    await serving;
    await client.close();
    await server.close();
  });
}
