import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { runtime, test } from "./_harness.ts";
import { findExecutable, freePort, scratchDir } from "./_peers/common.ts";
import { echo, tcpServer } from "./_peers/net_servers.ts";
import { peerTest } from "./_harness.ts";
import {
  ConnectError,
  ConnectTimeout,
  ReadError,
  ReadTimeout,
  WriteError,
  WriteTimeout,
} from "../src/errors.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type {
  ConnectOptions,
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
} from "../src/network/types.ts";
import { timeout } from "../src/timeout.ts";
import { MemoryNetworkBackend, memoryStreamPair } from "../src/testing/mod.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Client } from "../src/client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

async function readAll(stream: NetworkStreamInterface): Promise<string> {
  let text = "";
  for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
    text += decoder.decode(part);
  }
  return text;
}

async function readExactly(stream: NetworkStreamInterface, length: number): Promise<string> {
  let text = "";
  while (text.length < length) {
    const part = await stream.read();
    if (part.length === 0) break;
    text += decoder.decode(part);
  }
  return text;
}

test("the default backend names its runtime", () => {
  const backend = new NetworkBackend();
  assert.equal(String(backend), `<NetworkBackend [${runtime === "deno" ? "deno" : "node"}]>`);
});

test("TCP: connect, write, read, close, with reprs and extra info", async () => {
  await using server = await tcpServer(echo);
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}"]>`);
  assert.equal(stream.closed, false);
  await stream.write(bytes("hello, "));
  await stream.write(bytes("world"));
  assert.equal(await readExactly(stream, 12), "hello, world");
  const server_addr = stream.getExtraInfo("server_addr");
  assert.deepEqual(server_addr, { hostname: "127.0.0.1", port: server.port, transport: "tcp" });
  const client = stream.getExtraInfo("client_addr") as { hostname: string; port: number };
  assert.equal(client.hostname, "127.0.0.1");
  assert.ok(client.port > 0);
  assert.equal(stream.getExtraInfo("tls"), false);
  assert.equal(stream.getExtraInfo("alpn_protocol"), null);
  assert.ok(stream.getExtraInfo("socket"));
  assert.equal(stream.getExtraInfo("no such key"), undefined);
  await stream.close();
  assert.equal(stream.closed, true);
  assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" CLOSED]>`);
  await stream.close(); // twice is harmless
});

test("using a closed stream is a clear error", async () => {
  await using server = await tcpServer(echo);
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  await stream.close();
  await assert.rejects(stream.read(), (error) => {
    assert.ok(error instanceof ReadError);
    assert.match(error.message, /Cannot read from "127\.0\.0\.1:\d+": the stream is closed/);
    return true;
  });
  await assert.rejects(stream.write(bytes("x")), (error) => {
    assert.ok(error instanceof WriteError);
    assert.match(error.message, /the stream is closed/);
    return true;
  });
});

test("await using closes the stream", async () => {
  await using server = await tcpServer(echo);
  let kept: NetworkStreamInterface | null = null;
  {
    await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
    kept = stream;
    assert.equal(stream.closed, false);
  }
  assert.equal(kept.closed, true);
});

test("end of input reads as an empty array, again and again", async () => {
  await using server = await tcpServer((socket) => socket.end("bye"));
  await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  assert.equal(await readAll(stream), "bye");
  assert.equal((await stream.read()).length, 0);
  assert.equal((await stream.read()).length, 0);
});

test("bytes returned by read() are never overwritten by later reads", async () => {
  await using server = await tcpServer((socket) => {
    socket.on("data", (chunk) => socket.write(chunk));
  });
  await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const kept: Uint8Array[] = [];
  let expected = "";
  for (let i = 0; i < 200; i++) {
    const line = `line ${i} ${"x".repeat(i * 7 % 900)}\n`;
    expected += line;
    await stream.write(bytes(line));
    let got = 0;
    while (got < line.length) {
      const part = await stream.read(line.length - got);
      assert.ok(part.length > 0);
      kept.push(part);
      got += part.length;
    }
  }
  assert.equal(kept.map((part) => decoder.decode(part)).join(""), expected);
});

