/**
 * Small loopback servers for network tests, on `node:net` and `node:tls` so they run under
 * Deno and Node alike. Each keeps its sockets and `close()` destroys them all.
 */

import * as net from "node:net";
import * as tls from "node:tls";

/** A listening server and the sockets it accepted. */
export interface TestServer {
  /** The port on 127.0.0.1 (0 for UNIX sockets). */
  port: number;
  /** The UNIX socket path, when listening on one. */
  path: string | null;
  /** The accepted sockets, in order. */
  sockets: net.Socket[];
  /** Resolves with the next accepted socket (or the first not yet taken). */
  accepted(): Promise<net.Socket>;
  /** Destroys every socket and stops listening. */
  close(): Promise<void>;
  /** Closes the server at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

function track(
  server: net.Server,
  onSocket: (socket: net.Socket) => void,
  event = "connection",
): Omit<TestServer, "port" | "path"> {
  const sockets: net.Socket[] = [];
  const waiting: ((socket: net.Socket) => void)[] = [];
  let taken = 0;
  server.on(event, (socket: net.Socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    onSocket(socket);
    const waiter = waiting.shift();
    if (waiter) {
      taken++;
      waiter(socket);
    }
  });
  return {
    sockets,
    accepted() {
      if (taken < sockets.length) return Promise.resolve(sockets[taken++]);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(sockets.map((socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed && (socket as { closed?: boolean }).closed !== false) {
            return resolve();
          }
          socket.once("close", () => resolve());
          socket.destroy();
        })
      ));
      await closed;
    },
    [Symbol.asyncDispose](this: TestServer) {
      // `this`: the final server object, whose `close` may extend this one (TLS).
      return this.close();
    },
  };
}

/** A TCP server on 127.0.0.1 (or a UNIX socket at `path`) calling `onSocket` per connection. */
export async function tcpServer(
  onSocket: (socket: net.Socket) => void = () => {},
  options: { path?: string } = {},
): Promise<TestServer> {
  const server = net.createServer();
  const tracked = track(server, onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (options.path) server.listen(options.path, () => resolve());
    else server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { ...tracked, port, path: options.path ?? null };
}

/** Echoes every byte back. */
export function echo(socket: net.Socket): void {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("end", () => socket.end());
}

/** A TLS server on 127.0.0.1 calling `onSocket` for each secure connection. */
export async function tlsServer(
  options: tls.TlsOptions,
  onSocket: (socket: tls.TLSSocket) => void = () => {},
): Promise<TestServer & { tlsErrors: Error[] }> {
  const server = tls.createServer(options);
  const tlsErrors: Error[] = [];
  server.on("tlsClientError", (error) => tlsErrors.push(error));
  // Track raw connections too, so close() also ends those that never finished a handshake.
  const raw: net.Socket[] = [];
  server.on("connection", (socket: net.Socket) => {
    raw.push(socket);
    socket.on("error", () => {});
  });
  const tracked = track(server, onSocket as (socket: net.Socket) => void, "secureConnection");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    ...tracked,
    port,
    path: null,
    tlsErrors,
    async close() {
      for (const socket of raw) socket.destroy();
      await tracked.close();
    },
  };
}
