/**
 * Small `node:net` servers with canned answers, for connection and pool tests. Written on
 * `node:*` so they run under Deno and Node alike.
 */

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";

/** A server that answers each request head with `reply(head, index)` (bytes or text). */
export interface CannedServer {
  url: string;
  port: number;
  /** Request heads received, in order, across connections. */
  heads: string[];
  /** Sockets accepted so far. */
  accepted: number;
  /** Sockets open now. */
  readonly open: number;
  sockets: Set<Socket>;
  /** Destroys every socket and stops listening. */
  close(): Promise<void>;
  /** Closes the server at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Answers a request head (with its index across connections); `null`: answer nothing now. */
export type Reply = (head: string, index: number, socket: Socket) => string | Uint8Array | null;

/** Starts a server on a free loopback port; see {@linkcode Reply}. */
export async function cannedServer(reply: Reply): Promise<CannedServer> {
  const sockets = new Set<Socket>();
  const heads: string[] = [];
  const state = { accepted: 0 };
  const server: Server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffered.slice(0, end + 4);
        const lengthMatch = /content-length:\s*(\d+)/i.exec(head);
        const bodyLength = lengthMatch ? Number(lengthMatch[1]) : 0;
        if (buffered.length < end + 4 + bodyLength) return;
        buffered = buffered.slice(end + 4 + bodyLength);
        heads.push(head);
        const answer = reply(head, heads.length - 1, socket);
        if (answer !== null && !socket.destroyed) {
          socket.write(typeof answer === "string" ? Buffer.from(answer, "latin1") : answer);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    heads,
    get accepted() {
      return state.accepted;
    },
    get open() {
      return sockets.size;
    },
    sockets,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncDispose](this: CannedServer) {
      return this.close();
    },
  };
}

/** A 200 response with a Content-Length body and extra header lines. */
export function ok(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}

/** Resolves after `ms`. */
export function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms for up to 2 s. */
export async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await wait(5);
  }
  assert.fail(`Timed out waiting for: ${what}`);
}
