/**
 * The paired benchmarks' server check (`bench/_node_bench.mjs`): the figures the README's
 * goals are read from are only as good as this warning, so what it says at and around its
 * bound is pinned here. The benchmarks themselves assert nothing (the machine is noisy).
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { HEADROOM, pairedServerCheck } from "../bench/_node_bench.mjs";

test("paired server check: no line over the raw loop, no check", () => {
  assert.equal(pairedServerCheck(10, []), null);
});

test("paired server check: warns when the best client is within 1.25x of the raw loop", () => {
  const line = pairedServerCheck(10, [
    ["Ferry Client.get / raw loop", 0.88],
    ["Ferry ConnectionPool / raw loop", 0.92],
  ]);
  assert.equal(HEADROOM, 1.25);
  assert.match(line!, /^WARNING: paired server check, c=10: the raw loop 1\.09x the best client/);
  // The best client is named, not the first line.
  assert.match(line!, /\(Ferry ConnectionPool \/ raw loop: 0\.92x\)/);
  assert.match(line!, /compressed/);
});

test("paired server check: quiet when the raw loop is well above every client", () => {
  const line = pairedServerCheck(100, [
    ["Ferry ConnectionPool / raw loop", 0.74],
    ["Ferry Client.get / raw loop", 0.62],
  ]);
  assert.match(line!, /^paired server check, c=100: the raw loop 1\.35x the best client/);
  assert.doesNotMatch(line!, /WARNING/);
});

test("paired server check: at the bound itself (0.80x, 1.25x) it does not warn", () => {
  const atBound = pairedServerCheck(10, [["pool / raw loop", 0.8]]);
  assert.doesNotMatch(atBound!, /WARNING/);
  const justOver = pairedServerCheck(10, [["pool / raw loop", 0.81]]);
  assert.match(justOver!, /^WARNING/);
});
