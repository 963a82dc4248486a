/**
 * Runs the `ferry` command as a child process (Deno: `deno run -A src/cli/mod.ts`; Node
 * and Bun: the transpiled `src/cli/mod.js` with the same runtime), and a local server
 * with the routes the CLI tests need. Written on `node:*` so it runs under every runtime.
 */

import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime } from "./_harness.ts";

/** What the command printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stdoutBytes: Uint8Array;
  stderr: string;
}

/** Options of {@linkcode ferry}. */
export interface FerryOptions {
  /** Bytes piped to stdin (stdin is /dev/null otherwise). */
  stdin?: string | Uint8Array;
  /** Variables added to the environment. */
  env?: Record<string, string>;
  /** The working folder. */
  cwd?: string;
}

const ENTRY = fileURLToPath(
  new URL(`../src/cli/mod.${runtime === "deno" ? "ts" : "js"}`, import.meta.url),
);

/** The command line that starts `ferry` under this runtime (program and arguments). */
export function ferryCommand(args: string[]): [string, string[]] {
  if (runtime === "deno") {
    // deno-lint-ignore no-explicit-any
    const deno = (globalThis as any).Deno;
    return [deno.execPath(), ["run", "-A", "--quiet", "--no-lock", ENTRY, ...args]];
  }
  return [process.execPath, [ENTRY, ...args]];
}

/** Runs `ferry args…` and collects its output. */
export function ferry(args: string[], options: FerryOptions = {}): Promise<CliResult> {
  const [program, argv] = ferryCommand(args);
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  if (!options.env?.NO_COLOR) delete env.NO_COLOR;
  const child = spawn(program, argv, {
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    env,
    cwd: options.cwd,
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  child.stdout!.on("data", (chunk: Uint8Array) => out.push(chunk));
  child.stderr!.on("data", (chunk: Uint8Array) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const stdoutBytes = concat(out);
      resolve({
        code,
        stdout: new TextDecoder().decode(stdoutBytes),
        stdoutBytes,
        stderr: new TextDecoder().decode(concat(err)),
      });
    });
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** What the test server saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** The CLI test server: its origin, the requests it saw, and `close()`. */
export interface CliServer {
  origin: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/** `n` bytes of a fixed pattern with NUL bytes in it (binary). */
export function patternBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

function route(request: IncomingMessage, response: ServerResponse, body: Uint8Array): void {
  const url = new URL(request.url ?? "/", "http://x");
  const path = url.pathname;
  let match: RegExpExecArray | null;
  if (path === "/echo" || path === "/echo/") {
    const text = JSON.stringify({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: new TextDecoder().decode(body),
    });
    response.writeHead(200, { "Content-Type": "application/json" }).end(text);
  } else if ((match = /^\/status\/(\d+)$/.exec(path))) {
    const status = Number(match[1]);
    if (status >= 300 && status < 400) response.setHeader("Location", "/echo");
    response.writeHead(status, { "Content-Type": "text/plain" }).end(`status ${status}\n`);
  } else if (path === "/loop") {
    response.writeHead(302, { Location: "/loop" }).end();
  } else if ((match = /^\/bytes\/(\d+)$/.exec(path))) {
    const all = patternBytes(Number(match[1]));
    const headers: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      "Accept-Ranges": "bytes",
    };
    if (url.searchParams.has("name")) {
      headers["Content-Disposition"] = `attachment; filename="${url.searchParams.get("name")}"`;
    }
    if (url.searchParams.has("badrange") && request.headers.range) {
      // A 206 that does not start where it was asked to.
      headers["Content-Range"] = `bytes 0-${all.length - 1}/${all.length}`;
      headers["Content-Length"] = String(all.length);
      response.writeHead(206, headers).end(all);
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(String(request.headers.range ?? ""));
    if (range && !url.searchParams.has("norange")) {
      const start = Number(range[1]);
      if (start >= all.length) {
        response.writeHead(416, { "Content-Range": `bytes */${all.length}` }).end();
        return;
      }
      headers["Content-Range"] = `bytes ${start}-${all.length - 1}/${all.length}`;
      headers["Content-Length"] = String(all.length - start);
      response.writeHead(206, headers).end(all.subarray(start));
      return;
    }
    headers["Content-Length"] = String(all.length);
    response.writeHead(200, headers).end(all);
  } else if ((match = /^\/stream\/(\d+)$/.exec(path))) {
    // Chunked, so the length is unknown to the client.
    const all = patternBytes(Number(match[1]));
    response.writeHead(200, { "Content-Type": "application/octet-stream" });
    for (let offset = 0; offset < all.length; offset += 4096) {
      response.write(all.subarray(offset, offset + 4096));
    }
    response.end();
  } else if ((match = /^\/slow\/(\d+)$/.exec(path))) {
    // Known length, sent in six pieces 150 ms apart: the progress bar is redrawn on the way.
    const all = patternBytes(Number(match[1]));
    const headers: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(all.length),
    };
    if (url.searchParams.has("name")) {
      headers["Content-Disposition"] = `attachment; filename="${url.searchParams.get("name")}"`;
    }
    response.writeHead(200, headers);
    const piece = Math.ceil(all.length / 6);
    let offset = 0;
    const next = () => {
      if (response.destroyed) return;
      response.write(all.subarray(offset, offset + piece));
      offset += piece;
      if (offset >= all.length) response.end();
      else setTimeout(next, 150);
    };
    next();
  } else if (path === "/cookie") {
    response.writeHead(200, { "Set-Cookie": "sid=s3cr3t; Path=/", "Content-Type": "text/plain" })
      .end("cookie set\n");
  } else if (path === "/basic") {
    const expected = "Basic " + btoa("ana:p4ss");
    if (request.headers.authorization === expected) response.writeHead(200).end("welcome\n");
    else response.writeHead(401, { "WWW-Authenticate": 'Basic realm="x"' }).end("who?\n");
  } else if (path === "/never") {
    // Never answers: for timeouts.
  } else if (path === "/text") {
    response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end("héllo\n");
  } else {
    response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  }
}

/** Starts the CLI test server on a free loopback port. */
export async function startCliServer(): Promise<CliServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    request.on("end", () => {
      const body = concat(chunks);
      seen.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body,
      });
      route(request, response, body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
