/**
 * `ConnectionPool`: reuse, limits, waiting, expiry, stale retries, connect retries, reprs;
 * against small `node:net` servers and nginx.
 */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { peerTest, test } from "./_harness.ts";
import { ConnectionPool } from "../src/pool.ts";
import { Request } from "../src/models/request.ts";
import {
  ConnectError,
  LocalProtocolError,
  PoolTimeout,
  ReadTimeout,
  RemoteProtocolError,
  TransportError,
  UnsupportedProtocol,
} from "../src/errors.ts";
import { cannedServer, eventually, ok, wait } from "./_servers.ts";
import { MemoryNetworkBackend } from "../src/testing/mod.ts";
import { nginxPeer, SMALL_BODY, startNginx } from "./_peers/nginx.ts";

test("pool reprs follow the reference", async () => {
  await using server = await cannedServer(() => ok("hi"));
  const pool = new ConnectionPool();
  assert.equal(String(pool), "<ConnectionPool [0 active]>");
  const response = await pool.request("GET", `${server.url}/`);
  assert.equal(String(response), "<Response [200 OK]>");
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  const streamed = await pool.stream("GET", `${server.url}/`);
  assert.equal(String(pool), "<ConnectionPool [1 active]>");
  const other = await pool.stream("GET", `${server.url}/`);
  await streamed.close();
  assert.equal(String(pool), "<ConnectionPool [1 active, 1 idle]>");
  await other.close();
  assert.equal(String(pool), "<ConnectionPool [2 idle]>");
  assert.deepEqual(
    pool.connections.map(String),
    [`<Connection "${server.url}/" IDLE>`, `<Connection "${server.url}/" IDLE>`],
  );
  await pool.close();
  assert.equal(String(pool), "<ConnectionPool [0 active]>");
});

test("pool.send() returns the body unread; reading it releases the connection", async () => {
  await using server = await cannedServer(() => ok("sent"));
  await using pool = new ConnectionPool();
  const response = await pool.send(new Request("GET", `${server.url}/`));
  assert.equal(String(pool), "<ConnectionPool [1 active]>");
  assert.equal(await response.text(), "sent");
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
});

test("pool reuses an idle connection per origin", async () => {
  await using a = await cannedServer(() => ok("a"));
  await using b = await cannedServer(() => ok("b"));
  await using pool = new ConnectionPool();
  for (let i = 0; i < 3; i++) {
    assert.equal(await (await pool.request("GET", `${a.url}/`)).text(), "a");
    assert.equal(await (await pool.request("GET", `${b.url}/x`)).text(), "b");
  }
  assert.equal(a.accepted, 1);
  assert.equal(b.accepted, 1);
  assert.equal(String(pool), "<ConnectionPool [2 idle]>");
});

test("pool never exceeds maxConnections and serves waiters in order", async () => {
  let maxOpen = 0;
  const server = await cannedServer((head, _i, socket) => {
    setTimeout(() => socket.write(ok(head.split(" ")[1])), 5);
    return null;
  });
  const watcher = setInterval(() => maxOpen = Math.max(maxOpen, server.open), 1);
  try {
    await using pool = new ConnectionPool({ maxConnections: 2 });
    const paths = Array.from({ length: 12 }, (_, i) => `/${i}`);
    const bodies = await Promise.all(
      paths.map(async (path) => await (await pool.request("GET", server.url + path)).text()),
    );
    assert.deepEqual(bodies, paths);
    assert.equal(server.accepted, 2);
    assert.ok(maxOpen <= 2, `max open ${maxOpen}`);
    assert.ok(pool.connections.length <= 2);
  } finally {
    clearInterval(watcher);
    await server.close();
  }
});

test("a waiter gives up with PoolTimeout when no connection frees up in time", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const held = await pool.stream("GET", `${server.url}/`);
  await assert.rejects(
    pool.request("GET", `${server.url}/`, { extensions: { timeout: { pool: 30 } } }),
    (error: unknown) => error instanceof PoolTimeout && error.request !== null,
  );
  await held.close();
  // The pool is still consistent: the next request gets the connection.
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "x");
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
});

