/**
 * Small keep-alive GETs side by side in one run (`deno task bench`), at c=1, 10 and 100
 * concurrent (`--c=1,10,100,1000` for others):
 *
 *   raw Deno.connect loop   one socket per worker, a fixed request written, a fixed-size
 *                           response read (the floor every ratio is taken against)
 *   Ferry ConnectionPool    pool.request("GET", url): head parsed, whole body read
 *   Ferry Client.get        the user API over a pool
 *   Deno fetch              fetch(url) + arrayBuffer()
 *   undici Pool.request     npm:undici in Deno, body.arrayBuffer()
 *
 * then the goals' ratios again, each measured as a pair in one process (Ferry's pool and
 * Client over the raw loop, the pool over fetch and over undici, at every concurrency above
 * 1: the two rows alternate every 250 ms, and the median is taken of the ratios of adjacent
 * phases; also the raw loop over undici, the ceiling of the pool's ratio to undici; each
 * paired table ends with a server check of its own lines, as the interleaved tables do; 12 s
 * a line, `--paired-seconds=S`, 0 skips them; see `measurePaired` in `bench/_peer.ts`),
 * then a 100 MiB streamed download (raw, Ferry, fetch; `--download=0` skips it), then the
 * HTTP/2 tables of `bench/h2_side_by_side.ts` at the same concurrencies (`--no-h2` skips them).
 *
 * The server is nginx with `return 200` and a 12-byte body, one worker per core (see
 * `bench/_peer.ts`). Rounds are interleaved (3, `--rounds=N`), each cell runs 2 s
 * (`--seconds=S`) after a warm-up, or a fixed number of requests (`--requests=N`); tables
 * show medians, the ratio to the raw loop, the spread of the rounds, CPU microseconds per
 * request and connections opened. Ferry's pools default to 100 connections, so at c=1000
 * requests wait for one; undici gets the same budget (`connections: min(c, 100)`). Nothing
 * is asserted: the machine is shared and noisy, read the ratios. `--only=pool,fetch` runs
 * the rows whose names contain one of the words (the raw loop always runs).
 *
 * `--floor` adds a minimal client (see `floorRow`): the least a pool-shaped client returning
 * Ferry's `Response` does, paired with the raw loop, Ferry's pool and undici.
 *
 * `--baseline=DIR` adds the Ferry rows of another checkout of Ferry (its `src/` under
 * `DIR`, e.g. `git archive <commit> src | tar -x -C DIR`), marked "(baseline)": before and
 * after measured in the same run, on the same noise, and paired lines of each Ferry row over
 * its baseline.
 *
 * @module
 */

import { Pool as UndiciPool } from "undici";
import { ConnectionPool } from "../src/pool.ts";
import { Client } from "../src/client.ts";
import { Response } from "../src/models/response.ts";
import { Headers } from "../src/models/headers.ts";
import {
  countingBackend,
  measurePaired,
  median,
  pairedLine,
  pairedTables,
  pairedWidth,
  parseArgs,
  type Row,
  runSideBySide,
  startHttpPeer,
} from "./_peer.ts";

const args = parseArgs(Deno.args);
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const REQUESTS = args.requests === undefined ? undefined : Number(args.requests);
const CONCURRENCY = String(args.c ?? args.concurrency ?? "1,10,100").split(",").map(Number);
const DOWNLOAD_BYTES = Number(args.download ?? 100 * 1024 * 1024);
const ONLY = args.only ? String(args.only).split(",") : null;
const WORKERS = Number(args.workers ?? navigator.hardwareConcurrency ?? 2);
/** Seconds of paired phases per pair and concurrency (0: no paired table). */
const PAIRED_SECONDS = Number(args["paired-seconds"] ?? 12);
/** The connection budget of Ferry's default pool, given to undici too. */
const MAX_CONNECTIONS = 100;

const encoder = new TextEncoder();

/** Reads one whole response from `conn` to learn its size (Content-Length framed). */
async function responseSize(conn: Deno.Conn, request: Uint8Array): Promise<number> {
  await conn.write(request);
  const buffer = new Uint8Array(65536);
  let total = 0;
  for (;;) {
    const n = await conn.read(buffer.subarray(total));
    if (n === null) throw new Error("Server closed while measuring the response size");
    total += n;
    const text = new TextDecoder("latin1").decode(buffer.subarray(0, total));
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
      if (total >= end + 4 + length) return end + 4 + length;
    }
  }
}

const rawRow: Row = {
  name: "raw Deno.connect loop",
  async setup(origin, concurrency) {
    const url = new URL(origin);
    const request = encoder.encode(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < concurrency; i++) {
      const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
      conn.setNoDelay(true);
      conns.push(conn);
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
      connects: () => concurrency,
      close() {
        for (const conn of conns) conn.close();
        return Promise.resolve();
      },
    };
  },
};

