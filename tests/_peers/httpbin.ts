/**
 * Starts Debian's python3-httpbin (Flask's development server, threaded, HTTP/1.1 with
 * `Connection: close`) on a free loopback port. Written on `node:*` so it runs under Deno
 * and Node alike.
 */

import { existsSync } from "node:fs";
import { findExecutable, freePort, type Peer, scratchDir, startPeer } from "./common.ts";

const PYTHON = findExecutable("/usr/bin/python3");
const HTTPBIN = "/usr/lib/python3/dist-packages/httpbin/core.py";

/** For `peerTest`: the package and whether it is installed. */
export const httpbinPeer: { pkg: string; available: boolean } = {
  pkg: "python3-httpbin",
  available: PYTHON !== null && existsSync(HTTPBIN),
};

/** Starts httpbin; `origin` is `http://127.0.0.1:<port>`. */
export async function startHttpbin(): Promise<Peer & { origin: string }> {
  if (!httpbinPeer.available) {
    throw new Error("python3-httpbin is not installed (apt-get install -y python3-httpbin)");
  }
  const port = await freePort();
  const peer = await startPeer(
    PYTHON!,
    ["-m", "httpbin.core", "--host", "127.0.0.1", "--port", String(port)],
    port,
    scratchDir("ferry-httpbin-"),
    { env: { PYTHONDONTWRITEBYTECODE: "1" }, timeoutMs: 20_000 },
  );
  return { ...peer, origin: `http://127.0.0.1:${port}` };
}