test("closing while a read waits fails the read with a ReadError", async () => {
  await using server = await tcpServer();
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const outcome = stream.read().then(() => "no error", (error) => error);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await stream.close();
  const error = await outcome;
  assert.ok(error instanceof ReadError, String(error));
  assert.match(error.message, /closed/);
});

test("a second read while one waits is refused", async () => {
  await using server = await tcpServer((socket) => setTimeout(() => socket.end("late"), 30));
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const first = stream.read();
  await assert.rejects(stream.read(), /a read is already waiting/);
  assert.equal(decoder.decode(await first), "late");
  await stream.close();
});

test("read(maxBytes) returns at most maxBytes", async () => {
  await using server = await tcpServer((socket) => socket.end("0123456789"));
  await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const first = await stream.read(3);
  assert.ok(first.length >= 1 && first.length <= 3);
  await assert.rejects(stream.read(0), RangeError);
});

test("large writes are written whole", async () => {
  let received = 0;
  let finished = () => {};
  const done = new Promise<void>((resolve) => finished = resolve);
  const total = 8 * 1024 * 1024;
  await using server = await tcpServer((socket) => {
    socket.on("data", (chunk) => {
      received += chunk.length;
      if (received >= total) finished();
    });
  });
  await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  await stream.write(new Uint8Array(total).fill(97));
  await done;
  assert.equal(received, total);
});

test("overlapping writes go out one after the other, each whole", async () => {
  const size = 4 * 1024 * 1024;
  const runs: number[] = [];
  let received = 0;
  let finished = () => {};
  const done = new Promise<void>((resolve) => finished = resolve);
  await using server = await tcpServer((socket) => {
    socket.on("data", (chunk: Uint8Array) => {
      for (const byte of chunk) if (runs.at(-1) !== byte) runs.push(byte);
      received += chunk.length;
      if (received >= 3 * size) finished();
    });
  });
  await using stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  // Large enough that the kernel takes each in parts, so they are in progress together;
  // one watched by a limit, the others not.
  await Promise.all([
    stream.write(new Uint8Array(size).fill(1)),
    stream.write(new Uint8Array(size).fill(2), 10_000),
    stream.write(new Uint8Array(size).fill(3)),
  ]);
  await done;
  assert.equal(received, 3 * size);
  assert.deepEqual(runs, [1, 2, 3], "the bytes of two writes never interleave");
});

test("a refused connection is a ConnectError naming host and port", async () => {
  const port = await freePort();
  await assert.rejects(new NetworkBackend().connect("127.0.0.1", port), (error) => {
    assert.ok(error instanceof ConnectError, String(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(error.message, /refused/i);
    assert.ok(error.cause, "keeps the runtime's error");
    return true;
  });
});

test("an unknown host name is a ConnectError", async () => {
  await assert.rejects(
    new NetworkBackend().connect("no-such-host.invalid", 80, { timeoutMs: 5000 }),
    (error) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.match(error.message, /no-such-host\.invalid:80/);
      return true;
    },
  );
});

test("a server that never answers: ReadTimeout fires, and not early", async () => {
  await using server = await tcpServer();
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const start = performance.now();
  await assert.rejects(stream.read(65536, 150), (error) => {
    assert.ok(error instanceof ReadTimeout, String(error));
    assert.equal(error.message, "Read timed out after 150 ms");
    assert.equal(error.timeoutMs, 150);
    return true;
  });
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 150, `timed out after ${elapsed} ms, before 150 ms`);
  await stream.close();
});

test("a timeout() scope limits reads without being passed", async () => {
  await using server = await tcpServer();
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const start = performance.now();
  const error = await timeout(100, async () => await stream.read()).catch((e) => e);
  assert.ok(error instanceof ReadTimeout, String(error));
  assert.equal(error.timeoutMs, 100);
  assert.ok(performance.now() - start >= 100);
  await stream.close();
});

