/**
 * The Node backend (`node:net` / `node:tls`) against real loopback servers. These run under
 * Deno too (through its `node:` compatibility), so both runtimes check the same contract.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { setImmediate } from "node:timers";
import { runtime, test } from "./_harness.ts";
import { NodeNetworkBackend, NodeNetworkStream, SocketInbox } from "../src/network/node.ts";
import { nodeFileAccess } from "../src/runtime/files_node.ts";
import {
  ConnectError,
  ConnectTimeout,
  ReadError,
  ReadTimeout,
  WriteError,
  WriteTimeout,
} from "../src/errors.ts";
import { timeout } from "../src/timeout.ts";
import {
  CA_CERT,
  CLIENT_CERT,
  CLIENT_KEY,
  SELF_SIGNED_CERT,
  SELF_SIGNED_KEY,
  SERVER_CERT,
  SERVER_KEY,
} from "./_tls_fixtures.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const backend = new NodeNetworkBackend();

interface TestServer {
  port: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A TCP (or TLS) server on 127.0.0.1 that runs `onSocket` for each connection. */
async function serve(
  onSocket: (socket: net.Socket) => void,
  options: { tls?: tls.TlsOptions; path?: string } = {},
): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = options.tls
    ? tls.createServer(options.tls, (socket) => onSocket(socket))
    : net.createServer((socket) => onSocket(socket));
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  server.on(options.tls ? "secureConnection" : "connection", track);
  if (options.tls) server.on("tlsClientError", () => {});
  if (options.tls) {
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", () => {});
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
  }
  await new Promise<void>((resolve) => {
    if (options.path) server.listen(options.path, resolve);
    else server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    sockets,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Let the destroyed sockets' close events run before the sanitizers look.
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

// deno-lint-ignore no-explicit-any
const codeOf = (error: unknown): string => String((error as any)?.code);

function echo(socket: net.Socket): void {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("end", () => socket.end());
}

async function readAll(stream: NodeNetworkStream): Promise<string> {
  let text = "";
  for (;;) {
    const bytes = await stream.read();
    if (bytes.length === 0) return text;
    text += decoder.decode(bytes);
  }
}

test("node backend: connects, writes and reads back, with reprs and addresses", async () => {
  const server = await serve(echo);
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}"]>`);
    assert.equal(inspect(stream), `<NetworkStream ["127.0.0.1:${server.port}"]>`);
    assert.equal(String(backend), "<NetworkBackend [node]>");
    assert.equal(inspect(backend), "<NetworkBackend [node]>");
    await stream.write(encoder.encode("hello"));
    let received = "";
    while (received.length < 5) {
      const bytes = await stream.read();
      // A plain Uint8Array (never a Buffer, whose slice() does not copy).
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      received += decoder.decode(bytes);
    }
    assert.equal(received, "hello");
    assert.deepEqual(stream.getExtraInfo("server_addr"), {
      hostname: "127.0.0.1",
      port: server.port,
      transport: "tcp",
    });
    const client = stream.getExtraInfo("client_addr") as { hostname: string; port: number };
    assert.equal(client.hostname, "127.0.0.1");
    assert.ok(client.port > 0);
    assert.equal(stream.getExtraInfo("tls"), false);
    assert.equal(stream.getExtraInfo("alpn_protocol"), null);
    assert.ok(stream.getExtraInfo("socket") instanceof net.Socket);
    assert.equal(stream.getExtraInfo("no such key"), undefined);
    assert.equal(stream.closed, false);
    await stream.close();
    await stream.close();
    assert.equal(stream.closed, true);
    assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" CLOSED]>`);
    await assert.rejects(stream.read(), ReadError);
    await assert.rejects(stream.write(encoder.encode("x")), WriteError);
  } finally {
    await server.close();
  }
});

