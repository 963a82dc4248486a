/**
 * Memory, not just the error: each decompression bomb (1 GiB decoded) is decoded in a child
 * process of this runtime with a 1 MiB `maxDecompressedSize`, and the child reports its peak
 * resident memory above the baseline (Linux `/proc/self/status`, peak reset through
 * `/proc/self/clear_refs`). The bound is generous (the goal is well under it); without a
 * bounded decoder the peak reaches the whole gigabyte, or more.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtime, test } from "./_harness.ts";
import { BOMBS } from "./_bombs.ts";
import { supportedEncodings } from "../src/advanced/mod.ts";

const LIMIT = 1024 * 1024;
/** Peak RSS above the baseline that a bounded decoder stays under (measured: see README). */
const BOUND = 100 * 1024 * 1024;

const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
const modUrl = new URL(`../mod.${ext}`, import.meta.url).href;
const bombsUrl = new URL(`./_bombs.${ext}`, import.meta.url).href;

/** The child: warms the decoders up, takes the baseline, decodes the bomb, reports. */
function childScript(encoding: string): string {
  return `
import { Response } from ${JSON.stringify(modUrl)};
import { BOMBS } from ${JSON.stringify(bombsUrl)};
import { readFileSync, writeFileSync } from "node:fs";
const encoding = ${JSON.stringify(encoding)};
function bytesOf(name) {
  const match = new RegExp(name + ":\\\\s+(\\\\d+) kB").exec(readFileSync("/proc/self/status", "utf8"));
  return Number(match[1]) * 1024;
}
async function decode(limit) {
  let sent = false;
  const content = {
    read: () => Promise.resolve(sent ? null : (sent = true, BOMBS[encoding])),
    close: () => Promise.resolve(),
  };
  const response = new Response(200, {
    headers: { "Content-Encoding": encoding },
    content,
    maxDecompressedSize: limit,
  });
  let total = 0;
  try {
    for await (const chunk of response.iterBytes()) total += chunk.length;
    return { total };
  } catch (error) {
    return { total, error: error.constructor.name, message: error.message };
  }
}
await decode(1024);
globalThis.gc?.();
const baseline = bytesOf("VmRSS");
writeFileSync("/proc/self/clear_refs", "5");
const result = await decode(${LIMIT});
const peak = bytesOf("VmHWM");
console.log("RESULT " + JSON.stringify({ ...result, baseline, delta: peak - baseline }));
`;
}

interface ChildReport {
  total: number;
  error?: string;
  message?: string;
  baseline: number;
  delta: number;
}

async function measure(encoding: string): Promise<ChildReport> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bomb-"));
  const file = join(dir, "child.mjs");
  writeFileSync(file, childScript(encoding));
  try {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const [command, args] = runtime === "deno"
      ? [g.Deno.execPath(), ["run", "-A", "--no-lock", "--quiet", "--v8-flags=--expose-gc", file]]
      : runtime === "bun"
      ? [g.process.execPath, [file]]
      : [g.process.execPath, ["--expose-gc", file]];
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (data) => output += data);
    child.stderr!.on("data", (data) => output += data);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const line = output.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `child exited with ${code} without a result: ${output}`);
    return JSON.parse(line.slice("RESULT ".length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const linux = existsSync("/proc/self/clear_refs");

for (const encoding of Object.keys(BOMBS)) {
  const needs = encoding.split(", ").find((coding) => !supportedEncodings().includes(coding));
  const skip = !linux
    ? "needs Linux /proc to measure peak memory"
    : needs
    ? `this runtime cannot decode ${JSON.stringify(needs)}`
    : false;
  test(`a ${JSON.stringify(encoding)} bomb (1 GiB) stays within the limit in memory`, {
    skip,
  }, async () => {
    const report = await measure(encoding);
    console.log(
      `${runtime} ${encoding}: peak ${(report.delta / 1048576).toFixed(1)} MiB above baseline, ` +
        `${report.total} bytes decoded`,
    );
    assert.equal(report.error, "DecodingError", JSON.stringify(report));
    assert.match(report.message!, /limit of 1048576 bytes/);
    assert.ok(report.total <= LIMIT, `decoded ${report.total} bytes past the limit`);
    assert.ok(
      report.delta < BOUND,
      `peak memory ${report.delta} bytes above baseline (bound ${BOUND})`,
    );
  });
}