test("aborting a waiting request takes it out of the line", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const held = await pool.stream("GET", `${server.url}/`);
  const controller = new AbortController();
  const waiting = pool.request("GET", `${server.url}/`, {
    extensions: { signal: controller.signal },
  });
  const reason = new Error("no longer needed");
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await held.close();
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  assert.equal(server.heads.length, 1);
});

test("a full pool closes another origin's idle connection to make room", async () => {
  await using a = await cannedServer(() => ok("a"));
  await using b = await cannedServer(() => ok("b"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  await pool.request("GET", `${a.url}/`);
  assert.equal(await (await pool.request("GET", `${b.url}/`)).text(), "b");
  assert.equal(pool.connections.length, 1);
  assert.equal(pool.connections[0].origin, b.url);
  await eventually(() => a.open === 0, "a's connection closed");
});

test("a freed connection goes to a waiter of another origin by replacing it", async () => {
  await using a = await cannedServer(() => ok("a"));
  await using b = await cannedServer(() => ok("b"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const held = await pool.stream("GET", `${a.url}/`);
  const waiting = pool.request("GET", `${b.url}/`);
  await wait(5);
  await held.close();
  assert.equal(await (await waiting).text(), "b");
  assert.equal(pool.connections.length, 1);
});

test("idle connections beyond maxKeepaliveConnections are closed once they stay idle", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    setTimeout(() => socket.write(ok("x")), 5);
    return null;
  });
  await using pool = new ConnectionPool({ maxKeepaliveConnections: 1 });
  await Promise.all([1, 2, 3].map(() => pool.request("GET", `${server.url}/`)));
  // Not at release (see pool_keepalive_test.ts): after a tick or two of staying idle.
  await eventually(() => String(pool) === "<ConnectionPool [1 idle]>", "surplus trimmed");
  await eventually(() => server.open === 1, "two connections closed");
});

test("expired idle connections are not reused", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool({ keepaliveExpiry: 10 });
  await pool.request("GET", `${server.url}/`);
  await wait(30);
  await pool.request("GET", `${server.url}/`);
  assert.equal(server.accepted, 2);
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
});

test("a reused connection found closed is retried once on a new connection", async () => {
  // The server drops the first connection when the second request arrives on it.
  await using server = await cannedServer((_head, i, socket) => {
    if (i === 1) {
      socket.destroy();
      return null;
    }
    return ok(`reply ${i}`);
  });
  await using pool = new ConnectionPool();
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "reply 0");
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "reply 2");
  assert.equal(server.accepted, 2);
});

test("the retry takes a fresh connection, not another idle one", async () => {
  // Each socket answers its first request and drops on the second: every idle one is stale.
  const uses = new WeakMap<object, number>();
  await using server = await cannedServer((_head, _i, socket) => {
    const used = (uses.get(socket) ?? 0) + 1;
    uses.set(socket, used);
    if (used > 1) {
      socket.destroy();
      return null;
    }
    return ok("fresh");
  });
  await using pool = new ConnectionPool();
  const first = await pool.stream("GET", `${server.url}/`);
  const second = await pool.stream("GET", `${server.url}/`);
  await first.close();
  await second.close();
  assert.equal(String(pool), "<ConnectionPool [2 idle]>");
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "fresh");
  assert.equal(server.accepted, 3);
});

test("a request sent to a stale connection is retried once, not twice", async () => {
  // Every connection answers its first request and drops when a second one arrives on it.
  const backend = new MemoryNetworkBackend(async (stream) => {
    const index = backend.connections.length - 1;
    for (let served = 0;; served++) {
      const bytes = await stream.read().catch(() => new Uint8Array(0));
      if (bytes.length === 0 || served === 1) break;
      await stream.write(new TextEncoder().encode(
        `HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${index}`,
      ));
    }
    await stream.close();
  });
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  assert.equal(await (await pool.request("GET", "http://ferry.test/")).text(), "0");
  // B takes the idle connection (stale); C waits for room. B's retry has to wait too, and
  // is handed the connection C used: stale again. A second retry would open a third.
  const b = pool.request("GET", "http://ferry.test/b");
  const c = pool.request("GET", "http://ferry.test/c");
  await assert.rejects(b, RemoteProtocolError);
  assert.equal(await (await c).text(), "1");
  assert.equal(backend.connections.length, 2);
});

