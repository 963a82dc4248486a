/**
 * Borrowed body chunks (the `borrowBodyChunks` request extension) and the optional
 * `readInto()` of network streams: content over real loopback sockets (Content-Length,
 * chunked, read-to-close) and over the in-memory pair one byte at a time; `bytes()`,
 * `body` and decoding copy what they keep; the connection is reused afterwards; without
 * the extension chunks stay the caller's.
 */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import { cannedServer } from "./_servers.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Connection } from "../src/connection/mod.ts";
import { memoryStreamPair } from "../src/network/memory.ts";
import { ResponseParser } from "../src/http11/parser.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import { NodeNetworkBackend } from "../src/network/node.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";
import type { Response } from "../src/models/response.ts";
import { ReadError, ReadTimeout } from "../src/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes whose value depends on the position, so a buffer overwritten in place shows. */
function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = 0x9e3779b9 ^ seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Iterates a body keeping both each chunk as handed out and a copy made at once. */
async function collect(
  response: Response,
  raw = false,
): Promise<{ kept: Uint8Array[]; copies: Uint8Array[] }> {
  const kept: Uint8Array[] = [];
  const copies: Uint8Array[] = [];
  for await (const chunk of raw ? response.iterRaw() : response.iterBytes()) {
    kept.push(chunk);
    copies.push(chunk.slice());
  }
  return { kept, copies };
}

/** Asserts equal bytes, naming the first difference (a diff of megabytes takes ages). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "body"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Whether some kept chunk no longer holds what it held when it was handed out. */
function someOverwritten(kept: Uint8Array[], copies: Uint8Array[]): boolean {
  return kept.some((chunk, i) => !chunk.every((byte, j) => byte === copies[i][j]));
}

const LARGE = 1024 * 1024 + 77; // more than the 256 KiB read buffer: several reads
const BODY = pattern(LARGE);

interface HttpServer {
  url: string;
  connections: number;
  close(): Promise<void>;
}

/** A node:http server: /length (Content-Length), /chunked (many writes), /gzip, /small. */
async function httpServer(): Promise<HttpServer> {
  const state = { connections: 0 };
  const gzipped = gzipSync(BODY);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? "/";
    if (path === "/length") {
      response.writeHead(200, { "Content-Length": String(BODY.length) });
      response.end(BODY);
    } else if (path === "/chunked") {
      // node:http frames writes without a length as chunks; uneven sizes cross reads.
      response.writeHead(200, { "Content-Type": "application/octet-stream" });
      let offset = 0;
      let size = 1;
      const more = (): void => {
        while (offset < BODY.length) {
          const end = Math.min(BODY.length, offset + size);
          const piece = BODY.subarray(offset, end);
          offset = end;
          size = size * 3 + 7 > 200_000 ? 1 : size * 3 + 7;
          if (!response.write(piece)) return void response.once("drain", more);
        }
        response.end();
      };
      more();
    } else if (path === "/gzip") {
      response.writeHead(200, {
        "Content-Length": String(gzipped.length),
        "Content-Encoding": "gzip",
      });
      response.end(gzipped);
    } else {
      response.writeHead(200, { "Content-Length": "5" });
      response.end("small");
    }
  });
  server.on("connection", () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

const BORROW = { extensions: { borrowBodyChunks: true } };

test("borrowed chunks: Content-Length body over loopback, views into one reused buffer", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    await using response = await pool.stream("GET", `${server.url}/length`, BORROW);
    const { kept, copies } = await collect(response);
    assertBytes(concat(copies), BODY);
    // The chunks were borrowed: holding on to them without copying does not work.
    assert.ok(someOverwritten(kept, copies), "no kept chunk was overwritten: not borrowed?");
    assert.equal(response.numBytesDownloaded, LARGE);
  } finally {
    await server.close();
  }
});

