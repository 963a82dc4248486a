/**
 * The server of the fetch benchmarks: nginx (one worker, no master) answering `/` with a
 * fixed `return 200`, plus what the benchmarks read about it: the connections it accepted
 * (`stub_status`) and the CPU time it used (`/proc/PID/stat`), to tell whether the server
 * is the bottleneck. Written on `node:*` so the Deno and Node benchmarks share it.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { findExecutable, freePort, scratchDir, startPeer } from "../tests/_peers/common.ts";

/** The body of `/`. */
export const BODY = "Hello from Ferry's fetch benchmark\n";

/** A running nginx. */
export interface FetchPeer {
  origin: string;
  /** Connections nginx accepted so far (the stub_status requests themselves excluded). */
  accepted(): Promise<number>;
  /** CPU time nginx used so far, in microseconds. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

/** Starts nginx, or throws naming the Debian package when it is missing. */
export async function startFetchPeer(): Promise<FetchPeer> {
  const nginx = findExecutable("/usr/sbin/nginx", "/usr/bin/nginx");
  if (nginx === null) throw new Error("nginx is not installed (apt-get install -y nginx-light)");
  const port = await freePort();
  const dir = scratchDir("ferry-fetch-bench-");
  const config = `
daemon off;
master_process off;
worker_processes 1;
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
  keepalive_timeout 75;
  keepalive_requests 1000000;
  tcp_nodelay on;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = / { default_type text/plain; return 200 ${JSON.stringify(BODY)}; }
    location = /nginx_status { stub_status; }
  }
}
`;
  const configPath = join(dir, "nginx.conf");
  writeFileSync(configPath, config);
  const peer = await startPeer(
    nginx,
    ["-p", dir, "-c", configPath, "-e", join(dir, "error.log")],
    port,
    dir,
  );
  const pid = peer.process.pid!;
  let statusReads = 0;
  const ticks = 1_000_000 / 100; // USER_HZ is 100 on Linux
  return {
    origin: `http://127.0.0.1:${port}`,
    async accepted() {
      const text = await new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port, path: "/nginx_status", agent: false }, (response) => {
          let body = "";
          response.on("data", (chunk) => body += chunk);
          response.on("end", () => resolve(body));
        }).on("error", reject).end();
      });
      statusReads++;
      // "Active connections: N\nserver accepts handled requests\n A H R\n..."
      const accepts = Number(/\n\s*(\d+)\s+\d+\s+\d+/.exec(text)?.[1] ?? NaN);
      return accepts - statusReads;
    },
    cpuMicros() {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * ticks; // utime + stime
    },
    stop: () => peer.stop(),
  };
}