test("a request aborted before it starts gives its connection back", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  await pool.request("GET", `${server.url}/`);
  const reason = new Error("never mind");
  await assert.rejects(
    pool.request("GET", `${server.url}/`, { extensions: { signal: AbortSignal.abort(reason) } }),
    (error) => error === reason,
  );
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  const response = await pool.request("GET", `${server.url}/`, {
    extensions: { timeout: { pool: 100 } },
  });
  assert.equal(await response.text(), "x");
  assert.equal(server.accepted, 1);
});

test("a POST whose request was sent is not retried", async () => {
  await using server = await cannedServer((_head, i, socket) => {
    if (i === 1) {
      socket.destroy();
      return null;
    }
    return ok("x");
  });
  await using pool = new ConnectionPool();
  await pool.request("GET", `${server.url}/`);
  await assert.rejects(
    pool.request("POST", `${server.url}/`, { content: "data" }),
    (error: unknown) => error instanceof RemoteProtocolError || error instanceof TransportError,
  );
  assert.equal(server.heads.length, 2);
});

test("a fresh connection that fails is not retried", async () => {
  await using server = await cannedServer((_head, _i, socket) => {
    socket.destroy();
    return null;
  });
  await using pool = new ConnectionPool();
  await assert.rejects(pool.request("GET", `${server.url}/`), TransportError);
  assert.equal(server.accepted, 1);
});

async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("retries: failed connects are retried with backoff, then ConnectError", async () => {
  const port = await refusedPort();
  const events: string[] = [];
  await using pool = new ConnectionPool({ retries: 1 });
  await assert.rejects(
    pool.request("GET", `http://127.0.0.1:${port}/`, {
      extensions: { trace: (name) => void events.push(name) },
    }),
    ConnectError,
  );
  assert.equal(events.filter((name) => name === "connection.connect_tcp.started").length, 2);
  assert.equal(String(pool), "<ConnectionPool [0 active]>");
});

test("a failed connect frees its slot for the next waiter", async () => {
  const port = await refusedPort();
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const results = await Promise.allSettled(
    [1, 2, 3].map(() => pool.request("GET", `http://127.0.0.1:${port}/`)),
  );
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok((result as PromiseRejectedResult).reason instanceof ConnectError);
  }
  assert.equal(pool.connections.length, 0);
});

test("other schemes fail with UnsupportedProtocol", async () => {
  await using pool = new ConnectionPool();
  await assert.rejects(pool.request("GET", "ftp://127.0.0.1/"), UnsupportedProtocol);
});

test("closing the pool fails waiters and closes every connection", async () => {
  await using server = await cannedServer(() => ok("x"));
  const pool = new ConnectionPool({ maxConnections: 1 });
  const held = await pool.stream("GET", `${server.url}/`);
  // The handler is attached first: the rejection comes while close() runs.
  const waited = assert.rejects(pool.request("GET", `${server.url}/`), TransportError);
  await pool.close();
  await waited;
  await held.close(); // closing after the pool closed is harmless
  await assert.rejects(pool.request("GET", `${server.url}/`), TransportError);
  await eventually(() => server.open === 0, "server sees every socket closed");
});

test("an idle connection closed by the server leaves the pool", async () => {
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool();
  await pool.request("GET", `${server.url}/`);
  for (const socket of server.sockets) socket.end();
  await eventually(() => pool.connections.length === 0, "pool forgets the connection");
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "x");
});

