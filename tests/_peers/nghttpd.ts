/**
 * Starts nghttpd (Debian's nghttp2-server: the nghttp2 project's HTTP/2 server) on a free
 * loopback port, serving a scratch folder: h2c by prior knowledge, or TLS with ALPN `h2`.
 * Written on `node:*` so it runs under Deno, Node and Bun alike.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable, freePort, type Peer, scratchDir, startPeer } from "./common.ts";
import { SERVER_CERT, SERVER_KEY } from "../_tls_fixtures.ts";

/** Where nghttpd is, or `null` when the Debian package nghttp2-server is missing. */
export const NGHTTPD: string | null = findExecutable("/usr/sbin/nghttpd", "/usr/bin/nghttpd");

/** For `peerTest`: the package and whether it is installed. */
export const nghttpdPeer: { pkg: string; available: boolean } = {
  pkg: "nghttp2-server",
  available: NGHTTPD !== null,
};

/**
 * Starts nghttpd serving `files` (name → content) from its document root; TLS uses the
 * test CA's leaf certificate for `localhost`.
 */
export async function startNghttpd(
  files: Record<string, string | Uint8Array>,
  options: { tls?: boolean } = {},
): Promise<Peer & { origin: string; [Symbol.asyncDispose](): Promise<void> }> {
  if (NGHTTPD === null) {
    throw new Error("nghttpd is not installed (apt-get install -y nghttp2-server)");
  }
  const port = await freePort();
  const dir = scratchDir("ferry-nghttpd-");
  const root = join(dir, "www");
  const fs = await import("node:fs");
  fs.mkdirSync(root);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  const args = ["-a", "127.0.0.1", "-d", root, String(port)];
  if (options.tls) {
    writeFileSync(join(dir, "key.pem"), SERVER_KEY);
    writeFileSync(join(dir, "cert.pem"), SERVER_CERT);
    args.push(join(dir, "key.pem"), join(dir, "cert.pem"));
  } else args.unshift("--no-tls");
  const peer = await startPeer(NGHTTPD, args, port, dir);
  return {
    ...peer,
    origin: options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () => peer.stop(),
  };
}