test("borrowed chunks: chunked body over loopback, iterRaw and iterBytes(chunkSize)", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    {
      await using response = await pool.stream("GET", `${server.url}/chunked`, BORROW);
      assert.equal(response.headers.get("transfer-encoding"), "chunked");
      const { kept, copies } = await collect(response, true);
      assertBytes(concat(copies), BODY);
      assert.ok(someOverwritten(kept, copies));
    }
    {
      await using response = await pool.stream("GET", `${server.url}/chunked`, BORROW);
      const copies: Uint8Array[] = [];
      for await (const chunk of response.iterBytes(100_000)) {
        assert.ok(chunk.length === 100_000 || copies.length === Math.floor(LARGE / 100_000));
        copies.push(chunk.slice());
      }
      assertBytes(concat(copies), BODY);
    }
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("borrowed chunks: a read-to-close body over loopback", async () => {
  await using server = await cannedServer((_head, _index, socket) => {
    socket.end(concat([encoder.encode("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"), BODY]));
    return null;
  });
  await using pool = new ConnectionPool();
  await using response = await pool.stream("GET", `${server.url}/`, BORROW);
  assert.equal(response.headers.get("content-length"), null);
  const { kept, copies } = await collect(response);
  assertBytes(concat(copies), BODY);
  assert.ok(someOverwritten(kept, copies));
});

test("borrowed chunks: bytes(), text() and the read-all path copy what they keep", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    {
      await using response = await pool.stream("GET", `${server.url}/length`, BORROW);
      assertBytes(await response.bytes(), BODY);
      assertBytes(response.content, BODY);
    }
    {
      await using response = await pool.stream("GET", `${server.url}/chunked`, BORROW);
      assert.equal(await response.text(), decoder.decode(BODY));
    }
    // pool.request reads the whole body before returning.
    const response = await pool.request("GET", `${server.url}/chunked`, BORROW);
    assertBytes(response.content, BODY);
    // The connection was kept and serves the next request, borrowed or not.
    const small = await pool.request("GET", `${server.url}/small`, BORROW);
    assert.equal(await small.text(), "small");
    const plain = await pool.request("GET", `${server.url}/length`);
    assertBytes(plain.content, BODY);
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("borrowed chunks: body as a ReadableStream hands out copies its reader may keep", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    await using response = await pool.stream("GET", `${server.url}/length`, BORROW);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    assertBytes(concat(chunks), BODY);
  } finally {
    await server.close();
  }
});

test("borrowed chunks: a gzip body decodes the same (the decoder gets copies)", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    {
      await using response = await pool.stream("GET", `${server.url}/gzip`, BORROW);
      const { copies } = await collect(response);
      assertBytes(concat(copies), BODY);
    }
    {
      await using response = await pool.stream("GET", `${server.url}/gzip`, BORROW);
      assertBytes(await response.bytes(), BODY);
    }
  } finally {
    await server.close();
  }
});

test("without borrowBodyChunks a kept chunk is unchanged by later reads", async () => {
  const server = await httpServer();
  try {
    await using pool = new ConnectionPool();
    for (const path of ["/length", "/chunked"]) {
      await using response = await pool.stream("GET", `${server.url}${path}`);
      const { kept, copies } = await collect(response);
      assert.ok(kept.length > 4);
      assert.ok(!someOverwritten(kept, copies), "a kept chunk changed after later reads");
      assertBytes(concat(kept), BODY);
    }
  } finally {
    await server.close();
  }
});

