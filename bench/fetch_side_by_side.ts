/**
 * `client.fetch` beside the runtime's fetch, in one run (`deno task bench:fetch`):
 *
 *   Ferry client.fetch      client.fetch(url) + arrayBuffer(): the fetch adapter
 *   Ferry client.fetch k100 the same with 100 idle connections kept (the default keeps 20)
 *   Ferry Client.get        client.get(url): the same client without the adapter
 *   Deno fetch              the global fetch + arrayBuffer()
 *   undici fetch            npm:undici's fetch (its default Agent) + arrayBuffer()
 *
 * at 1, 10 and 100 concurrent small GETs over keep-alive on loopback, against nginx
 * (`return 200`, one worker) in its own process. Cases run interleaved, round by round
 * (3 rounds, `--rounds=N`), each for a fixed time (2 s, `--seconds=S`) after a warm-up;
 * tables show medians: requests per second and the ratio to Deno fetch, this process's
 * CPU time per request (user + system), the connections each case opened, and nginx's
 * CPU use (near 100% of a core means the server, not the client, is the limit). Nothing
 * is asserted: the machine is shared and noisy, read the ratios.
 *
 * ```sh
 * deno task bench:fetch [--seconds=2] [--rounds=3] [--concurrency=1,10,100] [--only=Ferry]
 * ```
 *
 * @module
 */

import process from "node:process";
import { fetch as undiciFetch } from "undici";
import { Client } from "../src/client.ts";
import { type FetchPeer, startFetchPeer } from "./_fetch_peer.ts";
import { median, pad } from "./_table.ts";

const args = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const SECONDS = Number(args.seconds ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const WARMUP_MS = 300;
const CONCURRENCY = String(args.concurrency ?? "1,10,100").split(",").map(Number);
const ONLY = args.only ? String(args.only).split(",") : null;

/** One row: prepares a request function for `concurrency` loops, and its cleanup. */
interface Case {
  name: string;
  setup(url: string, concurrency: number): { once(): Promise<void>; close(): Promise<void> };
}

function check(status: number): void {
  if (status !== 200) throw new Error(`Unexpected status ${status}`);
}

/** A case over a `fetch` function that a client (closed afterwards) provides. */
function fetchCase(name: string, options: ConstructorParameters<typeof Client>[0]): Case {
  return {
    name,
    setup(url) {
      const client = new Client(options);
      const { fetch } = client;
      return {
        async once() {
          const response = await fetch(url);
          check(response.status);
          await response.arrayBuffer();
        },
        close: () => client.close(),
      };
    },
  };
}

const CASES: Case[] = [
  fetchCase("Ferry client.fetch", {}),
  // Deno fetch and undici keep every connection: with the default limits (20 idle kept),
  // c=100 opens and closes connections all the time. This row keeps 100, as the root
  // fetch's default client does.
  fetchCase("Ferry client.fetch k100", { limits: { maxKeepaliveConnections: 100 } }),
  {
    name: "Ferry Client.get",
    setup(url) {
      const client = new Client();
      return {
        async once() {
          check((await client.get(url)).status);
        },
        close: () => client.close(),
      };
    },
  },
  {
    name: "Deno fetch",
    setup(url) {
      // A client of its own per case, so that each case opens (and counts) its connections.
      const httpClient = Deno.createHttpClient({});
      return {
        async once() {
          const response = await fetch(url, { client: httpClient });
          check(response.status);
          await response.arrayBuffer();
        },
        close() {
          httpClient.close();
          return Promise.resolve();
        },
      };
    },
  },
  {
    name: "undici fetch",
    setup(url) {
      return {
        async once() {
          const response = await undiciFetch(url);
          check(response.status);
          await response.arrayBuffer();
        },
        close: () => Promise.resolve(),
      };
    },
  },
];

interface Sample {
  rate: number;
  cpu: number;
  serverCpu: number;
  connections: number;
}

async function measure(peer: FetchPeer, item: Case, concurrency: number): Promise<Sample> {
  const acceptedBefore = await peer.accepted();
  const runner = item.setup(`${peer.origin}/`, concurrency);
  let count = 0;
  let counting = false;
  let stopAt = performance.now() + WARMUP_MS;
  const loop = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      await runner.once();
      if (counting) count++;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, loop));
    counting = true;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const serverStart = peer.cpuMicros();
    stopAt = start + SECONDS * 1000;
    await Promise.all(Array.from({ length: concurrency }, loop));
    const elapsed = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    return {
      rate: count / (elapsed / 1000),
      cpu: (cpu.user + cpu.system) / count,
      serverCpu: (peer.cpuMicros() - serverStart) / (elapsed * 1000),
      connections: await peer.accepted() - acceptedBefore,
    };
  } finally {
    await runner.close();
  }
}

const peer = await startFetchPeer();
const cases = CASES.filter((c) => ONLY === null || ONLY.some((o) => c.name.includes(o)));
console.log("fetch side by side: small keep-alive GETs");
console.log(`server: nginx (return 200, 1 worker) at ${peer.origin}`);
console.log(
  `runtime: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores; ` +
    `${ROUNDS} interleaved rounds of ${SECONDS} s per case, medians`,
);
try {
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const item of cases) {
        const key = `${item.name}@${concurrency}`;
        samples.set(key, [...(samples.get(key) ?? []), await measure(peer, item, concurrency)]);
      }
    }
    console.log(`  round ${round + 1}/${ROUNDS} done`);
  }
  const pick = (name: string, concurrency: number, field: keyof Sample): number =>
    median((samples.get(`${name}@${concurrency}`) ?? []).map((s) => s[field]));
  const table = (
    title: string,
    cell: (name: string, concurrency: number) => [string, string],
  ): void => {
    console.log();
    let header = pad(title, 24);
    for (const concurrency of CONCURRENCY) {
      header += pad(`c=${concurrency}`, 10, true) + pad("", 12, true);
    }
    console.log(header);
    console.log("-".repeat(header.length));
    for (const item of cases) {
      let line = pad(item.name, 24);
      for (const concurrency of CONCURRENCY) {
        const [value, note] = cell(item.name, concurrency);
        line += pad(value, 10, true) + pad(note, 12, true);
      }
      console.log(line);
    }
  };
  const base = cases.some((c) => c.name === "Deno fetch") ? "Deno fetch" : cases[0].name;
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
  console.log(
    "\nnginx CPU: the share of one core nginx used while the case ran (near 100%: the " +
      "server is the limit, not the client).",
  );
} finally {
  await peer.stop();
}
