/**
 * `Connection.upgrade()` and upgrades through the pool: a WebSocket handshake against a
 * `node:http` upgrade server and against `Deno.serve` + `Deno.upgradeWebSocket`, and
 * `CONNECT` through a small `node:net` proxy and through tinyproxy.
 */

import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import { peerTest, test } from "./_harness.ts";
import { openConnection } from "../src/connection/mod.ts";
import { ConnectionPool } from "../src/pool.ts";
import { ProxyError, RemoteProtocolError } from "../src/errors.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";
import { cannedServer, eventually, ok } from "./_servers.ts";
import { startTinyproxy, tinyproxyPeer } from "./_peers/proxies.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function portOf(server: Server | ReturnType<typeof createHttpServer>): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

/** Reads from `stream` until `count` bytes came. */
async function readExactly(stream: NetworkStreamInterface, count: number): Promise<Uint8Array> {
  const out = new Uint8Array(count);
  let got = 0;
  while (got < count) {
    const chunk = await stream.read(count - got);
    if (chunk.length === 0) throw new Error(`Stream ended after ${got} of ${count} bytes`);
    out.set(chunk, got);
    got += chunk.length;
  }
  return out;
}

/** An upgrade server: 101 plus "hello" in the same write, then it echoes. */
async function startEchoUpgradeServer(
  status = 101,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createHttpServer((_request, response) => {
    response.writeHead(status === 101 ? 426 : status, { "Content-Length": "7" });
    response.end("refused");
  });
  server.on("upgrade", (request: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    if (status !== 101) {
      socket.end(`HTTP/1.1 ${status} Nope\r\nContent-Length: 4\r\n\r\nnope`);
      return;
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `X-Path: ${request.url}\r\n\r\nhello`,
    );
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => {});
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${portOf(server)}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("upgrade() hands over the stream after 101, bytes read past the head first", async () => {
  const server = await startEchoUpgradeServer();
  try {
    const connection = await openConnection(server.url);
    const stream = await connection.upgrade("GET", "/feed", {
      Upgrade: "websocket",
      Connection: "Upgrade",
    });
    assert.equal(String(connection), `<Connection "${server.url}/feed" WEBSOCKET>`);
    assert.equal(decoder.decode(await readExactly(stream, 5)), "hello");
    await stream.write(encoder.encode("ping"));
    assert.equal(decoder.decode(await readExactly(stream, 4)), "ping");
    await stream.close();
    assert.equal(connection.state, "CLOSED");
    await connection.close();
  } finally {
    await server.close();
  }
});

test("the prefix honours maxBytes", async () => {
  const server = await startEchoUpgradeServer();
  try {
    await using connection = await openConnection(server.url);
    const stream = await connection.upgrade("GET", "/", {
      Upgrade: "websocket",
      Connection: "Upgrade",
    });
    assert.equal(decoder.decode(await stream.read(2)), "he");
    assert.equal(decoder.decode(await stream.read(10)), "llo");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("a refused upgrade raises RemoteProtocolError and keeps the connection", async () => {
  const server = await startEchoUpgradeServer(400);
  try {
    await using connection = await openConnection(server.url);
    await assert.rejects(
      connection.upgrade("GET", "/feed", { Upgrade: "websocket", Connection: "Upgrade" }),
      (error: unknown) => error instanceof RemoteProtocolError && /400/.test(error.message),
    );
  } finally {
    await server.close();
  }
});

test("an upgrade through the pool: networkStream, and the connection stays active until closed", async () => {
  const server = await startEchoUpgradeServer();
  try {
    await using pool = new ConnectionPool();
    const response = await pool.stream("GET", `${server.url}/chat`, {
      headers: { Upgrade: "websocket", Connection: "Upgrade" },
    });
    assert.equal(response.status, 101);
    assert.equal(response.headers.get("x-path"), "/chat");
    const stream = response.extensions.networkStream!;
    assert.equal(String(pool), "<ConnectionPool [1 active]>");
    assert.equal(String(pool.connections[0]), `<Connection "${server.url}/chat" WEBSOCKET>`);
    assert.equal(decoder.decode(await readExactly(stream, 5)), "hello");
    await stream.close();
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
  } finally {
    await server.close();
  }
});

/** A CONNECT proxy on node:net: `200` and a pipe, or `refuse` as the status line. */
async function startConnectProxy(
  refuse?: string,
): Promise<{ url: string; port: number; targets: string[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const targets: string[] = [];
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      const [method, authority] = head.split(" ");
      targets.push(`${method} ${authority}`);
      if (refuse !== undefined) {
        client.end(`HTTP/1.1 ${refuse}\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const colon = authority.lastIndexOf(":");
      const upstream = netConnect(Number(authority.slice(colon + 1)), authority.slice(0, colon));
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      upstream.once("connect", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        const rest = head.slice(end + 4);
        if (rest.length > 0) upstream.write(Buffer.from(rest, "latin1"));
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = portOf(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    targets,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function getThrough(stream: NetworkStreamInterface, host: string): Promise<string> {
  await stream.write(
    encoder.encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  );
  let text = "";
  for (let chunk = await stream.read(); chunk.length > 0; chunk = await stream.read()) {
    text += decoder.decode(chunk);
  }
  return text;
}

test("upgrade('CONNECT') opens a tunnel through a proxy", async () => {
  const target = await cannedServer((_head, _i, socket) => {
    socket.end(ok("through the tunnel"));
    return null;
  });
  const proxy = await startConnectProxy();
  try {
    const connection = await openConnection(proxy.url);
    const authority = `127.0.0.1:${target.port}`;
    const stream = await connection.upgrade("CONNECT", authority);
    assert.deepEqual(proxy.targets, [`CONNECT ${authority}`]);
    assert.equal(
      String(connection),
      `<Connection "http://${authority}" VIA "${proxy.url}" CONNECT>`,
    );
    const answer = await getThrough(stream, authority);
    assert.match(answer, /^HTTP\/1.1 200 OK\r\n/);
    assert.match(answer, /through the tunnel$/);
    await stream.close();
    assert.equal(connection.state, "CLOSED");
  } finally {
    await proxy.close();
    await target.close();
  }
});

test("a CONNECT to port 443 shows as https in the repr", async () => {
  const proxy = await startConnectProxy("200 OK");
  try {
    const connection = await openConnection(proxy.url);
    const stream = await connection.upgrade("CONNECT", "www.encode.io:443");
    assert.equal(
      String(connection),
      `<Connection "https://www.encode.io" VIA "${proxy.url}" CONNECT>`,
    );
    await stream.close();
  } finally {
    await proxy.close();
  }
});

test("a refused CONNECT raises ProxyError with the proxy's status", async () => {
  const proxy = await startConnectProxy("407 Proxy Authentication Required");
  try {
    await using connection = await openConnection(proxy.url);
    await assert.rejects(
      connection.upgrade("CONNECT", "example.com:443"),
      (error: unknown) =>
        error instanceof ProxyError && error.status === 407 &&
        error.reasonPhrase === "Proxy Authentication Required",
    );
  } finally {
    await proxy.close();
  }
});

peerTest("upgrade('CONNECT') through tinyproxy", tinyproxyPeer, async () => {
  await using target = await cannedServer((_head, _i, socket) => {
    socket.end(ok("via tinyproxy"));
    return null;
  });
  await using proxy = await startTinyproxy();
  const connection = await openConnection(proxy.url);
  const stream = await connection.upgrade("CONNECT", `127.0.0.1:${target.port}`);
  const answer = await getThrough(stream, `127.0.0.1:${target.port}`);
  assert.match(answer, /via tinyproxy$/);
  await stream.close();
  await eventually(() => target.open === 0, "target socket closed");
});

/** A WebSocket frame from the client: FIN, text, masked. */
function maskedTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  frame.set(mask, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4];
  return frame;
}

test("a real WebSocket handshake with Deno.serve and Deno.upgradeWebSocket", {
  denoOnly: "Deno.serve and Deno.upgradeWebSocket",
}, async () => {
  // deno-lint-ignore no-explicit-any
  const Deno = (globalThis as any).Deno;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request: Request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onmessage = (event: MessageEvent) => socket.send(`echo: ${event.data}`);
      return response;
    },
  );
  try {
    const connection = await openConnection(`http://127.0.0.1:${server.addr.port}`);
    const stream = await connection.upgrade("GET", "/socket", {
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    });
    assert.equal(
      String(connection),
      `<Connection "http://127.0.0.1:${server.addr.port}/socket" WEBSOCKET>`,
    );
    await stream.write(maskedTextFrame("hi"));
    const header = await readExactly(stream, 2);
    assert.equal(header[0], 0x81); // FIN + text
    const payload = await readExactly(stream, header[1] & 0x7f);
    assert.equal(decoder.decode(payload), "echo: hi");
    // A close frame, then the stream.
    await stream.write(new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
    await readExactly(stream, 2);
    await stream.close();
  } finally {
    await server.shutdown();
  }
});
