/**
 * Pool throughput side by side, in one run (`deno task bench`):
 *
 *   raw Deno.connect loop   a fixed request written, a fixed-size response read (the floor)
 *   Ferry ConnectionPool    pool.request("GET", url): head parsed, whole body read
 *   Deno fetch              fetch(url) + arrayBuffer()
 *   undici Pool.request     npm:undici in Deno, body.arrayBuffer()
 *
 * at 1 and 10 concurrent small GETs over keep-alive on loopback, then a 100 MB streamed
 * download (raw, Ferry, fetch). The server is nginx in another process when installed,
 * else a node:http server in a child process (printed). Cases run interleaved, round by
 * round (3 rounds, `--rounds=N`), each for a fixed time (2 s, `--seconds=S`) after a
 * short warm-up; the table shows medians and the ratio to the raw loop. Nothing is
 * asserted: the machine is shared and noisy, read the ratios.
 *
 * Adding a row: push a {@linkcode Case} onto `CASES` (see the marked spots for
 * `Client.get` and a proxied pool).
 *
 * @module
 */

import process from "node:process";
import { Pool as UndiciPool } from "undici";
import { ConnectionPool } from "../src/pool.ts";
import { Client } from "../src/client.ts";
import { NGINX, startNginx } from "../tests/_peers/nginx.ts";

const args = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.concurrency ?? "1,10").split(",").map(Number);
const DOWNLOAD_BYTES = Number(args.download ?? 100 * 1024 * 1024);
const ONLY = args.only ? String(args.only).split(",") : null;

/** One row of the small-GET table. */
interface Case {
  name: string;
  /** Prepares for `concurrency` parallel loops; returns one request and a cleanup. */
  setup(
    origin: string,
    concurrency: number,
  ): Promise<{ once: (worker: number) => Promise<void>; close(): Promise<void> }>;
}

/** One row of the download table. */
interface DownloadCase {
  name: string;
  /** Downloads `url` once, returns the bytes received. */
  run(url: string, origin: string): Promise<number>;
}

// ---------------------------------------------------------------------------------------
// The server.

interface Target {
  origin: string;
  note: string;
  stop(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  if (NGINX !== null) {
    const nginx = await startNginx({ largeBytes: DOWNLOAD_BYTES });
    return { origin: nginx.origin, note: "nginx (1 worker)", stop: () => nginx.stop() };
  }
  // Fallback: node:http in a child process, with the same two resources.
  const script = `
    import { createServer } from "node:http";
    const small = "Hello from Ferry's nginx peer\\n";
    const chunk = new Uint8Array(65536);
    const size = ${DOWNLOAD_BYTES};
    const server = createServer((req, res) => {
      if (req.url === "/large.bin") {
        res.writeHead(200, { "Content-Length": size });
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const n = Math.min(chunk.length, size - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once("drain", pump);
          }
          res.end();
        };
        return pump();
      }
      res.writeHead(200, { "Content-Length": small.length, "Content-Type": "text/html" });
      res.end(small);
    });
    server.keepAliveTimeout = 75000;
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const port = Number(new TextDecoder().decode(value).trim());
  return {
    origin: `http://127.0.0.1:${port}`,
    note: "node:http in a child process (nginx is not installed: apt-get install -y nginx-light)",
    async stop() {
      child.kill("SIGTERM");
      await child.stdout.cancel();
      await child.status;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Small GETs.

const encoder = new TextEncoder();

/** Reads one whole response from `conn` to learn its size (Content-Length framed). */
async function responseSize(conn: Deno.Conn, request: Uint8Array): Promise<number> {
  await conn.write(request);
  const buffer = new Uint8Array(65536);
  let text = "";
  let total = 0;
  for (;;) {
    const n = await conn.read(buffer.subarray(total));
    if (n === null) throw new Error("Server closed while measuring the response size");
    total += n;
    text = new TextDecoder("latin1").decode(buffer.subarray(0, total));
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
      if (total >= end + 4 + length) return end + 4 + length;
    }
  }
}

const rawCase: Case = {
  name: "raw Deno.connect loop",
  async setup(origin, concurrency) {
    const url = new URL(origin);
    const request = encoder.encode(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < concurrency; i++) {
      conns.push(await Deno.connect({ hostname: url.hostname, port: Number(url.port) }));
    }
    const size = await responseSize(conns[0], request);
    const buffers = conns.map(() => new Uint8Array(65536));
    return {
      async once(worker) {
        const conn = conns[worker];
        const buffer = buffers[worker];
        await conn.write(request);
        let got = 0;
        while (got < size) {
          const n = await conn.read(buffer);
          if (n === null) throw new Error("Server closed the raw connection");
          got += n;
        }
      },
      close() {
        for (const conn of conns) conn.close();
        return Promise.resolve();
      },
    };
  },
};

const ferryCase: Case = {
  name: "Ferry ConnectionPool",
  setup(origin) {
    const pool = new ConnectionPool();
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await pool.request("GET", url);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      close: () => pool.close(),
    });
  },
};