test("node backend: IPv6 literals connect with or without URL brackets", async () => {
  const server = net.createServer(echo);
  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(0, "::1", () => resolve(true));
  });
  if (!listening) {
    console.log("IPv6 loopback is not available here: nothing to check");
    return;
  }
  const port = (server.address() as net.AddressInfo).port;
  try {
    for (const host of ["[::1]", "::1"]) {
      const stream = await backend.connect(host, port);
      assert.equal(String(stream), `<NetworkStream ["[::1]:${port}"]>`);
      assert.equal((stream.getExtraInfo("server_addr") as { hostname: string }).hostname, "::1");
      await stream.close();
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test("node backend: closing a TLS stream sends close_notify and FIN", async () => {
  let ended: () => void = () => {};
  const serverSawEnd = new Promise<void>((resolve) => ended = resolve);
  const server = await serve((socket) => {
    socket.on("data", () => {});
    socket.on("end", () => ended());
  }, { tls: { cert: SERVER_CERT, key: SERVER_KEY } });
  try {
    const stream = await backend.connect("127.0.0.1", server.port, {
      tls: { hostname: "localhost", caCerts: [CA_CERT] },
    });
    await stream.close();
    assert.equal(stream.closed, true);
    await serverSawEnd;
  } finally {
    await server.close();
  }
});

test("node backend: read splits a large chunk into views without copying", async () => {
  const payload = new Uint8Array(1000).map((_, i) => i % 251);
  const server = await serve((socket) => socket.end(payload));
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const parts: Uint8Array[] = [];
    for (;;) {
      const part = await stream.read(100);
      if (part.length === 0) break;
      assert.ok(part.length <= 100);
      assert.equal(Object.getPrototypeOf(part), Uint8Array.prototype);
      parts.push(part);
    }
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    assert.deepEqual(joined, payload);
    // Consecutive parts of one received chunk share its memory: nothing was copied.
    assert.ok(parts.some((part, i) => i > 0 && part.buffer === parts[i - 1].buffer));
    // End of input stays end of input.
    assert.equal((await stream.read()).length, 0);
    assert.equal((await stream.read()).length, 0);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: bytes that arrive while nobody reads wait for the next read", async () => {
  const server = await serve((socket) => {
    socket.write("first");
    setTimeout(() => socket.end("second"), 20);
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    // Wait until everything has arrived without reading.
    const socket = stream.getExtraInfo("socket") as net.Socket;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(socket.isPaused(), true);
    assert.equal(await readAll(stream), "firstsecond");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: views handed out by reads are never overwritten by later reads", async () => {
  // Each answer is a run of one byte value, different from its neighbours', sized so that
  // the answers go through several 64 KiB read slabs (and a read larger than a slab).
  const sizes = [...Array.from({ length: 70 }, (_, i) => 1000 + i * 37), 150_000, 500, 20_000];
  const fill = (i: number): number => 1 + (i % 250);
  const server = await serve((socket) => {
    let next = 0;
    socket.on("data", () => {
      if (next < sizes.length) socket.write(new Uint8Array(sizes[next]).fill(fill(next++)));
      else socket.end();
    });
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const socket = stream.getExtraInfo("socket") as net.Socket;
    // Node reads into slabs (onread); Bun, and Deno's node:net, through 'data' events.
    assert.equal(socket.listenerCount("data"), runtime === "node" ? 0 : 1);
    const kept: { answer: number; bytes: Uint8Array }[] = [];
    for (let answer = 0; answer < sizes.length; answer++) {
      await stream.write(encoder.encode("?"));
      for (let got = 0; got < sizes[answer];) {
        const bytes = await stream.read();
        assert.ok(bytes.length > 0, `end of input in answer ${answer}`);
        kept.push({ answer, bytes });
        got += bytes.length;
      }
    }
    for (const { answer, bytes } of kept) {
      assert.ok(bytes.every((byte) => byte === fill(answer)), `answer ${answer} was overwritten`);
    }
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: bytes received before the stream takes over its socket are read first", {
  skip: runtime === "deno" ? "Deno's node:net does not deliver to onread" : false,
}, async () => {
  let serverSocket: net.Socket | null = null;
  const server = await serve((socket) => {
    serverSocket = socket;
    socket.write("early ");
  });
  try {
    // What NodeNetworkBackend does, with a pause between connecting and the stream.
    const inbox = new SocketInbox();
    const callback = inbox.onread.callback;
    const received = new Promise<void>((resolve) => {
      inbox.onread.callback = (n, buf) => {
        const more = callback(n, buf);
        resolve();
        return more;
      };
    });
    const socket = net.connect({ host: "127.0.0.1", port: server.port, onread: inbox.onread });
    socket.on("error", () => {});
    await received;
    assert.equal(inbox.early.length, 1);
    // Reading stopped meanwhile; the stream's first read starts it again.
    serverSocket!.end("late");
    const stream = new NodeNetworkStream(socket, "early", { inbox });
    assert.equal(inbox.early.length, 0);
    assert.equal(decoder.decode(await stream.read(undefined, 5000)), "early ");
    assert.equal(decoder.decode(await stream.read(undefined, 5000)), "late");
    assert.equal((await stream.read(undefined, 5000)).length, 0);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a refused connection fails fast with ConnectError naming host:port", async () => {
  const server = await serve(() => {});
  const port = server.port;
  await server.close();
  const error = await backend.connect("127.0.0.1", port).then(
    () => assert.fail("connected"),
    (error) => error,
  );
  assert.ok(error instanceof ConnectError, String(error));
  assert.match(error.message, new RegExp(`"127\\.0\\.0\\.1:${port}"`));
  assert.match(error.message, /ECONNREFUSED/);
  assert.equal(codeOf(error.cause), "ECONNREFUSED");
});

test("node backend: an unknown host fails with ConnectError", async () => {
  const error = await backend.connect("ferry-no-such-host.invalid", 80).then(
    () => assert.fail("connected"),
    (error) => error,
  );
  assert.ok(error instanceof ConnectError, String(error));
  assert.match(error.message, /"ferry-no-such-host\.invalid:80"/);
  assert.ok(error.cause);
});

test("node backend: a reset while reading is a ReadError", async () => {
  const server = await serve((socket) => {
    socket.once("data", () => socket.resetAndDestroy());
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    await stream.write(encoder.encode("first"));
    const error = await stream.read().then(
      (bytes) => bytes.length === 0 ? new Error("clean EOF instead of reset") : bytes,
      (error) => error,
    );
    assert.ok(error instanceof ReadError, String(error));
    assert.match(error.message, /ECONNRESET/);
    assert.equal(codeOf(error.cause), "ECONNRESET");
    assert.equal(stream.closed, true);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: writing to a connection the peer reset is a WriteError", async () => {
  const server = await serve((socket) => {
    socket.once("data", () => {
      socket.pause();
      socket.destroy();
    });
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const chunk = new Uint8Array(64 * 1024);
    const error = await (async () => {
      for (let i = 0; i < 1000; i++) await stream.write(chunk);
    })().then(() => new Error("every write succeeded"), (error) => error);
    assert.ok(error instanceof WriteError, String(error));
    assert.match(error.message, new RegExp(`"127\\.0\\.0\\.1:${server.port}"`));
    assert.ok(error.cause);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: write waits while the peer does not read (backpressure)", async () => {
  let serverSocket: net.Socket | null = null;
  let received = 0;
  let gotSocket = (): void => {};
  const accepted = new Promise<void>((resolve) => gotSocket = resolve);
  const server = await serve((socket) => {
    serverSocket = socket;
    socket.pause();
    socket.on("data", (chunk) => received += chunk.length);
    gotSocket();
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    await accepted;
    const big = new Uint8Array(64 * 1024 * 1024);
    let written = false;
    const writing = stream.write(big).then(() => written = true);
    // Far more than the kernel buffers: the write cannot be done while nobody reads.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(written, false);
    serverSocket!.resume();
    await writing;
    assert.equal(written, true);
    await stream.close();
    while (received < big.length && server.sockets.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await server.close();
  }
});

test("node backend: writes that Node buffers settle one by one, each once its own bytes left", async () => {
  const first = new Uint8Array(4 * 1024 * 1024);
  const second = new Uint8Array(32 * 1024 * 1024);
  let serverSocket: net.Socket | null = null;
  let received = 0;
  let paused = false;
  let gotFirst = (): void => {};
  const firstArrived = new Promise<void>((resolve) => gotFirst = resolve);
  let gotSocket = (): void => {};
  const accepted = new Promise<void>((resolve) => gotSocket = resolve);
  const server = await serve((socket) => {
    serverSocket = socket;
    socket.on("data", (chunk) => {
      received += chunk.length;
      // The first write's bytes are in: read nothing more until the test resumes.
      if (received >= first.length && !paused) {
        paused = true;
        socket.pause();
        gotFirst();
      }
    });
    gotSocket();
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    await accepted;
    const settled: string[] = [];
    const writing = [
      stream.write(first).then(() => settled.push("first")),
      stream.write(second).then(() => settled.push("second")),
    ];
    await firstArrived;
    await writing[0];
    // Far more than the kernel buffers is left of the second write while nobody reads.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.deepEqual(settled, ["first"]);
    serverSocket!.resume();
    await writing[1];
    assert.deepEqual(settled, ["first", "second"]);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a reset leaves no write that Node buffered waiting", async () => {
  const server = await serve((socket) => {
    socket.once("data", () => socket.resetAndDestroy());
  });
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const results: unknown[] = [null, null];
    const writes = [32, 16].map((mib, i) =>
      stream.write(new Uint8Array(mib * 1024 * 1024)).then(
        () => results[i] = "written",
        (error) => results[i] = error,
      )
    );
    await Promise.race(writes);
    // The other settles in the same turn. (Node reports a write that was under way when
    // the socket was destroyed as done; the reads then fail.)
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(results.every((result) => result !== null), String(results));
    assert.ok(results.some((result) => result instanceof WriteError), String(results));
    for (const result of results) {
      if (result === "written") continue;
      assert.ok(result instanceof WriteError, String(result));
      assert.match(result.message, new RegExp(`"127\\.0\\.0\\.1:${server.port}"`));
    }
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: read and write limits raise ReadTimeout and WriteTimeout", async () => {
  const server = await serve((socket) => socket.pause());
  try {
    const stream = await backend.connect("127.0.0.1", server.port, { timeoutMs: 5000 });
    const error = await stream.read(undefined, 30).catch((error) => error);
    assert.ok(error instanceof ReadTimeout, String(error));
    assert.equal(error.timeoutMs, 30);
    // A read that timed out leaves the stream usable (the bytes go to the next read).
    assert.equal(stream.closed, false);
    const writeError = await stream.write(new Uint8Array(64 * 1024 * 1024), 30).catch((e) => e);
    assert.ok(writeError instanceof WriteTimeout, String(writeError));
    // A write cut short leaves the stream in an unknown state: it is closed.
    await stream.close();
    assert.equal(stream.closed, true);
  } finally {
    await server.close();
  }
});

/** A server that collects what each connection sends until it ends. */
async function collect(): Promise<TestServer & { received: Promise<string> }> {
  let done = (_text: string): void => {};
  const received = new Promise<string>((resolve) => done = resolve);
  const server = await serve((socket) => {
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => text += chunk);
    socket.on("close", () => done(text));
  });
  return { ...server, received };
}

test("node backend: small writes batched to the end of the turn keep their order", async () => {
  const server = await collect();
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    // Not awaited: the turn's first write goes at once, the small ones after it wait for
    // the end of the turn; a large one (which would not wait) must not overtake them, nor
    // one made under a deadline scope.
    const large = "L".repeat(100_000);
    const writes = [
      stream.write(encoder.encode("a")),
      stream.write(encoder.encode("b")),
      stream.write(encoder.encode(large)),
      stream.write(encoder.encode("c"), 5000),
      timeout(5000, () => stream.write(encoder.encode("d"))),
    ];
    await Promise.all(writes);
    await stream.write(encoder.encode("e"));
    await stream.close();
    assert.equal(await server.received, `ab${large}cde`);
  } finally {
    await server.close();
  }
});

test("node backend: the same array written again sends what it holds now", async () => {
  // The stream keeps the Buffer it made for the last small write, to hand it to Node again
  // when the same array comes back (a connection's repeated request head): it must be a
  // view of the array, never a copy of what it held the first time.
  const server = await collect();
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const bytes = encoder.encode("one;");
    await stream.write(bytes);
    bytes.set(encoder.encode("two;"));
    await stream.write(bytes);
    await stream.write(bytes.subarray(0, 3));
    // A view that tracks a resizable buffer: the same object, longer after the resize.
    const resizable = new ArrayBuffer(2, { maxByteLength: 8 });
    const tracking = new Uint8Array(resizable);
    tracking.set(encoder.encode(";a"));
    await stream.write(tracking);
    resizable.resize(4);
    tracking.set(encoder.encode(";bcd"));
    await stream.write(tracking);
    await stream.close();
    assert.equal(await server.received, "one;two;two;a;bcd");
  } finally {
    await server.close();
  }
});

test("node backend: closing sends the writes still waiting in the batch", async () => {
  const server = await collect();
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const first = stream.write(encoder.encode("good"));
    const second = stream.write(encoder.encode("bye"));
    await stream.close();
    await Promise.all([first, second]);
    assert.equal(await server.received, "goodbye");
  } finally {
    await server.close();
  }
});

test("node backend: a batched write on a stream destroyed before it went out is a WriteError", async () => {
  const server = await serve(() => {});
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const first = stream.write(encoder.encode("first")).catch(() => {});
    const batched = stream.write(encoder.encode("never"));
    (stream.getExtraInfo("socket") as net.Socket).destroy();
    const error = await batched.catch((e) => e);
    assert.ok(error instanceof WriteError, String(error));
    assert.match(error.message, new RegExp(`"127\\.0\\.0\\.1:${server.port}"`));
    await first;
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a batched write that waits for the kernel still hits its write limit", async () => {
  const server = await serve((socket) => socket.pause());
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const chunk = new Uint8Array(8192);
    // The peer reads nothing. Each turn, one byte goes at once and a chunk joins the batch;
    // once the kernel buffers are full, the chunk waits, and its limit (counted from when
    // the batch sends it) ends it.
    let error: unknown = null;
    for (let i = 0; i < 100_000 && error === null; i++) {
      const [first, second] = await Promise.all([
        stream.write(chunk.subarray(0, 1), 50).then(() => null, (e) => e),
        stream.write(chunk, 50).then(() => null, (e) => e),
      ]);
      error = second ?? first;
    }
    assert.ok(error instanceof WriteTimeout, String(error));
    assert.equal(error.timeoutMs, 50);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: bytes that arrive after a read timed out go to the next read", async () => {
  let serverSocket: net.Socket | null = null;
  const server = await serve((socket) => serverSocket = socket);
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    await assert.rejects(stream.read(undefined, 20), ReadTimeout);
    serverSocket!.write("late");
    assert.equal(decoder.decode(await stream.read(undefined, 5000)), "late");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a second read while one waits is refused", async () => {
  let serverSocket: net.Socket | null = null;
  const server = await serve((socket) => serverSocket = socket);
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const first = stream.read();
    const error = await stream.read().catch((e) => e);
    assert.ok(error instanceof ReadError, String(error));
    assert.match(error.message, /a read is already waiting/);
    await assert.rejects(stream.read(0), RangeError);
    serverSocket!.end("x");
    assert.equal(decoder.decode(await first), "x");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a timeout() scope bounds reads without any argument", async () => {
  const server = await serve(() => {});
  try {
    const stream = await backend.connect("127.0.0.1", server.port);
    const error = await timeout(30, () => stream.read()).catch((error) => error);
    assert.ok(error instanceof ReadTimeout, String(error));
    assert.match(error.message, /timeout scope/);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: an aborted signal abandons connecting", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  const error = await backend.connect("127.0.0.1", 9, { signal: controller.signal }).catch((
    e,
  ) => e);
  assert.equal(error.message, "stop");
});

test("node backend: startTls verifies against extra CA certificates and negotiates ALPN", async () => {
  const server = await serve(echo, {
    tls: { cert: SERVER_CERT, key: SERVER_KEY, ALPNProtocols: ["http/1.1"] },
  });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const stream = await plain.startTls({
      hostname: "localhost",
      caCerts: [CA_CERT],
      alpnProtocols: ["http/1.1"],
    });
    assert.equal(plain.closed, true);
    await assert.rejects(plain.read(), ReadError);
    assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" TLS]>`);
    assert.equal(stream.getExtraInfo("tls"), true);
    assert.equal(stream.getExtraInfo("alpn_protocol"), "http/1.1");
    const info = stream.getExtraInfo("tls_info") as { version: string; authorized: boolean };
    assert.match(info.version, /^TLSv1\.[23]$/);
    assert.equal(info.authorized, true);
    await stream.write(encoder.encode("over tls"));
    let text = "";
    while (text.length < 8) {
      const bytes = await stream.read();
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      text += decoder.decode(bytes);
    }
    assert.equal(text, "over tls");
    await stream.close();
    assert.equal(String(stream), `<NetworkStream ["127.0.0.1:${server.port}" TLS CLOSED]>`);
  } finally {
    await server.close();
  }
});

test("node backend: connect with tls options returns a TLS stream in one step", async () => {
  const server = await serve(echo, { tls: { cert: SERVER_CERT, key: SERVER_KEY } });
  try {
    const stream = await backend.connect("localhost", server.port, {
      tls: { caCerts: [CA_CERT] },
      timeoutMs: 5000,
    });
    assert.equal(stream.getExtraInfo("tls"), true);
    await stream.write(encoder.encode("one step"));
    let text = "";
    while (text.length < 8) text += decoder.decode(await stream.read());
    assert.equal(text, "one step");
    await stream.close();
    // The certificate is checked in the same step.
    const error = await backend.connect("127.0.0.1", server.port, { tls: {} }).catch((e) => e);
    assert.ok(error instanceof ConnectError, String(error));
  } finally {
    await server.close();
  }
});

test("node backend: startTls checks the IP address when no hostname is given", async () => {
  const server = await serve(echo, { tls: { cert: SERVER_CERT, key: SERVER_KEY } });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const stream = await plain.startTls({ caCerts: [CA_CERT] });
    assert.equal(stream.getExtraInfo("alpn_protocol"), null);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: an untrusted certificate fails with ConnectError", async () => {
  const server = await serve(echo, { tls: { cert: SELF_SIGNED_CERT, key: SELF_SIGNED_KEY } });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const error = await plain.startTls({ hostname: "localhost" }).catch((e) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.match(error.message, /TLS handshake with "127\.0\.0\.1:\d+" failed/);
    assert.match(error.message, /unknown authority/);
    assert.match(codeOf(error.cause), /SELF_SIGNED/);
    assert.equal(plain.closed, true);
  } finally {
    await server.close();
  }
});

test("node backend: a certificate for another name fails with ConnectError", async () => {
  const server = await serve(echo, { tls: { cert: SERVER_CERT, key: SERVER_KEY } });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const error = await plain.startTls({ hostname: "example.com", caCerts: [CA_CERT] }).catch((
      e,
    ) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.match(error.message, /example\.com|altnames|ERR_TLS_CERT_ALTNAME_INVALID/);
  } finally {
    await server.close();
  }
});

test("node backend: verify false accepts a self-signed certificate", async () => {
  const server = await serve(echo, { tls: { cert: SELF_SIGNED_CERT, key: SELF_SIGNED_KEY } });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const stream = await plain.startTls({ hostname: "localhost", verify: false });
    await stream.write(encoder.encode("ok"));
    assert.equal(decoder.decode(await stream.read()), "ok");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a client certificate is sent when the server asks for one", async () => {
  let peerName = "";
  const server = await serve((socket) => {
    const tlsSocket = socket as tls.TLSSocket;
    peerName = tlsSocket.authorized ? tlsSocket.getPeerCertificate().subject.CN : "unauthorized";
    tlsSocket.end("hi");
  }, {
    tls: {
      cert: SERVER_CERT,
      key: SERVER_KEY,
      ca: [CA_CERT],
      requestCert: true,
      rejectUnauthorized: true,
    },
  });
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const stream = await plain.startTls({
      hostname: "localhost",
      caCerts: [CA_CERT],
      cert: CLIENT_CERT,
      key: CLIENT_KEY,
    });
    assert.equal(await readAll(stream), "hi");
    assert.equal(peerName, "ferry-client");
    await stream.close();
  } finally {
    await server.close();
  }
});

test("node backend: a TLS handshake that never answers hits its connect limit", async () => {
  const server = await serve((socket) => socket.pause());
  try {
    const plain = await backend.connect("127.0.0.1", server.port);
    const error = await plain.startTls({ hostname: "localhost" }, 30).catch((e) => e);
    assert.ok(error instanceof ConnectTimeout, String(error));
    assert.equal(error.timeoutMs, 30);
  } finally {
    await server.close();
  }
});

test("node backend: connects to UNIX domain sockets", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-unix-"));
  const path = join(dir, "echo.sock");
  const server = await serve(echo, { path });
  try {
    const stream = await backend.connectUnix(path);
    assert.equal(String(stream), `<NetworkStream ["${path}"]>`);
    assert.deepEqual(stream.getExtraInfo("server_addr"), {
      hostname: path,
      port: 0,
      transport: "unix",
    });
    await stream.write(encoder.encode("unix"));
    assert.equal(decoder.decode(await stream.read()), "unix");
    await stream.close();
    const missing = await backend.connectUnix(join(dir, "missing.sock")).catch((e) => e);
    assert.ok(missing instanceof ConnectError, String(missing));
    assert.match(missing.message, /missing\.sock/);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("node backend: the default NetworkBackend uses it outside Deno", {
  skip: runtime === "deno" ? "Deno uses its own backend" : false,
}, async () => {
  const { NetworkBackend } = await import("../src/network/backend.ts");
  const server = await serve(echo);
  try {
    const stream = await new NetworkBackend().connect("127.0.0.1", server.port);
    assert.ok(stream instanceof NodeNetworkStream);
    await stream.close();
  } finally {
    await server.close();
  }
});

test("file access on node:fs reads, streams and lists files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-files-"));
  try {
    writeFileSync(join(dir, "a.txt"), "contents");
    assert.equal(await nodeFileAccess.readTextFile(join(dir, "a.txt")), "contents");
    const opened = await nodeFileAccess.openFile(join(dir, "a.txt"));
    assert.equal(opened.size, 8);
    let text = "";
    for await (const chunk of opened.stream) text += decoder.decode(chunk);
    assert.equal(text, "contents");
    assert.deepEqual(await nodeFileAccess.listDir!(dir), ["a.txt"]);
    await assert.rejects(nodeFileAccess.readTextFile(join(dir, "missing")), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