test("borrowBodyChunks over a stream without readInto() falls back to owned chunks", async () => {
  const server = await httpServer();
  try {
    // A wrapper that offers only read(): what third-party streams look like.
    const backend = new NetworkBackend();
    const plain = {
      async connect(host: string, port: number): Promise<NetworkStreamInterface> {
        const inner = await backend.connect(host, port);
        return {
          read: (maxBytes, timeoutMs) => inner.read(maxBytes, timeoutMs),
          write: (data, timeoutMs) => inner.write(data, timeoutMs),
          startTls: (options, timeoutMs) => inner.startTls(options, timeoutMs),
          getExtraInfo: (key) => inner.getExtraInfo(key),
          close: () => inner.close(),
        };
      },
    };
    await using pool = new ConnectionPool({ backend: plain });
    await using response = await pool.stream("GET", `${server.url}/chunked`, BORROW);
    const { kept, copies } = await collect(response);
    assert.ok(!someOverwritten(kept, copies), "a kept chunk changed after later reads");
    assertBytes(concat(kept), BODY);
  } finally {
    await server.close();
  }
});

test("borrowed chunks: a read that times out mid-body fails and closes the connection", async () => {
  await using server = await cannedServer((_head, _index, socket) => {
    // Half the body, then silence.
    socket.write(encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${LARGE}\r\n\r\n`));
    socket.write(BODY.subarray(0, LARGE >> 1));
    return null;
  });
  await using pool = new ConnectionPool();
  const response = await pool.stream("GET", `${server.url}/`, {
    extensions: { borrowBodyChunks: true, timeout: { read: 100 } },
  });
  let received = 0;
  await assert.rejects(async () => {
    for await (const chunk of response.iterBytes()) received += chunk.length;
  }, ReadTimeout);
  assert.equal(received, LARGE >> 1);
  assert.equal(pool.connections.length, 0);
});

test("borrowed chunks: an abort while a borrowed read waits rejects with its reason", async () => {
  await using server = await cannedServer((_head, _index, socket) => {
    socket.write(encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${LARGE}\r\n\r\n`));
    socket.write(BODY.subarray(0, 1000));
    return null;
  });
  await using pool = new ConnectionPool();
  const controller = new AbortController();
  const response = await pool.stream("GET", `${server.url}/`, {
    extensions: { borrowBodyChunks: true, signal: controller.signal },
  });
  const reason = new Error("stop");
  // Abort once the first chunk is in, while the next borrowed read waits.
  const iterator = response.iterBytes();
  const first = await iterator.next();
  assert.equal(first.done, false);
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      // The server sends nothing more.
    }
  }, (error) => error === reason);
  assert.equal(pool.connections.length, 0);
});

// -- The in-memory pair, one byte per read: partial lines cross every read. --

/** Serves `responses` in turn on the server end of an in-memory pair. */
async function serveMemory(
  server: NetworkStreamInterface,
  responses: (Uint8Array | { bytes: Uint8Array; close: true })[],
): Promise<void> {
  let buffered = "";
  for (const response of responses) {
    while (!buffered.includes("\r\n\r\n")) {
      const bytes = await server.read();
      if (bytes.length === 0) return;
      buffered += decoder.decode(bytes);
    }
    buffered = buffered.slice(buffered.indexOf("\r\n\r\n") + 4);
    if (response instanceof Uint8Array) await server.write(response);
    else {
      await server.write(response.bytes);
      await server.close();
      return;
    }
  }
}

function chunked(body: Uint8Array, sizes: number[], trailer = ""): Uint8Array {
  const parts: Uint8Array[] = [
    encoder.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
  ];
  let offset = 0;
  for (let i = 0; offset < body.length; i++) {
    const size = Math.min(sizes[i % sizes.length], body.length - offset);
    parts.push(encoder.encode(`${size.toString(16)};ext=${i}\r\n`));
    parts.push(body.subarray(offset, offset + size), encoder.encode("\r\n"));
    offset += size;
  }
  parts.push(encoder.encode(`0\r\n${trailer}\r\n`));
  return concat(parts);
}

