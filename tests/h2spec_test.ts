/**
 * h2spec's 57 generic HTTP/2 client cases (`h2specd`, kept in ../shared/tools/h2spec) run
 * against Ferry's HTTP/2 connection, one process of `_h2spec_client` per case, under the
 * runtime running this test, with the default engine (Ferry's own, src/http2/ferry_engine.ts).
 * Asserts that all 57 pass: measured 57/57 on Deno, Node 20, Node 24 and Bun (with the
 * node:http2 engine it was 54/57, 51/57 on Bun; see the README's HTTP/2 section).
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

peerTest(
  `h2spec: all 57 HTTP/2 client cases pass (${runtime})`,
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
    assert.equal(passed, 57, `only ${passed} of 57 passed:\n${failures}`);
  },
);
