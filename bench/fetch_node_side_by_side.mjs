// `client.fetch` beside the runtime's fetch under Node (and Bun), in one run: small
// keep-alive GETs at 1, 10 and 100 concurrent against nginx (`return 200`).
//
//   Ferry client.fetch       the npm build (build/npm), client.fetch(url) + arrayBuffer()
//   Ferry client.fetch k100  the same, keeping 100 idle connections (the default keeps 20)
//   Ferry Client.get         the same client without the adapter
//   Node fetch               the runtime's global fetch (undici inside Node)
//   undici fetch             undici from npm, its default Agent
//
// Prints req/s with the ratio to Node fetch, CPU per request (this process, user + system),
// the connections each case opened and nginx's CPU use. Never asserts a time. Run through
// `deno task bench:fetch:node`, which builds the package, starts nginx and passes
// FERRY_MODULE, FETCH_PEER_ORIGIN and FETCH_PEER_PID.
//
//   [--seconds=2] [--rounds=3] [--concurrency=1,10,100] [--only=Ferry]

import { readFileSync } from "node:fs";
import { request } from "node:http";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadUndici, median, parseArgs, timedLoops } from "./_node_bench.mjs";

const args = parseArgs();
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const CONCURRENCY = (args.concurrency ?? "1,10,100").split(",").map(Number);
const ONLY = args.only ? args.only.split(",") : null;
const runtime = globalThis.Bun ? `Bun ${globalThis.Bun.version}` : `Node ${process.version}`;

const { Client } = await import(pathToFileURL(resolve(process.env.FERRY_MODULE)).href);
const origin = process.env.FETCH_PEER_ORIGIN;
const pid = Number(process.env.FETCH_PEER_PID);
const undici = await loadUndici("fetch");

let statusReads = 0;
function accepted() {
  return new Promise((resolvePromise, reject) => {
    request(`${origin}/nginx_status`, { agent: false }, (response) => {
      let body = "";
      response.on("data", (chunk) => body += chunk);
      response.on("end", () => {
        statusReads++;
        resolvePromise(Number(/\n\s*(\d+)\s+\d+\s+\d+/.exec(body)?.[1] ?? NaN) - statusReads);
      });
    }).on("error", reject).end();
  });
}

function nginxCpuMicros() {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function readWith(fetch, url) {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`Unexpected status ${response.status}`);
  await response.arrayBuffer();
}

function clientCase(name, options, once) {
  return {
    name,
    setup() {
      const client = new Client(options);
      return { once: (url) => once(client, url), close: () => client.close() };
    },
  };
}

const CASES = [
  clientCase("Ferry client.fetch", {}, (client, url) => readWith(client.fetch, url)),
  clientCase(
    "Ferry client.fetch k100",
    { limits: { maxKeepaliveConnections: 100 } },
    (client, url) => readWith(client.fetch, url),
  ),
  clientCase("Ferry Client.get", {}, async (client, url) => {
    const response = await client.get(url);
    if (response.status !== 200) throw new Error(`Unexpected status ${response.status}`);
  }),
  {
    name: globalThis.Bun ? "Bun fetch" : "Node fetch",
    setup: () => ({ once: (url) => readWith(globalThis.fetch, url), close: async () => {} }),
  },
  ...(undici === null ? [] : [{
    name: "undici fetch",
    setup() {
      const agent = new undici.Agent();
      return {
        once: (url) => readWith((u) => undici.fetch(u, { dispatcher: agent }), url),
        close: () => agent.close(),
      };
    },
  }]),
].filter((c) => ONLY === null || ONLY.some((o) => c.name.includes(o)));

async function measure(item, concurrency) {
  const before = await accepted();
  const runner = item.setup();
  const url = `${origin}/`;
  try {
    let serverStart = 0;
    const { count, elapsedMs: elapsed, cpuMicros } = await timedLoops(
      concurrency,
      () => runner.once(url),
      { seconds: SECONDS, onStart: () => serverStart = nginxCpuMicros() },
    );
    return {
      rate: count / (elapsed / 1000),
      cpu: cpuMicros / count,
      serverCpu: (nginxCpuMicros() - serverStart) / (elapsed * 1000),
      connections: await accepted() - before,
    };
  } finally {
    await runner.close();
  }
}

const pad = (text, width, right = false) => right ? text.padStart(width) : text.padEnd(width);

console.log(`fetch side by side under ${runtime}: small keep-alive GETs`);
console.log(`server: nginx (return 200, 1 worker) at ${origin}`);
console.log(`${ROUNDS} interleaved rounds of ${SECONDS} s per case, medians`);
const samples = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const concurrency of CONCURRENCY) {
    for (const item of CASES) {
      const key = `${item.name}@${concurrency}`;
      samples.set(key, [...(samples.get(key) ?? []), await measure(item, concurrency)]);
    }
  }
  console.log(`  round ${round + 1}/${ROUNDS} done`);
}
const pick = (name, c, field) => median((samples.get(`${name}@${c}`) ?? []).map((s) => s[field]));
const base = CASES.find((c) => /^(Node|Bun) fetch$/.test(c.name))?.name ?? CASES[0].name;
const table = (title, cell) => {
  console.log();
  let header = pad(title, 24);
  for (const c of CONCURRENCY) header += pad(`c=${c}`, 10, true) + pad("", 12, true);
  console.log(header);
  console.log("-".repeat(header.length));
  for (const item of CASES) {
    let line = pad(item.name, 24);
    for (const c of CONCURRENCY) {
      const [value, note] = cell(item.name, c);
      line += pad(value, 10, true) + pad(note, 12, true);
    }
    console.log(line);
  }
};
table(`req/s (x ${base})`, (name, c) => {
  const rate = pick(name, c, "rate");
  return [
    Math.round(rate).toLocaleString("en-US"),
    `${(rate / pick(base, c, "rate")).toFixed(2)}x`,
  ];
});
table(`CPU us/request (x ${base})`, (name, c) => {
  const cpu = pick(name, c, "cpu");
  return [cpu.toFixed(1), `${(cpu / pick(base, c, "cpu")).toFixed(2)}x`];
});
table("connections, nginx CPU", (name, c) => [
  String(Math.round(pick(name, c, "connections"))),
  `${Math.round(pick(name, c, "serverCpu") * 100)}%`,
]);
