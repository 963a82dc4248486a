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

// ---------------------------------------------------------------------------------------
// Paired phases: two rows alternating in one process (as `measurePaired` in bench/_peer.ts).

/**
 * Runs the rows `a` and `b` (one `() => Promise<void>` per worker each: `onesA[i]`,
 * `onesB[i]`) from the same `concurrency` loops, switching every `phaseMs` in the order A B B A,
 * and compares each B phase with the A phase next to it. Before each phase `settleMs` are not
 * counted, while the other row's requests in flight finish (a request counts for the row it
 * was started on, and only if that row is still the current one when it ends). Noise slower
 * than a phase (another program on the machine) weighs on both sides of a pair alike, which
 * it does not for cells measured seconds apart. The rows may have different numbers of
 * workers (one row at two concurrencies): there are as many loops as the larger, and those
 * a row has no worker for wait while it runs. Returns, per pair of phases, B's req/s ÷ A's
 * (`rateRatios`) and B's CPU per request ÷ A's (`cpuRatios`), and the CPU microseconds per
 * request of each phase (`cpuA`, `cpuB`; process.cpuUsage(): user + system, all threads).
 */
export async function measurePaired(onesA, onesB, concurrency, options) {
  const phaseMs = options.phaseMs ?? 250;
  const settleMs = options.settleMs ?? 30;
  const rows = [onesA, onesB];
  let current = 0;
  let stop = false;
  let count = 0;
  // A row with fewer workers than the loops (a row at a lower concurrency): the loops it
  // has no worker for wait for the next switch.
  let wake = () => {};
  let switched = new Promise((resolve) => wake = resolve);
  const switchTo = (which) => {
    current = which;
    const woken = wake;
    switched = new Promise((resolve) => wake = resolve);
    woken();
  };
  const loop = async (worker) => {
    while (!stop) {
      const which = current;
      const one = rows[which][worker];
      if (one === undefined) {
        await switched;
        continue;
      }
      await one();
      if (which === current) count++;
    }
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const workers = Math.max(concurrency, onesA.length, onesB.length);
  const loops = Array.from({ length: workers }, (_, i) => loop(i));
  const rates = [[], []];
  const cpus = [[], []];
  try {
    // Warm-up: each row alone for a while, twice.
    for (const which of [0, 1, 0, 1]) {
      switchTo(which);
      await sleep(phaseMs);
    }
    const end = performance.now() + options.seconds * 1000;
    for (let phase = 0; performance.now() < end || phase % 4 !== 0; phase++) {
      const which = phase % 4 === 0 || phase % 4 === 3 ? 0 : 1;
      switchTo(which);
      await sleep(settleMs);
      const before = count;
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await sleep(phaseMs);
      const done = count - before;
      const cpu = process.cpuUsage(cpuStart);
      rates[which].push(done / ((performance.now() - start) / 1000));
      cpus[which].push((cpu.user + cpu.system) / Math.max(done, 1));
    }
  } finally {
    stop = true;
    wake();
    await Promise.all(loops);
  }
  const pairs = Math.min(rates[0].length, rates[1].length);
  const rateRatios = [];
  const cpuRatios = [];
  for (let i = 0; i < pairs; i++) {
    rateRatios.push(rates[1][i] / rates[0][i]);
    cpuRatios.push(cpus[1][i] / cpus[0][i]);
  }
  return { rateRatios, cpuRatios, cpuA: cpus[0], cpuB: cpus[1] };
}

/** The value below which a `fraction` of `values` lie (nearest rank). */
export function quantile(values, fraction) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.round(fraction * (sorted.length - 1))))
  ];
}

/** One line of the paired table: `B / A  median  q25-q75  CPU A / B  pairs`. */
export function pairedLine(label, width, sample) {
  const r = sample.rateRatios;
  return label.padEnd(width) +
    `${median(r).toFixed(2)}x`.padStart(8) +
    `${quantile(r, 0.25).toFixed(2)}-${quantile(r, 0.75).toFixed(2)}`.padStart(13) +
    `${median(sample.cpuA).toFixed(1)} / ${median(sample.cpuB).toFixed(1)}`.padStart(16) +
    `${r.length}`.padStart(7);
}