test("borrowed chunks trickled one byte per read: chunked, Content-Length, read-to-close", async () => {
  const body = pattern(3000, 7);
  const [client, server] = memoryStreamPair({ oneByte: true });
  const serving = serveMemory(server, [
    chunked(body, [1, 300, 17, 1024], "X-Check: yes\r\n"),
    concat([encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
    chunked(body, [2999]),
    { bytes: concat([encoder.encode("HTTP/1.1 200 OK\r\n\r\n"), body]), close: true },
  ]);
  const connection = new Connection(client, "http://memory.test");
  try {
    for (let i = 0; i < 3; i++) {
      await using response = await connection.stream("GET", "/", BORROW);
      const { kept, copies } = await collect(response);
      assertBytes(concat(copies), body, `response ${i}`);
      // One byte per read, all into the same place of the same buffer.
      assert.ok(kept.every((chunk) => chunk.buffer === kept[0].buffer));
      assert.ok(someOverwritten(kept, copies));
    }
    assert.equal(connection.state, "IDLE");
    const last = await connection.stream("GET", "/", BORROW);
    assertBytes(await last.bytes(), body);
    assert.equal(connection.state, "CLOSED");
    await serving;
  } finally {
    await connection.close();
    await server.close();
  }
});

test("the parser keeps nothing of a fed buffer once it asks for more (reuse is safe)", () => {
  const body = pattern(700, 3);
  const wire = concat([
    encoder.encode("HTTP/1.1 200 OK\r\nX-Long: " + "v".repeat(90) + "\r\n"),
    chunked(body, [1, 90, 33, 400], "X-Check: yes\r\n").subarray(17), // after its status line
  ]);
  const expectedHead = decoder.decode(wire.subarray(0, wire.indexOf(0x0d)));
  assert.equal(expectedHead, "HTTP/1.1 200 OK");
  for (let size = 1; size <= 64; size++) {
    const parser = new ResponseParser();
    parser.startResponse("GET");
    const buffer = new Uint8Array(size);
    const data: Uint8Array[] = [];
    let headers: [string, string][] = [];
    let trailers: [string, string][] = [];
    let ended = false;
    for (let offset = 0; offset < wire.length && !ended; offset += size) {
      const piece = wire.subarray(offset, offset + size);
      buffer.fill(0xaa); // what a reused buffer holds before the next read lands in it
      buffer.set(piece);
      parser.feed(buffer.subarray(0, piece.length));
      for (let event = parser.next(); event !== null; event = parser.next()) {
        if (event.type === "head") headers = event.headers;
        else if (event.type === "data") data.push(event.data.slice());
        else if (event.type === "end") {
          trailers = event.trailers;
          ended = true;
        }
      }
    }
    assert.ok(ended, `size ${size}: no end`);
    assert.deepEqual(headers, [["X-Long", "v".repeat(90)], ["Transfer-Encoding", "chunked"]]);
    assert.deepEqual(trailers, [["X-Check", "yes"]]);
    assertBytes(concat(data), body, `size ${size}`);
  }
});

// -- readInto() of the network streams. --

test("memory readInto fills the caller's buffer, 0 at end, refuses an empty target", async () => {
  const [client, server] = memoryStreamPair();
  try {
    await server.write(encoder.encode("hello"));
    const target = new Uint8Array(3);
    assert.equal(await client.readInto(target), 3);
    assert.equal(decoder.decode(target), "hel");
    assert.equal(await client.readInto(target), 2);
    assert.equal(decoder.decode(target.subarray(0, 2)), "lo");
    await assert.rejects(client.readInto(new Uint8Array(0)), RangeError);
    await server.close();
    assert.equal(await client.readInto(target), 0);
  } finally {
    await client.close();
  }
});

test("memory readInto in one-byte mode returns one byte; a timeout leaves the bytes", async () => {
  const [client, server] = memoryStreamPair({ oneByte: true });
  // Deadline timers are unref'd: something must keep the event loop alive meanwhile.
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    const target = new Uint8Array(8);
    await assert.rejects(client.readInto(target, 20), ReadTimeout);
    await server.write(encoder.encode("ab"));
    assert.equal(await client.readInto(target), 1);
    assert.equal(target[0], 0x61);
    assert.equal(await client.readInto(target), 1);
    assert.equal(target[0], 0x62);
  } finally {
    clearTimeout(keepAlive);
    await client.close();
    await server.close();
  }
});

/** A raw server that sends `pieces` with pauses between them, then closes. */
async function trickleServer(
  pieces: Uint8Array[],
  pauseMs: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const pauses = new Map<unknown, () => void>();
  const pause = (): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        pauses.delete(timer);
        resolve();
      }, pauseMs);
      pauses.set(timer, resolve);
    });
  const server = createNetServer(async (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    for (const piece of pieces) {
      if (socket.destroyed) return;
      socket.write(piece);
      await pause();
    }
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        for (const [timer, wake] of pauses) {
          clearTimeout(timer as number);
          wake();
        }
        pauses.clear();
        server.close(() => resolve());
      }),
  };
}

