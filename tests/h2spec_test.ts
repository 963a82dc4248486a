/**
 * h2spec's 57 generic HTTP/2 client cases (`h2specd`, kept in ../shared/tools/h2spec) run
 * against Ferry's HTTP/2 connection, one process of `_h2spec_client` per case, under the
 * runtime running this test. Asserts a pass count per runtime.
 *
 * Cases that fail, and why (measured: 54/57 on Deno, Node 20 and Node 24, 51/57 on Bun;
 * see the README's HTTP/2 section):
 * - 6.7/2 PING with ACK, 6.9.1/1 or /2 WINDOW_UPDATE overflow (all runtimes): the one-shot
 *   client has its response and closes within 500 ms, sometimes before the case's frames.
 * - 6.3/1 PRIORITY on stream 0 (Deno, Node 24): their engines ignore PRIORITY frames.
 * - 5.1/1, 5.1/3, 5.1.1/1 frames on idle streams (Bun): its engine does not treat them as
 *   connection errors.
 * - Timing: a case or two varies from run to run on a loaded machine, hence a floor, not
 *   an exact count.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { env, peerTest, runtime } from "./_harness.ts";

const here = dirname(fileURLToPath(import.meta.url));

function findH2specd(): string | null {
  const given = env("H2SPECD");
  if (given) return given;
  for (let dir = here; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "..", "shared", "tools", "h2spec", "h2specd");
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

const H2SPECD = findH2specd();

/** The least number of the 57 cases each runtime passes (measured: see the module doc). */
const FLOOR: Record<typeof runtime, number> = { deno: 52, node: 52, bun: 50 };

peerTest(
  `h2spec: the HTTP/2 client cases pass (at least ${FLOOR[runtime]} of 57 on ${runtime})`,
  { pkg: "h2spec (../shared/tools/h2spec/h2specd, or H2SPECD=path)", available: H2SPECD !== null },
  async () => {
    const client = join(here, `_h2spec_client${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`);
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const exec = runtime === "deno"
      ? `${g.Deno.execPath()} run -A --quiet ${client}`
      : `${g.process.execPath} ${client}`;
    // Ports below the kernel's ephemeral range, so outgoing connections never hold them.
    const base = 20000 + Math.floor(Math.random() * 100) * 100;
    const child = spawn(H2SPECD!, ["-p", String(base), "-f", String(base + 1), "--exec", exec], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (data) => output += data);
    child.stderr!.on("data", () => {}); // h2specd's accept-loop noise
    await new Promise((resolve) => child.once("exit", resolve));
    const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(output);
    assert.ok(summary !== null, `h2specd printed no summary:\n${output.slice(-3000)}`);
    const [, total, passed] = summary.map(Number);
    console.log(`h2spec on ${runtime}: ${passed}/${total} passed`);
    const failures = output.slice(output.indexOf("Failures:")).split("\n")
      .filter((line) => line.includes("×")).join("\n");
    if (failures) console.log(failures);
    assert.equal(total, 57);
    assert.ok(passed >= FLOOR[runtime], `only ${passed} of 57 passed:\n${failures}`);
  },
);
