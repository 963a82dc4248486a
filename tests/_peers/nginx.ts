/**
 * Starts nginx on a free loopback port from a generated config in a scratch folder: a small
 * `/` response, keep-alive on, and optionally a large static file for downloads.
 * Written on `node:*` so it runs under Deno and Node alike.
 */

import { closeSync, ftruncateSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable, freePort, type Peer, scratchDir, startPeer } from "./common.ts";

/** Where nginx is, or `null` when the Debian package nginx-light is missing. */
export const NGINX: string | null = findExecutable("/usr/sbin/nginx", "/usr/bin/nginx");

/** For `peerTest`: the package and whether it is installed. */
export const nginxPeer: { pkg: string; available: boolean } = {
  pkg: "nginx-light",
  available: NGINX !== null,
};

/** The body of `/` (and of `/index.html`). */
export const SMALL_BODY = "Hello from Ferry's nginx peer\n";

/** Options of {@linkcode startNginx}. */
export interface NginxOptions {
  /** Size of `/large.bin` in bytes (a sparse file of zeros); none when 0. Default 0. */
  largeBytes?: number;
  /** `keepalive_timeout` in seconds. Default 75. */
  keepaliveTimeout?: number;
  /** `keepalive_requests`. Default 1,000,000 (benchmarks must not reconnect). */
  keepaliveRequests?: number;
  /** Worker processes. Default 1. */
  workers?: number;
  /**
   * HTTP/2: `"h2c"` (prior knowledge on plain TCP) or `"tls"` (TLS, ALPN `h2` and
   * `http/1.1`, with `cert` and `key`). Default: HTTP/1.1 only.
   */
  http2?: "h2c" | "tls";
  /** PEM certificate chain and key files for `http2: "tls"`. */
  tls?: { certFile: string; keyFile: string };
  /** More directives for the `server` block (`location = /x { … }`). */
  serverConfig?: string;
}

/**
 * Starts nginx. `/` answers {@linkcode SMALL_BODY}; `/large.bin` is a file of
 * `largeBytes` zeros; `/status/204` answers 204; `/close` answers with `Connection: close`.
 */
export async function startNginx(
  options: NginxOptions = {},
): Promise<Peer & { origin: string }> {
  if (NGINX === null) throw new Error("nginx is not installed (apt-get install -y nginx-light)");
  const port = await freePort();
  const dir = scratchDir("ferry-nginx-");
  const root = join(dir, "www");
  await import("node:fs").then((fs) => fs.mkdirSync(root));
  writeFileSync(join(root, "index.html"), SMALL_BODY);
  if (options.largeBytes) {
    const fd = openSync(join(root, "large.bin"), "w");
    ftruncateSync(fd, options.largeBytes);
    closeSync(fd);
  }
  const config = `
daemon off;
master_process off;
worker_processes ${options.workers ?? 1};
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  keepalive_timeout ${options.keepaliveTimeout ?? 75};
  keepalive_requests ${options.keepaliveRequests ?? 1000000};
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port}${
    options.http2 === "tls" ? " ssl http2" : options.http2 === "h2c" ? " http2" : ""
  };${
    options.tls
      ? `\n    ssl_certificate ${options.tls.certFile};\n    ssl_certificate_key ${options.tls.keyFile};`
      : ""
  }
    root ${root};
    location = /status/204 { return 204; }
    location = /close { keepalive_timeout 0; return 200 "closing\\n"; }
    location = /echo { return 200 "$request_method $request_uri $http_host\\n"; }
    ${options.serverConfig ?? ""}${
    // With HTTP/2, sendfile and TCP_NOPUSH hold small responses back until the client's
    // delayed ACK (40 ms a request against nghttp2-based clients, measured here).
    options.http2 ? "\n    sendfile off;\n    tcp_nopush off;" : ""}
  }
}
`;
  const configPath = join(dir, "nginx.conf");
  writeFileSync(configPath, config);
  const peer = await startPeer(
    NGINX,
    ["-p", dir, "-c", configPath, "-e", join(dir, "error.log")],
    port,
    dir,
  );
  const scheme = options.http2 === "tls" ? "https" : "http";
  return {
    ...peer,
    origin: `${scheme}://${scheme === "https" ? "localhost" : "127.0.0.1"}:${port}`,
  };
}
