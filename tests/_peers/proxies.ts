/**
 * Real proxy servers for tests, on free loopback ports, from generated configs in scratch
 * folders: tinyproxy (forward and `CONNECT`, optional Basic auth, `ConnectPort` limits),
 * microsocks (SOCKS5, optional username/password) and dante (`danted`, SOCKS5 without
 * auth). Plus the targets behind them: a `node:http` echo server and a `node:https` one
 * with the test CA, and a "proxy" that accepts and then closes.
 *
 * Written on `node:*` so it runs under Deno and Node alike.
 */

import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as netConnect, createServer as createNetServer, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable, freePort, type Peer, scratchDir, startPeer } from "./common.ts";
import { makeTestCertificates } from "./tls_certs.ts";

/** Where tinyproxy is, or `null`. */
export const TINYPROXY: string | null = findExecutable("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy");
/** Where microsocks is, or `null`. */
export const MICROSOCKS: string | null = findExecutable("/usr/bin/microsocks");
/** Where danted is, or `null`. */
export const DANTED: string | null = findExecutable("/usr/sbin/danted", "/usr/bin/danted");

/** Where squid is, or `null`. */
export const SQUID: string | null = findExecutable("/usr/sbin/squid", "/usr/bin/squid");

/** For `peerTest`: squid. */
export const squidPeer: { pkg: string; available: boolean } = {
  pkg: "squid",
  available: SQUID !== null,
};

/** For `peerTest`: tinyproxy. */
export const tinyproxyPeer: { pkg: string; available: boolean } = {
  pkg: "tinyproxy",
  available: TINYPROXY !== null,
};
/** For `peerTest`: microsocks. */
export const microsocksPeer: { pkg: string; available: boolean } = {
  pkg: "microsocks",
  available: MICROSOCKS !== null,
};
/** For `peerTest`: dante-server. */
export const dantePeer: { pkg: string; available: boolean } = {
  pkg: "dante-server",
  available: DANTED !== null,
};

/** A started proxy: its URL (without credentials) on top of the {@linkcode Peer}. */
export type ProxyPeer = Peer & { url: string };

/** Options of {@linkcode startTinyproxy}. */
export interface TinyproxyOptions {
  /** Require these credentials (`BasicAuth user pass`). */
  auth?: [string, string];
  /** Ports `CONNECT` may reach; any port when empty or absent. */
  connectPorts?: number[];
}

/** Starts tinyproxy in the foreground on a free port. */
export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<ProxyPeer> {
  if (TINYPROXY === null) {
    throw new Error("tinyproxy is not installed (apt-get install -y tinyproxy)");
  }
  const port = await freePort();
  const dir = scratchDir("ferry-tinyproxy-");
  const lines = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 60",
    "MaxClients 200",
    "LogLevel Error",
    `LogFile "${join(dir, "tinyproxy.log")}"`,
    `PidFile "${join(dir, "tinyproxy.pid")}"`,
    "Allow 127.0.0.1",
    "DisableViaHeader Yes",
    ...(options.auth ? [`BasicAuth ${options.auth[0]} ${options.auth[1]}`] : []),
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ];
  writeFileSync(join(dir, "tinyproxy.conf"), lines.join("\n") + "\n");
  const peer = await startPeer(TINYPROXY, ["-d", "-c", join(dir, "tinyproxy.conf")], port, dir);
  return { ...peer, url: `http://127.0.0.1:${port}` };
}

/**
 * Starts squid in the foreground on a free port: no cache, loopback clients only. Unlike
 * tinyproxy it keeps client connections alive between forwarded requests.
 */
export async function startSquid(): Promise<ProxyPeer> {
  if (SQUID === null) throw new Error("squid is not installed (apt-get install -y squid)");
  const port = await freePort();
  const dir = scratchDir("ferry-squid-");
  // squid drops root for its own user, which must be able to write its logs here.
  chmodSync(dir, 0o777);
  const config = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${join(dir, "squid.pid")}`,
    `cache_log ${join(dir, "cache.log")}`,
    "access_log none",
    "cache deny all",
    "cache_mem 8 MB",
    "http_access allow localhost",
    "http_access deny all",
    `coredump_dir ${dir}`,
    "shutdown_lifetime 0 seconds",
    "via off",
    "forwarded_for delete",
    "pinger_enable off",
  ];
  writeFileSync(join(dir, "squid.conf"), config.join("\n") + "\n");
  const peer = await startPeer(SQUID, ["-N", "-f", join(dir, "squid.conf")], port, dir, {
    timeoutMs: 20_000,
  });
  return { ...peer, url: `http://127.0.0.1:${port}` };
}

