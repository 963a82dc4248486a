import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { memoryPair } from "./_proxy_streams.ts";
import { socks5Connect } from "../src/proxy/socks5.ts";
import { ConnectTimeout, ProxyError, ReadTimeout } from "../src/errors.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";

const SUCCESS_V4 = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

test("socks5 without credentials offers only 'no authentication' and sends a name", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    assert.deepEqual(await server.readBytes(3), [5, 1, 0]);
    await server.write(Uint8Array.of(5, 0));
    const head = await server.readBytes(5);
    assert.deepEqual(head, [5, 1, 0, 3, 11]);
    const name = await server.readBytes(11 + 2);
    assert.equal(String.fromCharCode(...name.slice(0, 11)), "example.com");
    assert.deepEqual(name.slice(11), [0x01, 0xbb]);
    await server.write(Uint8Array.from(SUCCESS_V4));
    await server.write(new TextEncoder().encode("after"));
  })();
  await socks5Connect(client, "example.com", 443);
  await serving;
  // The handshake never read past the reply: the tunnelled bytes are still there.
  assert.equal(new TextDecoder().decode(await client.read()), "after");
  await client.close();
  await server.close();
});

test("socks5 with credentials authenticates with RFC 1929", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    assert.deepEqual(await server.readBytes(4), [5, 2, 0, 2]);
    await server.write(Uint8Array.of(5, 2));
    const auth = await server.readBytes(1 + 1 + 4 + 1 + 6);
    assert.deepEqual(auth, [
      1,
      4,
      ...new TextEncoder().encode("user"),
      6,
      ...new TextEncoder().encode("s3cret"),
    ]);
    await server.write(Uint8Array.of(1, 0));
    assert.deepEqual(await server.readBytes(10), [5, 1, 0, 1, 10, 1, 2, 3, 0, 80]);
    // A reply with a name as the bound address, to check that it is skipped whole.
    await server.write(Uint8Array.of(5, 0, 0, 3, 4, 0x61, 0x62, 0x63, 0x64, 0, 80));
  })();
  await socks5Connect(client, "10.1.2.3", 80, { auth: ["user", "s3cret"] });
  await serving;
  await client.close();
  await server.close();
});

test("socks5 sends IPv6 literals as addresses, brackets or not", async () => {
  for (const host of ["[::1]", "2001:db8::7"]) {
    const [client, server] = memoryPair();
    const serving = (async () => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 0));
      const request = await server.readBytes(4 + 16 + 2);
      assert.equal(request[3], 4);
      return request.slice(4, 20);
    })();
    const connecting = socks5Connect(client, host, 8080);
    const address = await serving;
    await server.write(Uint8Array.of(5, 0, 0, 4, ...new Array(16).fill(0), 0, 1));
    await connecting;
    const expected = host === "[::1]"
      ? [...new Array(15).fill(0), 1]
      : [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 7];
    assert.deepEqual(address, expected);
    await client.close();
    await server.close();
  }
});

test("socks5 (local DNS) resolves names first; socks5h leaves them to the proxy", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readBytes(3);
    await server.write(Uint8Array.of(5, 0));
    const request = await server.readBytes(10);
    await server.write(Uint8Array.from(SUCCESS_V4));
    return request;
  })();
  const asked: string[] = [];
  await socks5Connect(client, "db.internal", 5432, {
    remoteDns: false,
    resolve: (host) => {
      asked.push(host);
      return Promise.resolve("192.0.2.9");
    },
  });
  assert.deepEqual(asked, ["db.internal"]);
  assert.deepEqual(await serving, [5, 1, 0, 1, 192, 0, 2, 9, 0x15, 0x38]);
  await client.close();
  await server.close();
});

test("socks5 without a resolver maps localhost to 127.0.0.1 for local DNS", async () => {
  const [client, server] = memoryPair();
  const serving = (async () => {
    await server.readBytes(3);
    await server.write(Uint8Array.of(5, 0));
    const request = await server.readBytes(10);
    await server.write(Uint8Array.from(SUCCESS_V4));
    return request;
  })();
  await socks5Connect(client, "localhost", 80, { remoteDns: false });
  assert.deepEqual((await serving).slice(3, 8), [1, 127, 0, 0, 1]);
  await client.close();
  await server.close();
});

async function expectProxyError(
  serve: (server: Awaited<ReturnType<typeof memoryPair>>[1]) => Promise<void>,
  options: Parameters<typeof socks5Connect>[3],
  pattern: RegExp,
  reason?: string,
): Promise<void> {
  const [client, server] = memoryPair();
  const serving = serve(server).catch(() => {});
  await assert.rejects(socks5Connect(client, "example.com", 80, options), (error) => {
    assert.ok(error instanceof ProxyError, `not a ProxyError: ${error}`);
    assert.match(error.message, pattern);
    if (reason) assert.equal(error.reasonPhrase, reason);
    return true;
  });
  await client.close();
  await server.close();
  await serving;
}

