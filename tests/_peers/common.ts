/**
 * Shared plumbing for tests that start real peers (nginx, httpbin, proxies, TLS servers)
 * on loopback. Written on `node:*` so it runs under Deno and Node alike.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The first of `paths` that exists, or `null`. */
export function findExecutable(...paths: string[]): string | null {
  for (const path of paths) if (existsSync(path)) return path;
  return null;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `127.0.0.1:port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** A process started for a test, stopped with {@linkcode Peer.stop}. */
export interface Peer {
  /** The port it listens on. */
  port: number;
  /** The child process. */
  process: ChildProcess;
  /** A scratch folder that is removed on stop. */
  dir: string;
  /** Stops the process and removes the scratch folder. */
  stop(): Promise<void>;
  /** Stops the peer at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `command` and waits until it listens on `port`. The caller picks the port (see
 * {@linkcode freePort}) and passes it in `args` or a config file in `dir`.
 */
export async function startPeer(
  command: string,
  args: string[],
  port: number,
  dir: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Peer> {
  const child = spawn(command, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...processEnv(), ...options.env },
    cwd: dir,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => stderr += String(chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, options.timeoutMs),
      exited.then(() => {
        throw new Error(`${command} exited before listening: ${stderr.slice(-2000)}`);
      }),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    process: child,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      child.stderr?.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose](this: Peer) {
      return this.stop();
    },
  };
}

/** A new scratch folder under the system's temporary folder. */
export function scratchDir(prefix = "ferry-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function processEnv(): Record<string, string> {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (deno?.env) return deno.env.toObject();
  // deno-lint-ignore no-explicit-any
  return { ...(globalThis as any).process.env };
}