/** The user API over the same pool: what the client layer adds per request. */
const clientCase: Case = {
  name: "Ferry Client.get",
  setup(origin) {
    const client = new Client();
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await client.get(url);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      close: () => client.close(),
    });
  },
};

const fetchCase: Case = {
  name: "Deno fetch",
  setup(origin) {
    const url = `${origin}/`;
    const client = Deno.createHttpClient({ http2: false });
    return Promise.resolve({
      async once() {
        const response = await fetch(url, { client });
        await response.arrayBuffer();
      },
      close() {
        client.close();
        return Promise.resolve();
      },
    });
  },
};

const undiciCase: Case = {
  name: "undici Pool.request",
  setup(origin, concurrency) {
    const pool = new UndiciPool(origin, { connections: Math.max(concurrency, 1) });
    return Promise.resolve({
      async once() {
        const { body } = await pool.request({ path: "/", method: "GET" });
        await body.arrayBuffer();
      },
      close: () => pool.close(),
    });
  },
};

const CASES: Case[] = [
  rawCase,
  ferryCase,
  clientCase,
  // PROXY: add a proxied ConnectionPool row here (start the proxy in setup, stop in close).
  fetchCase,
  undiciCase,
];

/**
 * Runs `once` from `concurrency` loops for SECONDS after a warm-up; returns req/s and
 * this process's CPU time per request in microseconds (user + system, all threads: less
 * sensitive to other load on the machine than req/s).
 */
