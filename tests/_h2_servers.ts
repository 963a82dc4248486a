/**
 * `node:http2` servers for the HTTP/2 tests (h2c, or TLS offering `h2` and `http/1.1` by
 * ALPN with the test CA's leaf certificate), with a small router and a record of the
 * streams the server saw (and how they closed). Written on `node:*` so it runs under Deno,
 * Node and Bun alike.
 */

import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { SERVER_CERT, SERVER_KEY } from "./_tls_fixtures.ts";

/** A handler for one path: answers the stream (or not). */
export type H2Handler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  session: http2.ServerHttp2Session,
) => void;

/** A running server. */
export interface H2Server {
  /** `http://127.0.0.1:port` or `https://localhost:port`. */
  origin: string;
  port: number;
  /** Sessions (connections) accepted so far. */
  sessions: http2.ServerHttp2Session[];
  /** `:path` and the RST_STREAM code of every stream once it closed (0: ended normally). */
  closedStreams: { path: string; rstCode: number }[];
  /** Resolves when a stream of `path` has closed; with its code. */
  streamClosed(path: string): Promise<number>;
  /** Destroys every accepted socket (the server stays up). */
  dropConnections(): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode h2Server}. */
export interface H2ServerOptions {
  /** TLS with ALPN `h2` (and `http/1.1` when `allowHTTP1`). Default: h2c. */
  tls?: boolean;
  /** Serve HTTP/1.1 too (TLS: by ALPN). Default false. */
  allowHTTP1?: boolean;
  /** The server's SETTINGS. */
  settings?: http2.Settings;
}

/** A handler that answers 200 with `body` (default: the method and path). */
export function answer(body?: string): H2Handler {
  return (stream, headers) => {
    stream.respond({ ":status": 200, "content-type": "text/plain" });
    stream.end(body ?? `${headers[":method"]} ${headers[":path"]}`);
  };
}

/** Starts a server; `routes` maps `:path` (without query) to a handler, else 404. */
export async function h2Server(
  routes: Record<string, H2Handler>,
  options: H2ServerOptions = {},
): Promise<H2Server> {
  const server = options.tls
    ? http2.createSecureServer({
      cert: SERVER_CERT,
      key: SERVER_KEY,
      allowHTTP1: options.allowHTTP1 ?? false,
      settings: options.settings,
    })
    : http2.createServer({ settings: options.settings });
  const sessions: http2.ServerHttp2Session[] = [];
  const sockets = new Set<Socket>();
  const closedStreams: { path: string; rstCode: number }[] = [];
  const closeWaiters: { path: string; resolve: (code: number) => void }[] = [];
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.push(session);
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    const path = String(headers[":path"] ?? "").split("?")[0];
    stream.on("error", () => {});
    stream.on("close", () => {
      const rstCode = stream.rstCode ?? 0;
      closedStreams.push({ path, rstCode });
      for (let i = closeWaiters.length - 1; i >= 0; i--) {
        if (closeWaiters[i].path === path) {
          closeWaiters[i].resolve(rstCode);
          closeWaiters.splice(i, 1);
        }
      }
    });
    const handler = routes[path];
    if (handler === undefined) {
      stream.respond({ ":status": 404 });
      stream.end("not found");
      return;
    }
    handler(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  // HTTP/1.1 requests when allowHTTP1: answer with the protocol they came on. (Only then:
  // the compatibility layer a "request" listener turns on sends trailers on its own.)
  if (options.allowHTTP1) {
    server.on(
      "request",
      (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
        if (request.httpVersion === "2.0") return;
        response.end(`HTTP/${request.httpVersion} ${request.method} ${request.url}`);
      },
    );
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const close = async (): Promise<void> => {
    for (const session of sessions) if (!session.destroyed) session.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    origin: options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    port,
    sessions,
    closedStreams,
    streamClosed(path: string): Promise<number> {
      const done = closedStreams.find((entry) => entry.path === path);
      if (done !== undefined) return Promise.resolve(done.rstCode);
      return new Promise((resolve) => closeWaiters.push({ path, resolve }));
    },
    dropConnections(): void {
      for (const socket of sockets) socket.destroy();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** One HTTP/2 frame: 9-byte header and payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = payload.length >> 16;
  out[1] = (payload.length >> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId);
  out.set(payload, 9);
  return out;
}

/** A frame the client sent, as {@linkcode rawH2Server} parsed it. */
export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

/**
 * A scripted HTTP/2 server over raw frames: after the client's preface it sends an empty
 * SETTINGS frame (acking the client's), then calls `onFrame` for every frame the client
 * sends. `HEADERS_200_END` is a HEADERS payload of `:status: 200` (HPACK static index 8).
 */
export async function rawH2Server(
  onFrame: (frame: RawFrame, socket: Socket) => void,
): Promise<
  {
    origin: string;
    frames: RawFrame[];
    close(): Promise<void>;
    [Symbol.asyncDispose](): Promise<void>;
  }
> {
  const { createServer } = await import("node:net");
  const sockets = new Set<Socket>();
  const frames: RawFrame[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let buffered = new Uint8Array(0);
    let prefaced = false;
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(buffered.length + chunk.length);
      joined.set(buffered);
      joined.set(chunk, buffered.length);
      buffered = joined;
      if (!prefaced) {
        if (buffered.length < 24) return;
        buffered = buffered.subarray(24);
        prefaced = true;
        socket.write(frame(4, 0, 0));
      }
      while (buffered.length >= 9) {
        const length = (buffered[0] << 16) | (buffered[1] << 8) | buffered[2];
        if (buffered.length < 9 + length) return;
        const view = new DataView(buffered.buffer, buffered.byteOffset);
        const parsed = {
          type: buffered[3],
          flags: buffered[4],
          streamId: view.getUint32(5) & 0x7fffffff,
          payload: buffered.slice(9, 9 + length),
        };
        buffered = buffered.subarray(9 + length);
        frames.push(parsed);
        if (parsed.type === 4 && (parsed.flags & 1) === 0) socket.write(frame(4, 1, 0));
        onFrame(parsed, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { origin: `http://127.0.0.1:${port}`, frames, close, [Symbol.asyncDispose]: close };
}

/** A HEADERS payload: `:status: 200` (HPACK static table index 8). */
export const HEADERS_200: Uint8Array<ArrayBuffer> = new Uint8Array([0x88]);