/** Starts microsocks on a free port, requiring `auth` when given. */
export async function startMicrosocks(
  options: { auth?: [string, string] } = {},
): Promise<ProxyPeer> {
  if (MICROSOCKS === null) {
    throw new Error("microsocks is not installed (apt-get install -y microsocks)");
  }
  const port = await freePort();
  const dir = scratchDir("ferry-microsocks-");
  const args = ["-i", "127.0.0.1", "-p", String(port)];
  if (options.auth) args.push("-u", options.auth[0], "-P", options.auth[1]);
  const peer = await startPeer(MICROSOCKS, args, port, dir);
  return { ...peer, url: `socks5://127.0.0.1:${port}` };
}

/** Starts dante (`danted`) on a free port: SOCKS5 without authentication, loopback only. */
export async function startDante(): Promise<ProxyPeer> {
  if (DANTED === null) throw new Error("danted is not installed (apt-get install -y dante-server)");
  const port = await freePort();
  const dir = scratchDir("ferry-dante-");
  const config = `
logoutput: ${join(dir, "danted.log")}
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }
socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 }
`;
  writeFileSync(join(dir, "danted.conf"), config);
  const peer = await startPeer(
    DANTED,
    ["-f", join(dir, "danted.conf"), "-p", join(dir, "danted.pid"), "-N", "1"],
    port,
    dir,
  );
  return { ...peer, url: `socks5://127.0.0.1:${port}` };
}

/** What the echo targets saw of one request. */
export interface SeenRequest {
  method: string;
  /** The request target as received (origin form when it came through a tunnel). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A target server: its origin, the requests it saw, and `close()`. */
export interface Target {
  origin: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
  /** Closes the server at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

function echo(seen: SeenRequest[]) {
  return (request: IncomingMessage, response: import("node:http").ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry: SeenRequest = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      seen.push(entry);
      const body = JSON.stringify(entry);
      response.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
      });
      response.end(body);
    });
  };
}

async function listen(server: Server, scheme: string, seen: SeenRequest[]): Promise<Target> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `${scheme}://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    [Symbol.asyncDispose](this: Target) {
      return this.close();
    },
  };
}

/** A `node:http` server that answers every request with a JSON echo of it. */
export function startHttpTarget(): Promise<Target> {
  const seen: SeenRequest[] = [];
  return listen(createHttpServer(echo(seen)), "http", seen);
}

/** A `node:https` echo server with the test certificate (for `127.0.0.1` and `localhost`). */
export async function startHttpsTarget(): Promise<Target> {
  const certs = await makeTestCertificates();
  const seen: SeenRequest[] = [];
  const server = createHttpsServer(
    { cert: certs.serverCertPem, key: certs.serverKeyPem },
    echo(seen),
  );
  return listen(server, "https", seen);
}

/**
 * A "proxy" that accepts connections and closes them after reading `afterBytes` bytes
 * (0: at once), after writing `reply` when given. `accepted()` counts the connections.
 */
export async function startClosingProxy(
  options: { afterBytes?: number; reply?: Uint8Array } = {},
): Promise<Target & { accepted(): number }> {
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted++;
    let received = 0;
    socket.on("error", () => {});
    const finish = () => {
      if (options.reply) socket.end(options.reply);
      else socket.destroy();
    };
    if (!options.afterBytes) return finish();
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= options.afterBytes!) finish();
    });
  });
  const target = await listen(server as unknown as Server, "http", []);
  return { ...target, accepted: () => accepted };
}

/**
 * A TLS front for a proxy (as stunnel would be): accepts TLS with the test certificate
 * (for `127.0.0.1` and `localhost`) and relays the clear bytes to `127.0.0.1:upstreamPort`.
 * Makes an `https://` proxy out of tinyproxy.
 */
export async function startTlsFront(upstreamPort: number): Promise<Target> {
  const certs = await makeTestCertificates();
  const server = createTlsServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (tls) => {
    const upstream = netConnect(upstreamPort, "127.0.0.1");
    tls.on("error", () => upstream.destroy());
    upstream.on("error", () => tls.destroy());
    tls.on("close", () => upstream.destroy());
    upstream.on("close", () => tls.destroy());
    tls.pipe(upstream);
    upstream.pipe(tls);
  });
  return await listen(server as unknown as Server, "https", []);
}
