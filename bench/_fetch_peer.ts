/**
 * The server of the fetch benchmarks: nginx (one worker, no master) answering `/` with a
 * fixed `return 200`, plus what the benchmarks read about it: the connections it accepted
 * (`stub_status`) and the CPU time it used (`/proc/PID/stat`), to tell whether the server
 * is the bottleneck. Written on `node:*` so the Deno and Node benchmarks share it.
 */

import { readFileSync } from "node:fs";
import { request } from "node:http";
import { startNginx } from "../tests/_peers/nginx.ts";

/** The body of `/`. */
export const BODY = "Hello from Ferry's fetch benchmark\n";

/** A running nginx. */
export interface FetchPeer {
  origin: string;
  /** nginx's process id. */
  pid: number;
  /** Connections nginx accepted so far, the stub_status requests excluded (a counter). */
  accepted(): Promise<number>;
  /** CPU time nginx used so far, in microseconds. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

/** Starts nginx, or throws naming the Debian package when it is missing. */
export async function startFetchPeer(): Promise<FetchPeer> {
  const nginx = await startNginx({
    serverConfig: `
    location = / { default_type text/plain; return 200 ${JSON.stringify(BODY)}; }
    location = /nginx_status { stub_status; }`,
  });
  const pid = nginx.process.pid!;
  let statusReads = 0;
  const microsPerTick = 1_000_000 / 100; // USER_HZ is 100 on Linux
  return {
    origin: nginx.origin,
    pid,
    async accepted() {
      const text = await new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port: nginx.port, path: "/nginx_status", agent: false }, (
          response,
        ) => {
          let body = "";
          response.on("data", (chunk) => body += chunk);
          response.on("end", () => resolve(body));
        }).on("error", reject).end();
      });
      statusReads++;
      // "Active connections: N\nserver accepts handled requests\n A H R\n..."
      return Number(/\n\s*(\d+)\s+\d+\s+\d+/.exec(text)?.[1] ?? NaN) - statusReads;
    },
    cpuMicros() {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * microsPerTick; // utime + stime
    },
    stop: () => nginx.stop(),
  };
}
