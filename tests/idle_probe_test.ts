/**
 * The idle probe (src/connection/idle_probe.ts): a connection is probed once it has stayed
 * idle for one to two ticks of the shared ticker, measured from the last time it turned
 * idle; one reused in between is not probed, and turning idle and busy again per request
 * does not touch the ticker's set. Real timers (100 ms ticks): the tests wait for what the
 * ticker does, never for a fixed time.
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { eventually } from "./_servers.ts";
import {
  forgetProbe,
  type Probed,
  scheduleProbe,
  unscheduleProbe,
} from "../src/connection/idle_probe.ts";

class FakeConnection implements Probed {
  probeStamp = 0;
  probeListed = false;
  probes = 0;
  /** When each probe came, in `performance.now()` milliseconds. */
  probedAt: number[] = [];
  probe(): void {
    this.probes++;
    this.probedAt.push(performance.now());
  }
}

test("idle probe: a connection left idle is probed once, after at least one tick", async () => {
  const connection = new FakeConnection();
  const idleSince = performance.now();
  scheduleProbe(connection);
  assert.equal(connection.probeListed, true);
  await eventually(() => connection.probes === 1, "the probe");
  // Two ticks of 100 ms after turning idle at the latest, one at the earliest.
  assert.ok(connection.probedAt[0] - idleSince >= 95, "not probed before a whole tick");
  await eventually(() => !connection.probeListed, "off the list once probed");
  assert.equal(connection.probeStamp, 0);
  forgetProbe(connection);
  assert.equal(connection.probes, 1);
});

test("idle probe: a connection reused before its probe is not probed, and leaves the list", async () => {
  const reused = new FakeConnection();
  const witness = new FakeConnection();
  scheduleProbe(reused);
  scheduleProbe(witness);
  unscheduleProbe(reused); // a request took it: it stays active
  // The witness, scheduled at the same moment, is probed on the tick that would have
  // probed the reused one; by then the reused one was unlisted without a probe.
  await eventually(() => witness.probes === 1, "the witness's probe");
  assert.equal(reused.probes, 0);
  assert.equal(reused.probeListed, false);
  forgetProbe(reused);
  forgetProbe(witness);
});

test("idle probe: the idle time counts from the last time the connection turned idle", async () => {
  const busy = new FakeConnection();
  const witness = new FakeConnection();
  scheduleProbe(busy);
  // Reused and idle again, request after request, for a few ticks: never probed meanwhile,
  // and listed all along (no set insertion per request).
  let lastIdle = performance.now();
  const until = lastIdle + 350;
  while (performance.now() < until) {
    unscheduleProbe(busy);
    assert.equal(busy.probeListed, true);
    scheduleProbe(busy);
    lastIdle = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(busy.probes, 0, "probed while it was in use");
  }
  scheduleProbe(witness);
  await eventually(() => busy.probes === 1, "the probe once it stays idle");
  assert.ok(busy.probedAt[0] - lastIdle >= 95, "probed less than a tick after its last use");
  forgetProbe(busy);
  forgetProbe(witness);
});

test("idle probe: a closed connection is never probed and the ticker stops", async () => {
  const closed = new FakeConnection();
  const witness = new FakeConnection();
  scheduleProbe(closed);
  scheduleProbe(witness);
  forgetProbe(closed);
  assert.equal(closed.probeListed, false);
  await eventually(() => witness.probes === 1, "the witness's probe");
  assert.equal(closed.probes, 0);
  // Nothing listed: the ticker is gone (Deno's sanitizer would fail this test otherwise).
  await eventually(() => !witness.probeListed, "the witness unlisted");
});
