/**
 * HTTP/2 throughput side by side, in one run (`deno task bench:h2`), against nginx's http2
 * module over TLS (ALPN) on loopback:
 *
 *   Ferry pool, HTTP/2        new ConnectionPool({ http2: true }): one connection, streams,
 *                             Ferry's own engine (the default)
 *   Ferry pool, node:http2    the same pool with the node:http2 engine (the one before)
 *   Deno fetch (h2)           fetch(url, { client }) with an HTTP/2 client
 *   undici (allowH2)          npm:undici Agent({ allowH2: true }) in Deno
 *   Ferry pool, HTTP/1.1      the default pool over TLS (connections up to the concurrency)
 *
 * at 1, 10 and 100 concurrent small GETs (`--concurrency=1,10,100`). Cases run interleaved,
 * round by round (3 rounds, `--rounds=N`), each for a fixed time (2 s, `--seconds=S`) after a
 * short warm-up; the table shows medians of req/s, the ratio to Ferry's HTTP/2 row, and the
 * process's CPU time per request (user + system, all threads). Then a 100 MB download over
 * one HTTP/2 stream (`--download=BYTES`, `0` skips it). Nothing is asserted: the machine is shared and
 * noisy, read the ratios.
 *
 * @module
 */

import process from "node:process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Agent, request as undiciRequest } from "undici";
import { ConnectionPool } from "../src/pool.ts";
import { setDefaultHttp2Engine } from "../src/http2/connection.ts";
import { ferryHttp2Engine } from "../src/http2/ferry_engine.ts";
import { nodeHttp2Engine } from "../src/http2/node_engine.ts";
import { NGINX, startNginx } from "../tests/_peers/nginx.ts";
import { CA_CERT, SERVER_CERT, SERVER_KEY } from "../tests/_tls_fixtures.ts";

const args = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.concurrency ?? "1,10,100").split(",").map(Number);
const DOWNLOAD_BYTES = Number(args.download ?? 100 * 1024 * 1024);

interface Case {
  name: string;
  setup(origin: string, concurrency: number): Promise<{
    once: () => Promise<void>;
    close(): Promise<void>;
    note?: () => string;
  }>;
}

const ferryH2: Case = {
  name: "Ferry pool, HTTP/2",
  setup(origin) {
    const pool = new ConnectionPool({ http2: true, tls: { caCerts: [CA_CERT] } });
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await pool.request("GET", url);
        if (response.status !== 200 || response.httpVersion !== "HTTP/2") {
          throw new Error(`Unexpected ${response.status} ${response.httpVersion}`);
        }
      },
      close: () => pool.close(),
      note: () => `${pool.connections.length} connection(s)`,
    });
  },
};

/** The pool with node:http2 as its engine (pools take the default engine: set while in use). */
const ferryNodeH2: Case = {
  name: "Ferry pool, node:http2",
  async setup(origin, concurrency) {
    setDefaultHttp2Engine(nodeHttp2Engine);
    const run = await ferryH2.setup(origin, concurrency);
    return {
      ...run,
      async close() {
        await run.close();
        setDefaultHttp2Engine(ferryHttp2Engine);
      },
    };
  },
};

const denoFetch: Case = {
  name: "Deno fetch (h2)",
  setup(origin) {
    const client = Deno.createHttpClient({ caCerts: [CA_CERT], http2: true, http1: false });
    const url = `${origin}/`;
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

const undiciH2: Case = {
  name: "undici (allowH2)",
  setup(origin) {
    const agent = new Agent({ allowH2: true, connect: { ca: CA_CERT } });
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const { body } = await undiciRequest(url, { dispatcher: agent });
        await body.arrayBuffer();
      },
      close: () => agent.close(),
    });
  },
};

const ferryH1: Case = {
  name: "Ferry pool, HTTP/1.1",
  setup(origin) {
    const pool = new ConnectionPool({ tls: { caCerts: [CA_CERT] } });
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await pool.request("GET", url);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      close: () => pool.close(),
      note: () => `${pool.connections.length} connection(s)`,
    });
  },
};

const CASES: Case[] = [ferryH2, ferryNodeH2, denoFetch, undiciH2, ferryH1];