/** The label of `name` at concurrency `high` over `low` (the across-concurrency lines). */
function acrossLabel(name, low, high) {
  return `${name} c=${high} / c=${low}`;
}

/**
 * The width of the label column for {@linkcode pairedTables} with the same `concurrencies`,
 * `pairs` (`[a, b, label]`) and `acrossNames`: the longest label it will print, plus two.
 */
export function pairedWidth(concurrencies, pairs, acrossNames) {
  const labels = pairs.map(([, , label]) => label);
  for (let i = 1; i < concurrencies.length; i++) {
    for (const name of acrossNames) {
      labels.push(acrossLabel(name, concurrencies[i - 1], concurrencies[i]));
    }
  }
  return Math.max(...labels.map((label) => label.length)) + 2;
}

/**
 * The server check's bound: a raw loop less than this many times the best client's rate says
 * the server or the machine may be the limit, and the ratios are compressed (both the
 * interleaved tables and the paired ones).
 */
export const HEADROOM = 1.25;

/**
 * The interleaved tables' server check at one concurrency: the warning when the raw loop
 * makes less than {@linkcode HEADROOM} times the best client's rate (`headroom`), else `null`.
 */
export function headroomWarning(concurrency, headroom) {
  return headroom < HEADROOM
    ? `c=${concurrency}: the raw loop is only ${headroom.toFixed(2)}x the best client: ` +
      "the server (or the machine) may be the limit, and the ratios are compressed"
    : null;
}

/**
 * The server check of one paired table: `overRaw` holds the medians of its clients' lines
 * over the raw loop (`[label, median]`). The best of them gives the raw loop's headroom.
 * Returns the line to print, or `null` when the table has no such line.
 */
export function pairedServerCheck(concurrency, overRaw) {
  if (overRaw.length === 0) return null;
  const [label, best] = overRaw.reduce((x, y) => (y[1] > x[1] ? y : x));
  const headroom = 1 / best;
  const figure = `the raw loop ${headroom.toFixed(2)}x the best client (${label}: ` +
    `${best.toFixed(2)}x)`;
  return headroom < HEADROOM
    ? `WARNING: paired server check, c=${concurrency}: ${figure}, under ${HEADROOM}x: the ` +
      "server (or the machine) may be the limit, so this table's ratios are compressed\n" +
      "(the clients' ratios to the raw loop may read high, their ratios to slower clients low)"
    : `paired server check, c=${concurrency}: ${figure}, well above the best client`;
}

/**
 * Prints the paired tables: at each of `concurrencies` the `pairs` (`[a, b, label]`), each
 * table followed by its server check ({@linkcode pairedServerCheck}) over the pairs for which
 * `isOverRaw(a, b)` says B is a client and A the raw loop, then, with two concurrencies or
 * more, each of `across` (`[name, row]`) at each concurrency over the one before it.
 * `line(label, a, b, concurrencyA, concurrencyB)` measures and prints a line, and returns
 * its median (`undefined` when it failed).
 */
export async function pairedTables(concurrencies, pairs, across, width, line, isOverRaw) {
  for (const concurrency of concurrencies) {
    if (pairs.length === 0) break;
    console.log();
    console.log(pairedHeader(`paired, c=${concurrency}`, width));
    const overRaw = [];
    for (const [a, b, label] of pairs) {
      const ratio = await line(label, a, b, concurrency, concurrency);
      if (ratio !== undefined && isOverRaw(a, b)) overRaw.push([label, ratio]);
    }
    const check = pairedServerCheck(concurrency, overRaw);
    if (check !== null) console.log(check);
  }
  if (concurrencies.length < 2 || across.length === 0) return;
  console.log();
  console.log(pairedHeader("paired across concurrencies", width));
  for (let i = 1; i < concurrencies.length; i++) {
    const [low, high] = [concurrencies[i - 1], concurrencies[i]];
    for (const [name, row] of across) {
      await line(acrossLabel(name, low, high), row, row, low, high);
    }
  }
}

/** The header of the paired table. */
export function pairedHeader(title, width) {
  const header = title.padEnd(width) + "median".padStart(8) + "q25-q75".padStart(13) +
    "CPU us/req".padStart(16) + "pairs".padStart(7);
  return `${header}\n${"-".repeat(header.length)}`;
}