test("socks5 refusing every offered method is a ProxyError", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 0xff));
    },
    {},
    /accepts none of the authentication methods/,
    "No acceptable authentication method",
  );
});

test("socks5 asking for credentials we do not have is a ProxyError", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 2));
    },
    {},
    /accepts none of the authentication methods/,
  );
});

test("socks5 wrong credentials are a ProxyError that names the user, not the password", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(4);
      await server.write(Uint8Array.of(5, 2));
      await server.readBytes(2 + 4 + 1 + 5);
      await server.write(Uint8Array.of(1, 1));
    },
    { auth: ["user", "wrong"] },
    /refused the username "user" and its password \(status 1\)/,
    "Authentication failed",
  );
});

test("socks5 connect refusal carries the RFC 1928 reason", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 0));
      await server.readBytes(5 + 11 + 2);
      await server.write(Uint8Array.of(5, 5, 0, 1, 0, 0, 0, 0, 0, 0));
    },
    { proxyName: "socks5://127.0.0.1:1080" },
    /socks5:\/\/127\.0\.0\.1:1080: CONNECT example\.com:80: refused with reply 5 \(Connection refused\)/,
    "Connection refused",
  );
});

test("socks5 proxy that is not SOCKS5 is a ProxyError", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
    },
    {},
    /version 72: it is not a SOCKS5 proxy/,
  );
});

test("socks5 proxy closing mid-handshake is a ProxyError", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 0));
      await server.readBytes(5 + 11 + 2);
      await server.write(Uint8Array.of(5, 0, 0));
      await server.close();
    },
    {},
    /closed the connection after 3 of 5 bytes/,
  );
});

test("socks5 malformed reply address type is a ProxyError", async () => {
  await expectProxyError(
    async (server) => {
      await server.readBytes(3);
      await server.write(Uint8Array.of(5, 0));
      await server.readBytes(5 + 11 + 2);
      await server.write(Uint8Array.of(5, 0, 0, 9, 0));
    },
    {},
    /malformed reply \(version 5, address type 9\)/,
  );
});

test("socks5 credentials over 255 bytes are refused before anything is sent", async () => {
  const [client, server] = memoryPair();
  await assert.rejects(
    socks5Connect(client, "example.com", 80, { auth: ["u".repeat(256), "p"] }),
    /at most 255 bytes/,
  );
  assert.deepEqual(client.written, []);
  await client.close();
  await server.close();
});

test("socks5 handshake timeout is a ConnectTimeout", async () => {
  const stream: NetworkStreamInterface = {
    read: () => Promise.reject(new ReadTimeout("Read timed out after 5 ms", { timeoutMs: 5 })),
    write: () => Promise.resolve(),
    startTls: () => Promise.reject(new Error("no")),
    getExtraInfo: () => undefined,
    close: () => Promise.resolve(),
  };
  await assert.rejects(socks5Connect(stream, "example.com", 80, { timeoutMs: 5 }), (error) => {
    assert.ok(error instanceof ConnectTimeout);
    assert.equal(error.timeoutMs, 5);
    assert.match(error.message, /greeting: timed out/);
    return true;
  });
});

test("socks5 network failure during the handshake is a ProxyError with the cause", async () => {
  const cause = new Error("Connection reset by peer");
  const stream: NetworkStreamInterface = {
    read: () => Promise.reject(cause),
    write: () => Promise.resolve(),
    startTls: () => Promise.reject(new Error("no")),
    getExtraInfo: () => undefined,
    close: () => Promise.resolve(),
  };
  await assert.rejects(socks5Connect(stream, "example.com", 80), (error) => {
    assert.ok(error instanceof ProxyError);
    assert.equal(error.cause, cause);
    assert.match(error.message, /greeting: Connection reset by peer/);
    return true;
  });
});

test("socks5 rejects an out-of-range port", async () => {
  const [client, server] = memoryPair();
  await assert.rejects(socks5Connect(client, "example.com", 70000), ProxyError);
  assert.deepEqual(client.written, []);
  await client.close();
  await server.close();
});

for (const trickle of [false, true]) {
  test(`socks5 handshake with every reply ${trickle ? "trickled byte by byte" : "whole"}`, async () => {
    const [client, server] = memoryPair({ trickle });
    const serving = (async () => {
      assert.deepEqual(await server.readBytes(4), [5, 2, 0, 2]);
      await server.write(Uint8Array.of(5, 2));
      await server.readBytes(1 + 1 + 1 + 1 + 1);
      await server.write(Uint8Array.of(1, 0));
      await server.readBytes(5 + 11 + 2);
      // A domain-name bound address, then the first bytes of the tunnelled protocol.
      await server.write(Uint8Array.of(5, 0, 0, 3, 3, 0x61, 0x62, 0x63, 0, 80, 0x48, 0x49));
    })();
    await socks5Connect(client, "example.com", 80, { auth: ["u", "p"] });
    await serving;
    assert.equal(String.fromCharCode(...await client.readBytes(2)), "HI");
    await client.close();
    await server.close();
  });
}