async function measure(
  concurrency: number,
  once: () => Promise<void>,
): Promise<{ rate: number; cpu: number }> {
  let count = 0;
  let counting = false;
  let stopAt = performance.now() + WARMUP_MS;
  const loop = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      await once();
      if (counting) count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  counting = true;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  stopAt = start + SECONDS * 1000;
  await Promise.all(Array.from({ length: concurrency }, loop));
  const cpu = process.cpuUsage(cpuStart);
  return {
    rate: count / ((performance.now() - start) / 1000),
    cpu: (cpu.user + cpu.system) / count,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function download(origin: string): Promise<void> {
  const url = `${origin}/large.bin`;
  const rows: [string, () => Promise<number>][] = [
    ["Ferry pool, HTTP/2", async () => {
      await using pool = new ConnectionPool({ http2: true, tls: { caCerts: [CA_CERT] } });
      await using response = await pool.stream("GET", url);
      let total = 0;
      for await (const chunk of response.iterRaw()) total += chunk.length;
      return total;
    }],
    ["Ferry pool, node:http2", async () => {
      setDefaultHttp2Engine(nodeHttp2Engine);
      try {
        await using pool = new ConnectionPool({ http2: true, tls: { caCerts: [CA_CERT] } });
        await using response = await pool.stream("GET", url);
        let total = 0;
        for await (const chunk of response.iterRaw()) total += chunk.length;
        return total;
      } finally {
        setDefaultHttp2Engine(ferryHttp2Engine);
      }
    }],
    ["Deno fetch (h2)", async () => {
      const client = Deno.createHttpClient({ caCerts: [CA_CERT], http2: true, http1: false });
      try {
        const response = await fetch(url, { client });
        let total = 0;
        for await (const chunk of response.body!) total += chunk.length;
        return total;
      } finally {
        client.close();
      }
    }],
    ["undici (allowH2)", async () => {
      const agent = new Agent({ allowH2: true, connect: { ca: CA_CERT } });
      try {
        const { body } = await undiciRequest(url, { dispatcher: agent });
        let total = 0;
        for await (const chunk of body) total += (chunk as Uint8Array).length;
        return total;
      } finally {
        await agent.close();
      }
    }],
    ["Ferry pool, HTTP/1.1", async () => {
      await using pool = new ConnectionPool({ tls: { caCerts: [CA_CERT] } });
      await using response = await pool.stream("GET", url);
      let total = 0;
      for await (const chunk of response.iterRaw()) total += chunk.length;
      return total;
    }],
  ];
  console.log(`\n${DOWNLOAD_BYTES / 1048576} MB download over TLS (median of ${ROUNDS}):`);
  const results = new Map<string, { mbps: number[]; cpu: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of rows) {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const bytes = await run();
      const cpu = process.cpuUsage(cpuStart);
      if (bytes !== DOWNLOAD_BYTES) throw new Error(`${name}: got ${bytes} bytes`);
      const entry = results.get(name) ?? { mbps: [], cpu: [] };
      entry.mbps.push(bytes / 1048576 / ((performance.now() - start) / 1000));
      entry.cpu.push((cpu.user + cpu.system) / 1000);
      results.set(name, entry);
    }
  }
  const base = median(results.get(rows[0][0])!.mbps);
  for (const [name, { mbps, cpu }] of results) {
    const rate = median(mbps);
    console.log(
      `  ${name.padEnd(24)} ${rate.toFixed(0).padStart(6)} MB/s  ${
        (rate / base).toFixed(2)
      }x  CPU ${median(cpu).toFixed(0)} ms`,
    );
  }
}

if (NGINX === null) {
  console.log("nginx is not installed (apt-get install -y nginx-light): nothing to measure");
  Deno.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "ferry-h2-bench-"));
writeFileSync(join(dir, "cert.pem"), SERVER_CERT);
writeFileSync(join(dir, "key.pem"), SERVER_KEY);
const nginx = await startNginx({
  http2: "tls",
  tls: { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
  largeBytes: DOWNLOAD_BYTES,
});
try {
  console.log(
    `HTTP/2 small GETs against nginx ${nginx.origin} (TLS, 1 worker), ${SECONDS} s x ${ROUNDS} rounds`,
  );
  for (const concurrency of CONCURRENCY) {
    const results = new Map<string, { rate: number[]; cpu: number[]; note: string }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const item of CASES) {
        const run = await item.setup(nginx.origin, concurrency);
        try {
          const { rate, cpu } = await measure(concurrency, run.once);
          const entry = results.get(item.name) ?? { rate: [], cpu: [], note: "" };
          entry.rate.push(rate);
          entry.cpu.push(cpu);
          entry.note = run.note?.() ?? "";
          results.set(item.name, entry);
        } finally {
          await run.close();
        }
      }
    }
    console.log(`\nc=${concurrency}`);
    const base = median(results.get(CASES[0].name)!.rate);
    for (const [name, { rate, cpu, note }] of results) {
      const r = median(rate);
      console.log(
        `  ${name.padEnd(24)} ${r.toFixed(0).padStart(7)} req/s  ${(r / base).toFixed(2)}x  ${
          median(cpu).toFixed(0).padStart(5)
        } µs CPU/req  ${note}`,
      );
    }
  }
  if (DOWNLOAD_BYTES > 0) await download(nginx.origin);
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}