async function measure(
  concurrency: number,
  once: (worker: number) => Promise<void>,
): Promise<{ rate: number; cpu: number }> {
  let count = 0;
  let counting = false;
  let stopAt = performance.now() + WARMUP_MS;
  const loop = async (worker: number): Promise<void> => {
    while (performance.now() < stopAt) {
      await once(worker);
      if (counting) count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  counting = true;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  stopAt = start + SECONDS * 1000;
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const cpu = process.cpuUsage(cpuStart);
  return {
    rate: count / ((performance.now() - start) / 1000),
    cpu: (cpu.user + cpu.system) / count,
  };
}

// ---------------------------------------------------------------------------------------
// The download.

const rawDownload: DownloadCase = {
  name: "raw Deno.connect",
  async run(url) {
    const parsed = new URL(url);
    const conn = await Deno.connect({ hostname: parsed.hostname, port: Number(parsed.port) });
    try {
      await conn.write(
        encoder.encode(`GET ${parsed.pathname} HTTP/1.1\r\nHost: ${parsed.host}\r\n\r\n`),
      );
      const buffer = new Uint8Array(65536);
      let headEnd = -1;
      let total = 0;
      let head = "";
      let expected = Infinity;
      while (total < expected) {
        const n = await conn.read(buffer);
        if (n === null) break;
        total += n;
        if (headEnd === -1) {
          head += new TextDecoder("latin1").decode(buffer.subarray(0, n));
          headEnd = head.indexOf("\r\n\r\n");
          if (headEnd !== -1) {
            expected = headEnd + 4 + Number(/content-length:\s*(\d+)/i.exec(head)![1]);
          }
        }
      }
      return total - headEnd - 4;
    } finally {
      conn.close();
    }
  },
};

const ferryDownload: DownloadCase = {
  name: "Ferry pool.stream",
  async run(url) {
    await using pool = new ConnectionPool();
    await using response = await pool.stream("GET", url);
    let total = 0;
    for await (const chunk of response.iterRaw?.() ?? response.iterBytes()) total += chunk.length;
    return total;
  },
};

const ferryBorrowedDownload: DownloadCase = {
  name: "Ferry pool.stream (borrowed)",
  async run(url) {
    await using pool = new ConnectionPool();
    await using response = await pool.stream("GET", url, {
      extensions: { borrowBodyChunks: true },
    });
    let total = 0;
    for await (const chunk of response.iterRaw()) total += chunk.length;
    return total;
  },
};

const fetchDownload: DownloadCase = {
  name: "Deno fetch",
  async run(url) {
    const response = await fetch(url);
    const reader = response.body!.getReader();
    let total = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      total += next.value.length;
    }
    return total;
  },
};

const DOWNLOADS: DownloadCase[] = [
  rawDownload,
  ferryDownload,
  ferryBorrowedDownload,
  fetchDownload,
];

// ---------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

const target = await startTarget();
console.log(`Ferry pool benchmark: small GETs and a ${DOWNLOAD_BYTES / 2 ** 20} MiB download`);
console.log(`server: ${target.note} at ${target.origin}`);
console.log(
  `runtime: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores; ` +
    `${ROUNDS} interleaved rounds of ${SECONDS} s per case, medians`,
);
try {
  const cases = CASES.filter((c) => ONLY === null || ONLY.some((o) => c.name.includes(o)));
  const results = new Map<string, number[]>();
  const cpus = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const item of cases) {
        const runner = await item.setup(target.origin, concurrency);
        try {
          const { rate, cpu } = await measure(concurrency, runner.once);
          const key = `${item.name}@${concurrency}`;
          results.set(key, [...(results.get(key) ?? []), rate]);
          cpus.set(key, [...(cpus.get(key) ?? []), cpu]);
        } finally {
          await runner.close();
        }
      }
    }
    console.log(`  round ${round + 1}/${ROUNDS} done`);
  }
  console.log();
  let header = pad("small GET, req/s", 26);
  for (const concurrency of CONCURRENCY) {
    header += pad(`c=${concurrency}`, 10, true) + pad("vs raw", 8, true);
  }
  console.log(header);
  console.log("-".repeat(header.length));
  for (const item of cases) {
    let line = pad(item.name, 26);
    for (const concurrency of CONCURRENCY) {
      const rate = median(results.get(`${item.name}@${concurrency}`)!);
      const raw = median(results.get(`${rawCase.name}@${concurrency}`) ?? [rate]);
      line += pad(Math.round(rate).toLocaleString("en-US"), 10, true) +
        pad(`${Math.round((rate / raw) * 100)}%`, 8, true);
    }
    console.log(line);
  }
  console.log();
  let cpuHeader = pad("CPU per request, us", 26);
  for (const concurrency of CONCURRENCY) {
    cpuHeader += pad(`c=${concurrency}`, 10, true) + pad("raw/x", 8, true);
  }
  console.log(cpuHeader);
  console.log("-".repeat(cpuHeader.length));
  for (const item of cases) {
    let line = pad(item.name, 26);
    for (const concurrency of CONCURRENCY) {
      const cpu = median(cpus.get(`${item.name}@${concurrency}`)!);
      const raw = median(cpus.get(`${rawCase.name}@${concurrency}`) ?? [cpu]);
      line += pad(cpu.toFixed(1), 10, true) + pad(`${Math.round((raw / cpu) * 100)}%`, 8, true);
    }
    console.log(line);
  }

  if (DOWNLOAD_BYTES > 0 && !args["no-download"]) {
    const url = `${target.origin}/large.bin`;
    const speeds = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const item of DOWNLOADS) {
        const start = performance.now();
        const bytes = await item.run(url, target.origin);
        const seconds = (performance.now() - start) / 1000;
        if (bytes !== DOWNLOAD_BYTES) {
          throw new Error(`${item.name} received ${bytes} bytes, expected ${DOWNLOAD_BYTES}`);
        }
        speeds.set(item.name, [...(speeds.get(item.name) ?? []), bytes / seconds]);
      }
    }
    console.log();
    const title = `download ${DOWNLOAD_BYTES / 2 ** 20} MiB`;
    console.log(pad(title, 30) + pad("MB/s", 10, true) + pad("vs raw", 8, true));
    console.log("-".repeat(48));
    const raw = median(speeds.get(rawDownload.name)!);
    for (const item of DOWNLOADS) {
      const speed = median(speeds.get(item.name)!);
      console.log(
        pad(item.name, 30) + pad(Math.round(speed / 1e6).toLocaleString("en-US"), 10, true) +
          pad(`${Math.round((speed / raw) * 100)}%`, 8, true),
      );
    }
  }
} finally {
  await target.stop();
}
