// What the Node/Bun side-by-side benchmarks share (they run from build/, next to the npm
// tools, and cannot import TypeScript): arguments, undici by path, the timed loops, medians.
// The launchers (scripts/bench_*node.ts) copy this file beside the benchmark they run.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/** `--name=value` and `--flag` arguments as a record. */
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
  );
}

/**
 * undici from where the benchmark runs, by path (Bun answers a bare "undici" with a built-in
 * stand-in), or `null` with a line saying its rows are skipped. `has` is an export it needs.
 */
export async function loadUndici(has) {
  try {
    const manifest = createRequire(import.meta.url).resolve("undici/package.json");
    const module = await import(pathToFileURL(join(dirname(manifest), "index.js")).href);
    return module[has] ? module : module.default;
  } catch {
    console.log("(undici is not installed where this runs: its rows are skipped)");
    return null;
  }
}

/**
 * Runs `concurrency` loops of `once()` for `warmupMs`, then for `seconds`, and returns what
 * the timed part did: requests, milliseconds and this process's CPU microseconds (user +
 * system, all threads). `onStart()` runs as the timed part starts.
 */
export async function timedLoops(concurrency, once, { seconds, warmupMs = 300, onStart }) {
  let count = 0;
  let counting = false;
  let stopAt = performance.now() + warmupMs;
  const loop = async () => {
    while (performance.now() < stopAt) {
      await once();
      if (counting) count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  counting = true;
  onStart?.();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  stopAt = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, loop));
  const cpu = process.cpuUsage(cpuStart);
  return { count, elapsedMs: performance.now() - start, cpuMicros: cpu.user + cpu.system };
}

/** The median (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