peerTest(
  "pool against nginx: small GETs reuse one connection; a large body streams",
  nginxPeer,
  async () => {
    await using nginx = await startNginx({ largeBytes: 3_000_000 });
    await using pool = new ConnectionPool();
    for (let i = 0; i < 20; i++) {
      const response = await pool.request("GET", `${nginx.origin}/`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), SMALL_BODY);
    }
    assert.equal(String(pool), "<ConnectionPool [1 idle]>");
    const response = await pool.stream("GET", `${nginx.origin}/large.bin`);
    let total = 0;
    for await (const chunk of response.iterBytes()) total += chunk.length;
    assert.equal(total, 3_000_000);
    const empty = await pool.request("GET", `${nginx.origin}/status/204`);
    assert.equal(empty.status, 204);
    const head = await pool.request("HEAD", `${nginx.origin}/large.bin`);
    assert.equal(head.headers.get("content-length"), "3000000");
    assert.equal((await head.bytes()).length, 0);
    const closing = await pool.request("GET", `${nginx.origin}/close`);
    assert.equal(await closing.text(), "closing\n");
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
    const echoed = await pool.request("GET", `${nginx.origin}/echo?a=1`);
    assert.equal(await echoed.text(), `GET /echo?a=1 127.0.0.1:${nginx.port}\n`);
  },
);

/** An HTTPS server (node:tls) for `localhost` signed by the test CA; records SNI names. */
async function startTlsServer(): Promise<
  { port: number; names: string[]; close(): Promise<void> }
