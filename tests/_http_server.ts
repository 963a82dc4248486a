/**
 * A `node:http` server on a free loopback port for the fetch adapter's tests (it runs
 * under Deno, Node and Bun alike), closed with `await using`.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A running server: its origin, and the number of connections it accepted. */
export interface HttpServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** A handler: `node:http`'s, given the whole request body (as text) too. */
export type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  body: Uint8Array,
) => unknown;

/** Starts a server that reads each request's body, then calls `handler`. */
export async function serveHttp(handler: Handler): Promise<HttpServer> {
  let connections = 0;
  const server = createServer((request, response) => {
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    request.on("end", () => {
      const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        body.set(chunk, offset);
        offset += chunk.length;
      }
      Promise.resolve(handler(request, response, body)).catch((error) => {
        response.destroy(error);
      });
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    origin,
    get connections() {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Echoes the request as JSON: method, path, headers (lower-case, raw pairs too) and body. */
export const echo: Handler = (request, response, body) => {
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({
    method: request.method,
    url: request.url,
    headers: request.headers,
    rawHeaders: request.rawHeaders,
    body: new TextDecoder().decode(body),
  }));
};

/** What {@linkcode echo} answers. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  body: string;
}

/** A server that never answers, and a promise of its first request's arrival. */
export async function serveSilently(): Promise<HttpServer & { requested: Promise<void> }> {
  let arrived!: () => void;
  const requested = new Promise<void>((resolve) => arrived = resolve);
  const server = await serveHttp(() => arrived());
  return Object.assign(server, { requested });
}
