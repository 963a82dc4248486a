/**
 * Ferry's response parser side by side with Node's llhttp (`HTTPParser` of
 * `node:_http_common`) on the same bytes, in the same process. The two run in alternating
 * slices, so that a noisy machine slows both alike; the table shows medians over the
 * slices and the median of the per-slice ratios.
 *
 * Run: `deno run -A bench/parser_side_by_side.ts [--rounds=N] [--slice-ms=N]`
 * (also runs under Node 24 with `--experimental-strip-types`).
 */

import { parserCases, parseWithFerry, parseWithLlhttp } from "./_parser_cases.ts";

// deno-lint-ignore no-explicit-any
const args: string[] = (globalThis as any).Deno?.args ?? (globalThis as any).process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split("=")[1]) : fallback;
};
const rounds = option("rounds", 7);
const sliceMs = option("slice-ms", 250);

function runFor(fn: () => number, ms: number): number {
  let runs = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    runs++;
    now = performance.now();
  }
  return runs / ((now - start) / 1000); // runs per second
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const format = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);

// deno-lint-ignore no-explicit-any
const runtime = (globalThis as any).Deno
  // deno-lint-ignore no-explicit-any
  ? `Deno ${(globalThis as any).Deno.version.deno}`
  // deno-lint-ignore no-explicit-any
  : `Node ${(globalThis as any).process.version}`;
console.log(`# Response parsing: Ferry vs llhttp (node:_http_common), ${runtime}`);
console.log(`# ${rounds} alternating slices of ${sliceMs} ms each; medians\n`);
console.log(
  "| case | Ferry msg/s | llhttp msg/s | Ferry MB/s | llhttp MB/s | Ferry / llhttp |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const input of parserCases()) {
  const ferryBody = parseWithFerry(input);
  const llhttpBody = parseWithLlhttp(input);
  if (ferryBody !== input.bodyBytes || llhttpBody !== input.bodyBytes) {
    throw new Error(`Body bytes differ in ${input.name}: ${ferryBody} vs ${llhttpBody}`);
  }
  runFor(() => parseWithFerry(input), 200); // warm up both
  runFor(() => parseWithLlhttp(input), 200);
  const ferry: number[] = [];
  const llhttp: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const first = round % 2 === 0;
    const a = first ? runFor(() => parseWithFerry(input), sliceMs) : 0;
    const b = runFor(() => parseWithLlhttp(input), sliceMs);
    const c = first ? a : runFor(() => parseWithFerry(input), sliceMs);
    ferry.push(c);
    llhttp.push(b);
    ratios.push(c / b);
  }
  const mb = (runs: number): number => (runs * input.bytes) / 1e6;
  console.log(
    `| ${input.name} | ${format(median(ferry) * input.messages)} | ${
      format(median(llhttp) * input.messages)
    } | ${format(mb(median(ferry)))} | ${format(mb(median(llhttp)))} | ${
      median(ratios).toFixed(2)
    }× |`,
  );
}