test("cancel() lifts the scope: a read outlives the scope's deadline", async () => {
  await using server = await tcpServer((socket) => {
    setTimeout(() => socket.end("late"), 120);
  });
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const text = await timeout(40, async (scope) => {
    scope.cancel();
    return await readAll(stream);
  });
  assert.equal(text, "late");
  await stream.close();
});

test("a peer that never reads: WriteTimeout", async () => {
  await using server = await tcpServer((socket) => socket.pause());
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  const chunk = new Uint8Array(1024 * 1024);
  let error: unknown = null;
  for (let i = 0; i < 512 && error === null; i++) {
    await stream.write(chunk, 200).catch((e) => error = e);
  }
  assert.ok(error instanceof WriteTimeout, String(error));
  assert.equal(error.message, "Write timed out after 200 ms");
  await stream.close();
});

test("an aborted signal stops a connect attempt with its reason", async () => {
  const port = await freePort();
  const reason = new Error("gave up");
  await assert.rejects(
    new NetworkBackend().connect("127.0.0.1", port, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
});

test("a reset by the peer while reading is a ReadError", async () => {
  await using server = await tcpServer((socket) => {
    socket.once("data", () => socket.resetAndDestroy());
  });
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  await stream.write(bytes("please reset"));
  await assert.rejects(readAll(stream), (error) => {
    assert.ok(error instanceof ReadError, String(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    assert.ok(error.cause);
    return true;
  });
  await stream.close();
});

test("writing to a peer that is gone is a WriteError", async () => {
  await using server = await tcpServer((socket) =>
    socket.once("data", () => socket.resetAndDestroy())
  );
  const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
  await stream.write(bytes("x"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  let error: unknown = null;
  for (let i = 0; i < 100 && error === null; i++) {
    await stream.write(new Uint8Array(65536)).catch((e) => error = e);
  }
  assert.ok(error instanceof WriteError, String(error));
  await stream.close();
});

const python3 = findExecutable("/usr/bin/python3");

/**
 * A listener with a backlog of 0 that never accepts: once its queue is full, the kernel
 * drops further SYNs and connecting hangs, which is what a connect timeout needs.
 */
async function blackHole(): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(python3!, [
    "-c",
    "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\n" +
    "print(s.getsockname()[1],flush=True)\nsys.stdin.read()",
  ], { stdio: ["pipe", "pipe", "ignore"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once("data", (data) => resolve(Number(String(data).trim())))
  );
  return {
    port,
    async stop() {
      child.stdin!.end();
      child.stdout!.destroy();
      await exited;
    },
  };
}

peerTest(
  "a connect that hangs: ConnectTimeout, and nothing is left open",
  { pkg: "python3", available: python3 !== null },
  async () => {
    const hole = await blackHole();
    const backend = new NetworkBackend();
    const opened: NetworkStreamInterface[] = [];
    try {
      // Fill the accept queue; the next attempts hang.
      let error: unknown = null;
      for (let i = 0; i < 8 && error === null; i++) {
        const start = performance.now();
        await backend.connect("127.0.0.1", hole.port, { timeoutMs: 150 }).then(
          (stream) => opened.push(stream),
          (e) => {
            error = e;
            assert.ok(performance.now() - start >= 150);
          },
        );
      }
      assert.ok(error instanceof ConnectTimeout, String(error));
      assert.equal((error as ConnectTimeout).message, "Connect timed out after 150 ms");
      // The same through a scope.
      const scoped = await timeout(100, () => backend.connect("127.0.0.1", hole.port)).catch((
        e,
      ) => e);
      assert.ok(scoped instanceof ConnectTimeout, String(scoped));
      // And a signal that aborts while connecting.
      const controller = new AbortController();
      const reason = new Error("user gave up");
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(
        backend.connect("127.0.0.1", hole.port, { signal: controller.signal }),
        (error) => error === reason,
      );
    } finally {
      for (const stream of opened) await stream.close();
      await hole.stop();
    }
  },
);

test("UNIX sockets: connect, echo, repr", async () => {
  const dir = scratchDir("ferry-unix-");
  const path = join(dir, "echo.sock");
  const server = await tcpServer(echo, { path });
  try {
    const stream = await new NetworkBackend().connectUnix(path);
    assert.equal(String(stream), `<NetworkStream ["${path}"]>`);
    await stream.write(bytes("over unix"));
    assert.equal(await readExactly(stream, 9), "over unix");
    const addr = stream.getExtraInfo("server_addr") as { transport: string };
    assert.equal(addr.transport, "unix");
    await stream.close();
    assert.equal(String(stream), `<NetworkStream ["${path}" CLOSED]>`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("UNIX sockets: a missing socket file is a ConnectError", async () => {
  const dir = scratchDir("ferry-unix-");
  try {
    await assert.rejects(
      new NetworkBackend().connectUnix(join(dir, "missing.sock")),
      (error) => error instanceof ConnectError && /missing\.sock/.test(error.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// A custom backend: the recording backend from the httpx reference, wrapping the default.

class RecordingBackend implements NetworkBackendInterface {
  #backend = new NetworkBackend();
  log: string[];
  constructor(log: string[]) {
    this.log = log;
  }

  async connect(host: string, port: number, options?: ConnectOptions) {
    // Delegate creating connections to the default backend, and wrap the stream.
    return new RecordingStream(await this.#backend.connect(host, port, options), this.log);
  }
}

class RecordingStream implements NetworkStreamInterface {
  stream: NetworkStreamInterface;
  log: string[];
  constructor(stream: NetworkStreamInterface, log: string[]) {
    this.stream = stream;
    this.log = log;
  }

  async read(maxBytes?: number, timeoutMs?: number | null): Promise<Uint8Array> {
    const data = await this.stream.read(maxBytes, timeoutMs);
    for (const line of decoder.decode(data).split(/\r?\n/)) if (line) this.log.push(`<<< ${line}`);
    return data;
  }

  async write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    for (const line of decoder.decode(data).split(/\r?\n/)) if (line) this.log.push(`>>> ${line}`);
    await this.stream.write(data, timeoutMs);
  }

  async startTls(options?: TlsOptions, timeoutMs?: number | null) {
    return new RecordingStream(await this.stream.startTls(options, timeoutMs), this.log);
  }

  getExtraInfo(key: string): unknown {
    return this.stream.getExtraInfo(key);
  }

  close(): Promise<void> {
    return this.stream.close();
  }
}

test("a custom backend (the recording backend) wraps the default one", async () => {
  await using server = await tcpServer((socket) => {
    socket.once("data", () => {
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    });
  });
  const log: string[] = [];
  const backend: NetworkBackendInterface = new RecordingBackend(log);
  const stream = await backend.connect("127.0.0.1", server.port);
  await stream.write(bytes("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"));
  await readAll(stream);
  await stream.close();
  assert.deepEqual(log, [
    ">>> GET / HTTP/1.1",
    ">>> Host: example.com",
    ">>> Connection: close",
    "<<< HTTP/1.1 200 OK",
    "<<< Content-Length: 2",
    "<<< Connection: close",
    "<<< hi",
  ]);
});

test("the recording backend works with ConnectionPool and Client", async () => {
  await using server = await tcpServer((socket) => {
    let seen = "";
    socket.on("data", (chunk) => {
      seen += String(chunk);
      while (seen.includes("\r\n\r\n")) {
        seen = seen.slice(seen.indexOf("\r\n\r\n") + 4);
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
      }
    });
  });
  const log: string[] = [];
  const pool = new ConnectionPool({ backend: new RecordingBackend(log) });
  await using client = new Client({ transport: pool });
  const url = `http://127.0.0.1:${server.port}/path`;
  const first = await client.get(url);
  assert.equal(first.status, 200);
  assert.equal(await first.text(), "hello");
  await client.get(url); // the same connection, recorded again
  assert.ok(log.includes(">>> GET /path HTTP/1.1"), log.join("\n"));
  assert.ok(log.includes(`>>> Host: 127.0.0.1:${server.port}`), log.join("\n"));
  assert.ok(log.includes("<<< HTTP/1.1 200 OK"), log.join("\n"));
  assert.equal(log.filter((line) => line === ">>> GET /path HTTP/1.1").length, 2);
});

// ---------------------------------------------------------------------------------------
// In-memory streams, for the tests of the layers above.

test("memory pair: bytes written on one end are read on the other", async () => {
  const [client, server] = memoryStreamPair();
  const data = bytes("ping");
  await client.write(data);
  data.fill(0); // the stream kept a copy
  assert.equal(decoder.decode(await server.read()), "ping");
  await server.write(bytes("pong"));
  assert.equal(decoder.decode(await client.read()), "pong");
  assert.equal(String(client), '<NetworkStream ["memory"]>');
  await client.close();
  await client.close();
  assert.equal(String(client), '<NetworkStream ["memory" CLOSED]>');
  assert.equal((await server.read()).length, 0, "end of input after the peer closed");
  await assert.rejects(server.write(bytes("x")), (error) => {
    assert.ok(error instanceof WriteError);
    assert.match(error.message, /the peer closed the stream/);
    return true;
  });
  await assert.rejects(client.read(), /Cannot read from "memory": the stream is closed/);
  await assert.rejects(client.write(bytes("x")), WriteError);
  await server.close();
});

test("memory pair: a waiting read wakes for data, end of input, and close", async () => {
  const [client, server] = memoryStreamPair({ label: "pair" });
  const waiting = server.read();
  await client.write(bytes("abc"));
  assert.equal(decoder.decode(await waiting), "abc");
  const eof = server.read();
  await client.closeWrite();
  assert.equal((await eof).length, 0);
  await server.write(bytes("still open")); // the other direction still works
  assert.equal(decoder.decode(await client.read()), "still open");
  await assert.rejects(client.write(bytes("x")), /closeWrite\(\) was called/);
  const closedWhileWaiting = client.read();
  await client.close();
  await assert.rejects(closedWhileWaiting, /"pair": the stream was closed/);
  await server.close();
});

test("memory pair: one-byte mode trickles every read", async () => {
  const [client, server] = memoryStreamPair({ oneByte: true });
  await server.write(bytes("HTTP/1.1 200 OK\r\n"));
  const parts: string[] = [];
  for (let i = 0; i < 17; i++) parts.push(decoder.decode(await client.read()));
  assert.ok(parts.every((part) => part.length === 1));
  assert.equal(parts.join(""), "HTTP/1.1 200 OK\r\n");
  await client.close();
  await server.close();
});

test("memory pair: read(maxBytes) splits chunks without losing bytes", async () => {
  const [client, server] = memoryStreamPair();
  await server.write(bytes("0123456789"));
  assert.equal(decoder.decode(await client.read(4)), "0123");
  assert.equal(decoder.decode(await client.read(4)), "4567");
  assert.equal(decoder.decode(await client.read()), "89");
  await assert.rejects(client.read(0), RangeError);
  await client.close();
  await server.close();
});

test("memory pair: a read times out, not early, and the stream stays usable", async () => {
  const [client, server] = memoryStreamPair();
  // Keep the event loop alive as a socket would.
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    const start = performance.now();
    await assert.rejects(client.read(100, 50), ReadTimeout);
    assert.ok(performance.now() - start >= 50);
    const scoped = await timeout(30, () => client.read()).catch((e) => e);
    assert.ok(scoped instanceof ReadTimeout);
    await server.write(bytes("later"));
    assert.equal(decoder.decode(await client.read()), "later");
  } finally {
    clearTimeout(keepAlive);
    await client.close();
    await server.close();
  }
});

test("memory pair: with a capacity, a peer that never reads makes writes time out", async () => {
  const [client, server] = memoryStreamPair({ capacity: 8 });
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    await client.write(bytes("12345678")); // fills the capacity
    assert.equal(server.bufferedAmount, 8);
    await assert.rejects(client.write(bytes("more"), 40), (error) => {
      assert.ok(error instanceof WriteTimeout);
      assert.equal(error.message, "Write timed out after 40 ms");
      return true;
    });
    // A write that waits goes through once the peer reads.
    const waiting = client.write(bytes("next"));
    assert.equal(decoder.decode(await server.read()), "12345678");
    await waiting;
    assert.equal(decoder.decode(await server.read()), "next");
  } finally {
    clearTimeout(keepAlive);
    await client.close();
    await server.close();
  }
});

test("memory backend: serves each connection, records it, negotiates ALPN", async () => {
  const seen: string[] = [];
  const backend = new MemoryNetworkBackend(async (stream, info) => {
    seen.push(`${info.host}:${info.port}`);
    for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
      await stream.write(part);
    }
    await stream.close();
  }, { refuse: ["refused.example:80"] });
  assert.equal(String(backend), "<NetworkBackend [memory]>");
  const plain = await backend.connect("example.com", 443);
  assert.deepEqual(plain.getExtraInfo("server_addr"), {
    hostname: "example.com",
    port: 443,
    transport: "tcp",
  });
  const stream = await plain.startTls({
    hostname: "example.com",
    alpnProtocols: ["h2", "http/1.1"],
  });
  assert.equal(plain.closed, true);
  await assert.rejects(plain.read(), /upgraded to TLS/);
  assert.equal(String(stream), '<NetworkStream ["example.com:443" TLS]>');
  assert.equal(stream.getExtraInfo("alpn_protocol"), "http/1.1");
  assert.equal(stream.getExtraInfo("tls"), true);
  assert.deepEqual(stream.tlsOptions?.alpnProtocols, ["h2", "http/1.1"]);
  await stream.write(bytes("echo me"));
  assert.equal(decoder.decode(await stream.read()), "echo me");
  await stream.close();
  const direct = await backend.connect("example.org", 443, { tls: { hostname: "example.org" } });
  assert.equal(direct.getExtraInfo("tls"), true);
  await direct.close();
  await assert.rejects(backend.connect("refused.example", 80), ConnectError);
  const unix = await backend.connectUnix("/run/app.sock");
  assert.equal(String(unix), '<NetworkStream ["/run/app.sock"]>');
  await unix.close();
  await Promise.all(backend.served);
  assert.deepEqual(seen, ["example.com:443", "example.org:443", "/run/app.sock:0"]);
  assert.equal(backend.connections.length, 3);
});

test("memory backend under ConnectionPool and Client, whole and one byte at a time", async () => {
  for (const oneByte of [false, true]) {
    const backend = new MemoryNetworkBackend(async (stream) => {
      let seen = "";
      for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
        seen += decoder.decode(part);
        while (seen.includes("\r\n\r\n")) {
          const head = seen.slice(0, seen.indexOf("\r\n\r\n"));
          seen = seen.slice(head.length + 4);
          const target = head.split(" ")[1];
          await stream.write(
            bytes(`HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`),
          );
        }
      }
      await stream.close();
    }, { oneByte });
    const pool = new ConnectionPool({ backend });
    await using client = new Client({ transport: pool });
    assert.equal(await (await client.get("http://example.test/one")).text(), "/one");
    assert.equal(await (await client.get("http://example.test/two")).text(), "/two");
    assert.equal(backend.connections.length, 1, "the connection was reused");
    await client.close();
    await Promise.all(backend.served);
  }
});
