/**
 * What the client layer costs per request, with no network in the way
 * (`deno task bench:client`; also runs under Node 24 as `node bench/client_bench.ts`).
 *
 * A transport answers every request at once from memory, so the differences between the
 * rows are the client's own work: building the request (URL, merged headers and params,
 * cookies, body encoding), the redirect/auth/hook machinery, and reading the body. The
 * floor is `transport.send()` plus `response.bytes()`. Cases run interleaved, round by
 * round; the table shows medians. Nothing is asserted.
 *
 * @module
 */

import { Client, Request, Response, type Transport } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const args: string[] = (globalThis as any).Deno?.args ?? (globalThis as any).process.argv.slice(2);
const option = (name: string, fallback: number) =>
  Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const ROUNDS = option("rounds", 5);
const N = option("requests", 30_000);

const body = new TextEncoder().encode("Hello from Ferry's nginx peer\n");
const transport: Transport = {
  send: (request) =>
    Promise.resolve(
      new Response(200, {
        content: body,
        request,
        headers: [["Content-Type", "text/plain"], ["Content-Length", String(body.length)]],
      }),
    ),
  close: () => Promise.resolve(),
};

const url = "http://127.0.0.1:8080/";
const plain = new Client({ transport });
const configured = new Client({
  transport,
  baseUrl: "http://127.0.0.1:8080/api",
  headers: { "X-App": "bench" },
  params: { key: "k" },
  auth: ["user", "pass"],
  followRedirects: true,
});
configured.cookies.set("session", "abc", { domain: "127.0.0.1" });

const cases: [string, () => Promise<unknown>][] = [
  ["transport.send + bytes() (floor)", async () => {
    const response = await transport.send(new Request("GET", url));
    await response.bytes();
  }],
  ["client.get(url)", () => plain.get(url)],
  ["client.get(url, { params })", () => plain.get(url, { params: { q: "ferry", page: 2 } })],
  ["client.post(url, { json })", () => plain.post(url, { json: { name: "ferry", n: 1 } })],
  ["configured client.get(path)", () => configured.get("/items", { params: { page: 1 } })],
];

const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of cases) {
    for (let i = 0; i < N / 10; i++) await run();
    const start = performance.now();
    for (let i = 0; i < N; i++) await run();
    const ns = (performance.now() - start) * 1e6 / N;
    results.set(name, [...(results.get(name) ?? []), ns]);
  }
}
await plain.close();
await configured.close();

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[values.length >> 1];
const floor = median(results.get(cases[0][0])!);
// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;
console.log(
  `Client layer cost, in memory (${
    deno ? `Deno ${deno.version.deno}` : `Node ${
      // deno-lint-ignore no-explicit-any
      (globalThis as any).process.version}`
  }; ${ROUNDS} rounds of ${N} requests, medians)\n`,
);
console.log(`${"case".padEnd(34)} ${"ns/req".padStart(8)} ${"over floor".padStart(11)}`);
console.log("-".repeat(55));
for (const [name] of cases) {
  const value = median(results.get(name)!);
  const over = name === cases[0][0] ? "" : `+${Math.round(value - floor)}`;
  console.log(
    `${name.padEnd(34)} ${Math.round(value).toString().padStart(8)} ${over.padStart(11)}`,
  );
}