const poolRow: Row = {
  name: "Ferry ConnectionPool",
  setup(origin) {
    const backend = countingBackend();
    const pool = new ConnectionPool({ backend });
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await pool.request("GET", url);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      connects: () => backend.connects,
      close: () => pool.close(),
    });
  },
};

/**
 * `--floor`: the least a pool-shaped client that returns Ferry's `Response` does per request,
 * to tell what any such client pays from what Ferry's layers add. It takes a connection
 * from an idle list, writes the fixed request, reads the response's known size into a 64
 * KiB slab (as Ferry's Deno stream does: the body handed out is a view of it), compares the
 * head with the connection's last one byte for byte and splits it into fields only when it
 * differs (nginx's `Date` changes each second), and builds the `Response` the pool returns.
 * No parser, timeouts, pool limits, keep-alive expiry, errors or retries: not a client, a
 * measuring rod.
 */
const floorRow: Row = {
  name: "minimal client (floor)",
  rod: true,
  async setup(origin, concurrency) {
    const url = new URL(origin);
    const request = encoder.encode(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    const idle: FloorConnection[] = [];
    for (let i = 0; i < concurrency; i++) {
      const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
      conn.setNoDelay(true);
      idle.push({
        conn,
        slab: new Uint8Array(65536),
        used: 0,
        head: new Uint8Array(0),
        status: 0,
        fields: [],
      });
    }
    const size = await responseSize(idle[0].conn, request);
    return {
      async once() {
        const response = await floorRequest(idle, request, size);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      connects: () => concurrency,
      close() {
        for (const { conn } of idle) conn.close();
        return Promise.resolve();
      },
    };
  },
};

interface FloorConnection {
  conn: Deno.Conn;
  slab: Uint8Array;
  used: number;
  /** The last head's bytes, its status and its fields. */
  head: Uint8Array;
  status: number;
  fields: [string, string][];
}

async function floorRequest(
  idle: FloorConnection[],
  request: Uint8Array,
  size: number,
): Promise<Response> {
  const c = idle.pop()!;
  await c.conn.write(request);
  if (c.slab.length - c.used < size) {
    c.slab = new Uint8Array(65536);
    c.used = 0;
  }
  const start = c.used;
  while (c.used - start < size) {
    const n = await c.conn.read(c.slab.subarray(c.used, start + size));
    if (n === null) throw new Error("Server closed the floor's connection");
    c.used += n;
  }
  const bytes = c.slab.subarray(start, start + size);
  const head = c.head;
  let same = head.length > 0;
  for (let i = 0; same && i < head.length; i++) same = head[i] === bytes[i];
  if (!same) {
    const text = new TextDecoder("latin1").decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    c.head = bytes.slice(0, end + 4);
    c.status = Number(text.slice(9, 12));
    c.fields = text.slice(0, end).split("\r\n").slice(1).map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
  }
  const response = new Response(c.status, {
    headers: Headers.fromPairs(c.fields.slice()),
    content: bytes.subarray(c.head.length),
    extensions: { httpVersion: "HTTP/1.1", reasonPhrase: "OK" },
  });
  idle.push(c);
  return response;
}

/** The user API over the same pool: what the client layer adds per request. */
const clientRow: Row = {
  name: "Ferry Client.get",
  setup(origin) {
    const backend = countingBackend();
    const client = new Client({ transport: new ConnectionPool({ backend }) });
    const url = `${origin}/`;
    return Promise.resolve({
      async once() {
        const response = await client.get(url);
        if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
      },
      connects: () => backend.connects,
      close: () => client.close(),
    });
  },
};

const fetchRow: Row = {
  name: "Deno fetch",
  setup(origin) {
    const url = `${origin}/`;
    const client = Deno.createHttpClient({ http2: false });
    return Promise.resolve({
      async once() {
        const response = await fetch(url, { client });
        await response.arrayBuffer();
      },
      connects: () => null,
      close() {
        client.close();
        return Promise.resolve();
      },
    });
  },
};

const undiciRow: Row = {
  name: "undici Pool.request",
  setup(origin, concurrency) {
    const pool = new UndiciPool(origin, { connections: Math.min(concurrency, MAX_CONNECTIONS) });
    let connects = 0;
    pool.on("connect", () => connects++);
    return Promise.resolve({
      async once() {
        const { body } = await pool.request({ path: "/", method: "GET" });
        await body.arrayBuffer();
      },
      connects: () => connects,
      close: () => pool.close(),
    });
  },
};

/** The Ferry rows again, from the checkout in `dir` (its own pool, client and backend). */
async function baselineRows(dir: string): Promise<Row[]> {
  const root = new URL(`file://${Deno.realPathSync(dir)}/`);
  const { ConnectionPool: Pool } = await import(new URL("src/pool.ts", root).href);
  const { Client: OldClient } = await import(new URL("src/client.ts", root).href);
  const { NetworkBackend: Backend } = await import(new URL("src/network/backend.ts", root).href);
  return [
    {
      name: "Ferry ConnectionPool (baseline)",
      setup(origin) {
        const backend = countingBackend(new Backend());
        const pool = new Pool({ backend });
        const url = `${origin}/`;
        return Promise.resolve({
          async once() {
            const response = await pool.request("GET", url);
            if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
          },
          connects: () => backend.connects,
          close: () => pool.close(),
        });
      },
    },
    {
      name: "Ferry Client.get (baseline)",
      setup(origin) {
        const backend = countingBackend(new Backend());
        const client = new OldClient({ transport: new Pool({ backend }) });
        const url = `${origin}/`;
        return Promise.resolve({
          async once() {
            const response = await client.get(url);
            if (response.status !== 200) throw new Error(`Unexpected ${response.status}`);
          },
          connects: () => backend.connects,
          close: () => client.close(),
        });
      },
    },
  ];
}

const BASELINE: Row[] = args.baseline ? await baselineRows(String(args.baseline)) : [];
const FLOOR: Row[] = args.floor ? [floorRow] : [];

const ROWS: Row[] = [
  rawRow,
  poolRow,
  clientRow,
  ...BASELINE,
  ...FLOOR,
  // PROXY: add a proxied ConnectionPool row here (start the proxy in setup, stop in close).
  fetchRow,
  undiciRow,
].filter((row, i) =>
  i === 0 || row === floorRow || ONLY === null || ONLY.some((o) => row.name.includes(o))
);

// ---------------------------------------------------------------------------------------
// The download.

interface DownloadRow {
  name: string;
  /** Downloads `url` once, returns the bytes received. */
  run(url: string): Promise<number>;
}

const DOWNLOADS: DownloadRow[] = [
  {
    name: "raw Deno.connect",
    async run(url) {
      const parsed = new URL(url);
      const conn = await Deno.connect({ hostname: parsed.hostname, port: Number(parsed.port) });
      try {
        await conn.write(
          encoder.encode(`GET ${parsed.pathname} HTTP/1.1\r\nHost: ${parsed.host}\r\n\r\n`),
        );
        const buffer = new Uint8Array(262144);
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
  },
  {
    name: "Ferry pool.stream",
    async run(url) {
      await using pool = new ConnectionPool();
      await using response = await pool.stream("GET", url);
      let total = 0;
      for await (const chunk of response.iterRaw()) total += chunk.length;
      return total;
    },
  },
  {
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
  },
  {
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
  },
];

// ---------------------------------------------------------------------------------------
// Paired phases: the goals' ratios measured with both rows in one process, alternating.

/** B ÷ A: the pairs measured at each concurrency above 1, when both rows run. */
const PAIRS: [Row, Row, string][] = [
  [rawRow, poolRow, "Ferry ConnectionPool / raw loop"],
  [rawRow, clientRow, "Ferry Client.get / raw loop"],
  // What the Client costs over the pool it sends through (its merge, cookies, hooks).
  [poolRow, clientRow, "Ferry Client.get / ConnectionPool"],
  [fetchRow, poolRow, "Ferry ConnectionPool / Deno fetch"],
  [undiciRow, poolRow, "Ferry ConnectionPool / undici"],
  // The ceiling of the line above: what a client as fast as the raw loop would make against
  // undici in the same run (the most "pool / undici" could be on this machine, this run).
  [undiciRow, rawRow, "raw loop / undici (the ceiling)"],
  // With --baseline: each Ferry row over the same row of the other checkout (before/after).
  ...(BASELINE.length === 2
    ? [
      [BASELINE[0], poolRow, "Ferry ConnectionPool / baseline"],
      [BASELINE[1], clientRow, "Ferry Client.get / baseline"],
    ] as [Row, Row, string][]
    : []),
  // With --floor: what any client returning a Response pays, and what Ferry's layers add.
  [rawRow, floorRow, "minimal client (floor) / raw loop"],
  [floorRow, poolRow, "Ferry ConnectionPool / floor"],
  [undiciRow, floorRow, "minimal client (floor) / undici"],
].filter(([a, b]) => ROWS.includes(a as Row) && ROWS.includes(b as Row)) as [Row, Row, string][];

/**
 * Ferry's rows each at two concurrencies, paired (`--c=10,100,1000`: c=100 ÷ c=10 and
 * c=1000 ÷ c=100): whether the rate holds as more requests come at once (the "no
 * cliff"). Single rounds cannot say it: each cell is measured at a different moment.
 */
const ACROSS_ROWS: Row[] = [poolRow, clientRow].filter((row) => ROWS.includes(row));

async function paired(origin: string): Promise<void> {
  const concurrencies = CONCURRENCY.filter((c) => c > 1);
  const width = pairedWidth(concurrencies, PAIRS, ACROSS_ROWS.map((row) => row.name));
  const line = async (label: string, a: Row, b: Row, ca: number, cb: number) => {
    const runnerA = await a.setup(origin, ca);
    const runnerB = await b.setup(origin, cb);
    try {
      const sample = await measurePaired(runnerA, runnerB, ca, {
        seconds: PAIRED_SECONDS,
        concurrencyB: cb,
      });
      console.log(pairedLine(label, width, sample));
      return median(sample.rateRatios);
    } catch (error) {
      console.log(`${label.padEnd(width)}failed: ${(error as Error).message}`);
      return undefined;
    } finally {
      await runnerA.close();
      await runnerB.close();
    }
  };
  const across = ACROSS_ROWS.map((row): [string, Row] => [row.name, row]);
  // The server check: the clients over the raw loop (the floor is a measuring rod, not one).
  const isOverRaw = (a: Row, b: Row) => a === rawRow && b !== floorRow;
  await pairedTables(concurrencies, PAIRS, across, width, line, isOverRaw);
  if (PAIRS.length > 0 || (concurrencies.length > 1 && ACROSS_ROWS.length > 0)) {
    console.log(
      "Paired: both rows set up at once and run from the same loops, switching every 250 ms " +
        "(A B B A, 30 ms before each phase uncounted);\nmedian and quartiles of B's req/s ÷ " +
        `A's over adjacent phases, ${PAIRED_SECONDS} s per line; CPU us/req: medians of A's ` +
        "and B's phases. Noise slower than a phase weighs on both sides of a pair alike.\n" +
        "Across concurrencies: the same row set up twice (its own pool each), at the lower " +
        "concurrency (A) and the higher (B).",
    );
  }
}

async function downloads(origin: string): Promise<void> {
  const url = `${origin}/large.bin`;
  const speeds = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of DOWNLOADS) {
      const start = performance.now();
      const bytes = await row.run(url);
      const seconds = (performance.now() - start) / 1000;
      if (bytes !== DOWNLOAD_BYTES) {
        throw new Error(`${row.name} received ${bytes} bytes, expected ${DOWNLOAD_BYTES}`);
      }
      speeds.set(row.name, [...(speeds.get(row.name) ?? []), bytes / seconds]);
    }
  }
  console.log();
  const title = `download ${DOWNLOAD_BYTES / 2 ** 20} MiB`;
  console.log(title.padEnd(30) + "MB/s".padStart(10) + "vs raw".padStart(8));
  console.log("-".repeat(48));
  const raw = median(speeds.get(DOWNLOADS[0].name)!);
  for (const row of DOWNLOADS) {
    const speed = median(speeds.get(row.name)!);
    console.log(
      row.name.padEnd(30) + Math.round(speed / 1e6).toLocaleString("en-US").padStart(10) +
        `${(speed / raw).toFixed(2)}x`.padStart(8),
    );
  }
}

// ---------------------------------------------------------------------------------------

const peer = await startHttpPeer({ workers: WORKERS, largeBytes: DOWNLOAD_BYTES });
try {
  console.log(`Ferry side by side: small keep-alive GETs, then a download`);
  console.log(`server: ${peer.note} at ${peer.origin}`);
  console.log(
    `runtime: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores; ` +
      `${ROUNDS} interleaved rounds of ` +
      (REQUESTS !== undefined ? `${REQUESTS} requests` : `${SECONDS} s`) +
      " per cell, medians",
  );
  await runSideBySide({
    rows: ROWS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    seconds: SECONDS,
    requests: REQUESTS,
    peer,
    serverWorkers: peer.note.startsWith("nginx") ? WORKERS : 1,
  });
  if (PAIRED_SECONDS > 0) await paired(peer.origin);
  if (DOWNLOAD_BYTES > 0) await downloads(peer.origin);
} finally {
  await peer.stop();
}

// HTTP/2: the same small GETs against nginx's http2 module over TLS, Ferry's HTTP/2 pool
// beside Deno fetch (h2), undici allowH2 and Ferry's HTTP/1.1 pool (bench/h2_side_by_side.ts,
// which starts its own server: nginx cannot serve h2c and HTTP/1.1 on one plain port).
if (!args["no-h2"]) {
  console.log();
  const h2 = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./h2_side_by_side.ts", import.meta.url).pathname,
      `--concurrency=${CONCURRENCY.join(",")}`,
      `--seconds=${SECONDS}`,
      `--rounds=${ROUNDS}`,
      "--download=0",
    ],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await h2.output();
  if (code !== 0) Deno.exit(code);
}