> {
  const { createServer: createTlsServer } = await import("node:tls");
  const { CA_CERT: _ca, SERVER_CERT, SERVER_KEY } = await import("./_tls_fixtures.ts");
  const names: string[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const server = createTlsServer({ cert: SERVER_CERT, key: SERVER_KEY }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    names.push((socket as unknown as { servername?: string }).servername ?? "");
    socket.on("data", () => socket.write(ok("secure")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    names,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("https: TLS with extra CA certificates, start_tls traced, connection reused", async () => {
  const { CA_CERT } = await import("./_tls_fixtures.ts");
  const server = await startTlsServer();
  try {
    await using pool = new ConnectionPool({ tls: { caCerts: [CA_CERT] } });
    const events: string[] = [];
    const url = `https://localhost:${server.port}/`;
    const response = await pool.request("GET", url, {
      extensions: { trace: (name) => void events.push(name) },
    });
    assert.equal(await response.text(), "secure");
    assert.deepEqual(events.slice(0, 4), [
      "connection.connect_tcp.started",
      "connection.connect_tcp.complete",
      "connection.start_tls.started",
      "connection.start_tls.complete",
    ]);
    assert.equal(await (await pool.request("GET", url)).text(), "secure");
    assert.deepEqual(server.names, ["localhost"]);
    assert.equal(
      String(pool.connections[0]),
      `<Connection "https://localhost:${server.port}/" IDLE>`,
    );
  } finally {
    await server.close();
  }
});

test("https: the sniHostname extension names the server to an IP address URL", async () => {
  const { CA_CERT } = await import("./_tls_fixtures.ts");
  const server = await startTlsServer();
  try {
    await using pool = new ConnectionPool({ tls: { caCerts: [CA_CERT] } });
    const response = await pool.request("GET", `https://127.0.0.1:${server.port}/`, {
      headers: { Host: "localhost" },
      extensions: { sniHostname: "localhost" },
    });
    assert.equal(await response.text(), "secure");
    assert.deepEqual(server.names, ["localhost"]);
  } finally {
    await server.close();
  }
});

test("https: an untrusted certificate fails the connect", async () => {
  const server = await startTlsServer();
  try {
    await using pool = new ConnectionPool();
    await assert.rejects(pool.request("GET", `https://localhost:${server.port}/`), ConnectError);
    assert.equal(pool.connections.length, 0);
  } finally {
    await server.close();
  }
});

test("uds: requests over a UNIX domain socket", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "ferry-uds-"));
  const path = join(dir, "server.sock");
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", () => socket.write(ok("over a unix socket")));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const events: string[] = [];
    await using pool = new ConnectionPool({ uds: path });
    const response = await pool.request("GET", "http://localhost/", {
      extensions: { trace: (name) => void events.push(name) },
    });
    assert.equal(await response.text(), "over a unix socket");
    assert.equal(events[0], "connection.connect_unix_socket.started");
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an idle pool that was never closed does not keep the process alive", {
  denoOnly: "spawns a Deno child process running a script",
}, async () => {
  const { spawn } = await import("node:child_process");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const process = (await import("node:process")).default;
  const server = await cannedServer(() => ok("x"));
  const dir = mkdtempSync(join(tmpdir(), "ferry-exit-"));
  try {
    const script = join(dir, "main.ts");
    writeFileSync(
      script,
      `import { ConnectionPool } from ${
        JSON.stringify(new URL("../src/pool.ts", import.meta.url).href)
      };
const pool = new ConnectionPool();
console.log((await pool.request("GET", ${JSON.stringify(server.url + "/")})).status);
await new Promise((resolve) => setTimeout(resolve, 400)); // the idle read gets armed
`,
    );
    const child = spawn(process.execPath, ["run", "-A", "--no-lock", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout!.on("data", (chunk) => output += String(chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(killer);
    assert.equal(code, 0, "the child was killed: the idle connection kept it alive");
    assert.equal(output.trim(), "200");
    assert.equal(server.accepted, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
});

test("a wait that ends before it starts (aborted signal, no pool time) leaves no waiter behind", async () => {
  await using server = await cannedServer(() => ok("hi"));
  await using pool = new ConnectionPool({ maxConnections: 1, timeout: { pool: 1000 } });
  for (
    const extensions of [
      { signal: AbortSignal.abort(new Error("user abort")) },
      { timeout: { pool: 0 } },
    ]
  ) {
    const busy = await pool.stream("GET", `${server.url}/`); // holds the only connection
    await assert.rejects(pool.request("GET", `${server.url}/`, { extensions }));
    await busy.close(); // frees it: it must go to the next request, not to the ghost
    const next = await pool.request("GET", `${server.url}/`);
    assert.equal(await next.text(), "hi");
    assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  }
});

test("a streamed PUT on a reused connection the server closed is not resent with an empty body", async () => {
  // In memory, so that nothing runs between the two requests (no idle probe): the server
  // answers with keep-alive, then ends its side without saying so, and records the rest.
  const received: string[] = [];
  const backend = new MemoryNetworkBackend(async (stream) => {
    const decoder = new TextDecoder();
    await stream.read();
    await stream.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    await stream.closeWrite();
    let rest = "";
    for (let bytes = await stream.read(); bytes.length > 0; bytes = await stream.read()) {
      rest += decoder.decode(bytes);
    }
    received.push(rest);
    await stream.close();
  });
  await using pool = new ConnectionPool({ backend });
  assert.equal(await (await pool.request("GET", "http://ferry.test/")).text(), "hi");
  const body = (async function* () {
    yield new TextEncoder().encode("important-data");
  })();
  // The body was used up by the first attempt: failing is right, a retry would send "".
  await assert.rejects(
    pool.request("PUT", "http://ferry.test/", { content: body }),
    RemoteProtocolError,
  );
  await Promise.all(backend.served);
  assert.equal(backend.connections.length, 1, "connections opened");
  assert.equal(received.length, 1);
  assert.match(received[0], /^PUT \/ HTTP\/1\.1\r\n[^]*\r\n\r\n(e\r\n)?important-data/);
});

test("a read timeout on a reused connection is not retried (the request is sent once)", async () => {
  await using server = await cannedServer((_head, index) => index === 0 ? ok("hi") : null);
  await using pool = new ConnectionPool();
  await (await pool.request("GET", `${server.url}/`)).text();
  await assert.rejects(
    pool.request("GET", `${server.url}/slow`, { extensions: { timeout: { read: 200 } } }),
    ReadTimeout,
  );
  assert.equal(server.heads.length, 2);
});

test("a connection opened for a request refused locally expires and, gone stale, is retried", async () => {
  await using server = await cannedServer(() => ok("hi"));
  await using pool = new ConnectionPool({ keepaliveExpiry: 60_000 });
  await assert.rejects(
    pool.request("GET", `${server.url}/`, { headers: { "Content-Length": "abc" } }),
    LocalProtocolError,
  );
  // Kept (nothing was written), NEW (it served nothing), open on the server's side.
  assert.deepEqual(pool.connections.map((c) => c.state), ["NEW"]);
  await eventually(() => server.open === 1, "the server sees the opened connection");
  // The server drops it; the next request meets the stale connection and is retried.
  for (const socket of server.sockets) socket.destroy();
  await wait(20);
  assert.equal(await (await pool.request("GET", `${server.url}/`)).text(), "hi");
});

test("a trace callback that throws as a whole body ends fails that request only: not sent again, and the connection serves the next", async () => {
  await using server = await cannedServer((_head, index) => ok(`answer ${index}`));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const trace = (name: string): void => {
    if (name === "http11.response_closed.started") throw new Error("trace boom");
  };
  // The second request waits for the only connection; it gets it as the first one's
  // exchange ends, before the first one's trace failure is reported.
  const first = pool.request("GET", `${server.url}/`, { extensions: { trace } });
  const second = pool.request("GET", `${server.url}/`);
  await assert.rejects(first, /trace boom/);
  assert.equal(await (await second).text(), "answer 1");
  assert.equal(server.heads.length, 2, "the failed request was not sent again");
  assert.equal(server.accepted, 1, "one connection served both");
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
});

test("a trace callback that throws as a streamed body ends does not keep the connection busy", async () => {
  const body = "x".repeat(200_000); // more than one read, so the body ends while streaming
  await using server = await cannedServer(() => ok(body));
  await using pool = new ConnectionPool({ maxConnections: 1, timeout: { pool: 500 } });
  const trace = (name: string): void => {
    if (name === "http11.response_closed.started") throw new Error("trace boom");
  };
  const response = await pool.stream("GET", `${server.url}/`, { extensions: { trace } });
  await assert.rejects(response.bytes(), /trace boom/);
  assert.equal(String(pool), "<ConnectionPool [1 idle]>");
  // The only slot is free again: the next request does not meet a PoolTimeout.
  assert.equal((await (await pool.request("GET", `${server.url}/`)).text()).length, body.length);
});

test("requests for the same URL text each have their own URL; an unusual path goes as written", async () => {
  // The pool reads a URL text it was given for the last request once and shares that
  // reading; each request makes its own URL object when asked, so changing one request's
  // URL changes no other (waiting or later) request.
  await using server = await cannedServer(() => ok("x"));
  await using pool = new ConnectionPool();
  const url = `${server.url}/same?q=1`;
  const first = await pool.request("GET", url);
  const second = await pool.request("GET", url);
  assert.notEqual(first.request!.url, second.request!.url);
  first.request!.url.pathname = "/changed";
  assert.equal(second.request!.url.href, url);
  assert.equal(second.request!.target, "/same?q=1");
  assert.equal(first.request!.target, "/changed?q=1");
  await pool.request("GET", url);
  // httpx's reading of the path, not WHATWG's (`\` kept, the bare `?` kept).
  await pool.request("GET", `${server.url}/a\\b?`);
  assert.deepEqual(server.heads.map((head) => head.split("\r\n")[0]), [
    "GET /same?q=1 HTTP/1.1",
    "GET /same?q=1 HTTP/1.1",
    "GET /same?q=1 HTTP/1.1",
    "GET /a\\b? HTTP/1.1",
  ]);
});

test("a request whose URL changes while it waits in line does not file a connection under the wrong origin", async () => {
  // The pool keys a request by its URL when it is sent; the connection made for it when it
  // is served must be for that same origin, or later requests to the origin would be sent
  // to another server.
  await using a = await cannedServer(() => ok("A"));
  await using b = await cannedServer(() => ok("B"));
  await using pool = new ConnectionPool({ maxConnections: 1 });
  const held = await pool.stream("GET", `${b.url}/held`); // the only connection, busy
  const waiting = new Request("GET", `${a.url}/x`);
  const sent = pool.send(waiting);
  waiting.url = new URL(`${b.url}/x`);
  await held.close();
  await (await sent).close();
  const later = await pool.request("GET", `${a.url}/y`);
  assert.equal(await later.text(), "A");
  assert.equal(a.heads.at(-1)?.split("\r\n")[0], "GET /y HTTP/1.1");
});