test("Node backend readInto copies queued bytes at once and waits for more; 0 at end", async () => {
  const server = await trickleServer([encoder.encode("abc"), encoder.encode("defg")], 30);
  const stream = await new NodeNetworkBackend().connect("127.0.0.1", server.port);
  try {
    await assert.rejects(stream.readInto(new Uint8Array(0)), RangeError);
    // Let both pieces arrive and queue up (the socket pauses after the first).
    await new Promise((resolve) => setTimeout(resolve, 120));
    const target = new Uint8Array(16);
    let filled = 0;
    for (let count = 1; count > 0; filled += count) {
      count = await stream.readInto(target.subarray(filled));
    }
    assert.equal(decoder.decode(target.subarray(0, filled)), "abcdefg");
    assert.equal(await stream.readInto(target), 0);
    const small = new Uint8Array(2);
    assert.equal(await stream.readInto(small), 0);
  } finally {
    await stream.close();
    await server.close();
  }
});

test("Node backend readInto splits a queued chunk larger than the target", async () => {
  const server = await trickleServer([encoder.encode("0123456789")], 10);
  const stream = await new NodeNetworkBackend().connect("127.0.0.1", server.port);
  try {
    const target = new Uint8Array(4);
    const seen: string[] = [];
    for (
      let count = await stream.readInto(target);
      count > 0;
      count = await stream.readInto(target)
    ) {
      seen.push(decoder.decode(target.subarray(0, count)));
    }
    assert.equal(seen.join(""), "0123456789");
    assert.ok(seen.every((piece) => piece.length <= 4));
  } finally {
    await stream.close();
    await server.close();
  }
});

test("Deno backend readInto: straight into the target, 0 at end, errors", {
  denoOnly: "DenoNetworkStream",
}, async () => {
  const server = await trickleServer([encoder.encode("hello"), encoder.encode("world")], 80);
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  try {
    const target = new Uint8Array(64);
    await assert.rejects(stream.readInto!(new Uint8Array(0)), RangeError);
    const first = stream.readInto!(target);
    await assert.rejects(stream.readInto!(target), /a read is already waiting/);
    assert.equal(decoder.decode(target.subarray(0, await first)), "hello");
    let text = "";
    for (
      let count = await stream.readInto!(target);
      count > 0;
      count = await stream.readInto!(target)
    ) {
      text += decoder.decode(target.subarray(0, count));
    }
    assert.equal(text, "world");
    await stream.close();
    await assert.rejects(stream.readInto!(target), ReadError);
  } finally {
    await stream.close();
    await server.close();
  }
});

test("Deno backend readInto that times out closes the stream", {
  denoOnly: "DenoNetworkStream",
}, async () => {
  const server = await trickleServer([encoder.encode("late")], 300);
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  try {
    const target = new Uint8Array(16);
    assert.equal(await stream.readInto!(target), 4);
    await assert.rejects(stream.readInto!(target, 30), ReadTimeout);
    assert.equal(stream.closed, true);
    await assert.rejects(stream.readInto!(target), ReadError);
  } finally {
    await stream.close();
    await server.close();
  }
});
