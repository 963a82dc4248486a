import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { runDenoScript } from "./_child.ts";
import {
  ConnectTimeout,
  PoolTimeout,
  ReadTimeout,
  TimeoutException,
  WriteTimeout,
} from "../src/errors.ts";
import { currentDeadline, Deadline, timeout, withDeadline } from "../src/timeout.ts";

/**
 * An operation that settles only when cut short; records whether it was. Like a socket
 * read, it keeps the event loop alive while it waits (the deadline timer does not).
 */
function stuckOperation(): { run: () => Promise<never>; onExpire: () => void; expired: boolean } {
  let rejectIt: (error: Error) => void = () => {};
  let keepAlive: ReturnType<typeof setTimeout> | undefined;
  const op = {
    expired: false,
    run: () =>
      new Promise<never>((_, reject) => {
        keepAlive = setTimeout(() => reject(new Error("never cut short")), 10_000);
        rejectIt = reject;
      }),
    onExpire: () => {
      op.expired = true;
      clearTimeout(keepAlive);
      rejectIt(new Error("closed"));
    },
  };
  return op;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test("withDeadline passes the result through when nothing limits it", async () => {
  assert.equal(await withDeadline("read", null, () => Promise.resolve(7), () => {}), 7);
  assert.equal(await withDeadline("read", undefined, () => Promise.resolve(8), () => {}), 8);
  assert.equal(await withDeadline("read", 5000, () => Promise.resolve(9), () => {}), 9);
});

test("withDeadline passes the operation's own error through", async () => {
  await assert.rejects(
    withDeadline("read", 5000, () => Promise.reject(new Error("boom")), () => {}),
    /boom/,
  );
  await assert.rejects(
    withDeadline("read", 5000, () => {
      throw new Error("sync boom");
    }, () => {}),
    /sync boom/,
  );
});

test("a per-phase limit fires, not early, calls onExpire and names phase and limit", async () => {
  for (
    const [phase, Class, word] of [
      ["read", ReadTimeout, "Read"],
      ["write", WriteTimeout, "Write"],
      ["connect", ConnectTimeout, "Connect"],
      ["pool", PoolTimeout, "Pool"],
    ] as const
  ) {
    const op = stuckOperation();
    const start = performance.now();
    const error = await withDeadline(phase, 40, op.run, op.onExpire).then(
      () => assert.fail("no timeout"),
      (error) => error,
    );
    const elapsed = performance.now() - start;
    assert.ok(error instanceof Class, String(error));
    assert.ok(error instanceof TimeoutException);
    assert.equal(error.phase, phase);
    assert.equal(error.timeoutMs, 40);
    assert.equal(error.message, `${word} timed out after 40 ms`);
    assert.ok(op.expired, "onExpire was called");
    assert.ok(elapsed >= 40, `fired after ${elapsed} ms, before the 40 ms limit`);
  }
});

test("a zero limit times out at once without starting the operation", async () => {
  let started = false;
  await assert.rejects(
    withDeadline("read", 0, () => {
      started = true;
      return Promise.resolve(1);
    }, () => {}),
    ReadTimeout,
  );
  assert.equal(started, false);
});

test("timeout() scope limits operations awaited inside without being passed", async () => {
  const op = stuckOperation();
  const inner = async () => await withDeadline("read", null, op.run, op.onExpire);
  const start = performance.now();
  const error = await timeout(50, async () => await inner()).catch((e) => e);
  assert.ok(performance.now() - start >= 50);
  assert.ok(error instanceof ReadTimeout, String(error));
  assert.equal(error.timeoutMs, 50);
  assert.equal(error.message, "Read timed out after 50 ms (timeout scope)");
  assert.ok(op.expired);
});

test("the per-phase limit wins when it is earlier than the scope", async () => {
  const op = stuckOperation();
  const error = await timeout(5000, () => withDeadline("write", 30, op.run, op.onExpire)).catch((
    e,
  ) => e);
  assert.ok(error instanceof WriteTimeout);
  assert.equal(error.timeoutMs, 30);
});

test("nested scopes: the earliest deadline wins either way round", async () => {
  await timeout(10_000, async (outer) => {
    await timeout(20_000, (inner) => {
      assert.equal(currentDeadline(), outer.deadline);
      assert.ok(inner.deadline > outer.deadline);
    });
    await timeout(1000, async (inner) => {
      assert.equal(currentDeadline(), inner.deadline);
      await sleep(1);
      assert.equal(currentDeadline(), inner.deadline, "survives an await");
    });
    assert.equal(currentDeadline(), outer.deadline, "inner scope ended");
  });
  assert.equal(currentDeadline(), Infinity);
});

test("an outer scope's deadline cuts an inner, longer one short", async () => {
  const op = stuckOperation();
  const error = await timeout(
    40,
    () => timeout(10_000, () => withDeadline("read", null, op.run, op.onExpire)),
  ).catch((e) => e);
  assert.ok(error instanceof ReadTimeout);
  assert.equal(error.timeoutMs, 40);
});

test("cancel() lifts the scope's deadline, enclosing scopes still apply", async () => {
  await timeout(10_000, async (outer) => {
    await timeout(20, async (scope) => {
      scope.cancel();
      assert.equal(scope.deadline, Infinity);
      assert.equal(currentDeadline(), outer.deadline);
      // Would time out after 20 ms without cancel().
      assert.equal(await withDeadline("read", null, () => sleep(60).then(() => 1), () => {}), 1);
      assert.equal(scope.expired, false);
    });
  });
});

test("cancel() while an operation waits lifts its deadline too", async () => {
  const result = await timeout(30, async (scope) => {
    const pending = withDeadline("read", null, () => sleep(80).then(() => "done"), () => {});
    scope.cancel();
    return await pending;
  });
  assert.equal(result, "done");
});

test("the scope's signal aborts with a TimeoutException when the deadline passes", async () => {
  await timeout(30, async (scope) => {
    const signal = scope.signal;
    assert.equal(signal.aborted, false);
    const keepAlive = setTimeout(() => {}, 10_000);
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    clearTimeout(keepAlive);
    assert.ok(signal.reason instanceof TimeoutException);
    assert.equal(signal.reason.message, "Timed out after 30 ms");
    assert.equal(scope.expired, true);
    assert.equal(String(scope), "<TimeoutScope [30 ms EXPIRED]>");
  });
});

test("a scope's signal is already aborted when asked for after expiry", async () => {
  await timeout(0, (scope) => {
    assert.equal(scope.signal.aborted, true);
    assert.ok(scope.expired);
  });
});

test("an operation started in an expired scope fails at once", async () => {
  await timeout(0, async () => {
    await assert.rejects(
      withDeadline("pool", null, () => Promise.resolve(1), () => {}),
      PoolTimeout,
    );
  });
});

test("an aborted signal cuts the operation short with its reason", async () => {
  const controller = new AbortController();
  const op = stuckOperation();
  const pending = withDeadline("read", null, op.run, op.onExpire, controller.signal);
  controller.abort(new Error("user gave up"));
  await assert.rejects(pending, /user gave up/);
  assert.ok(op.expired);
  const already = AbortSignal.abort(new Error("before"));
  let started = false;
  await assert.rejects(
    withDeadline(
      "read",
      1000,
      () => {
        started = true;
        return Promise.resolve(1);
      },
      () => {},
      already,
    ),
    /before/,
  );
  assert.equal(started, false);
});

test("timeout() returns the function's value and rejects invalid lengths", async () => {
  assert.equal(await timeout(1000, () => 42), 42);
  assert.equal(await timeout(Infinity, async () => await Promise.resolve("x")), "x");
  await assert.rejects(timeout(-1, () => 0), RangeError);
  await assert.rejects(timeout(Number.NaN, () => 0), /Invalid timeout "NaN"/);
});

test("scope reprs", async () => {
  await timeout(1000, (scope) => {
    assert.equal(String(scope), "<TimeoutScope [1000 ms]>");
    scope.cancel();
    assert.equal(String(scope), "<TimeoutScope [1000 ms CANCELLED]>");
  });
});

test("many concurrent waits with mixed limits expire in deadline order", async () => {
  const order: number[] = [];
  const deadlines = new Map<number, number>();
  const limits = [60, 20, 40, 10, 50, 30];
  await Promise.all(limits.map((ms) => {
    const op = stuckOperation();
    // The expected order is that of the deadlines each wait really got: starting a wait
    // takes time too (the first one in a process most), so two limits 10 ms apart that
    // start 10 ms apart share a deadline.
    deadlines.set(ms, performance.now() + ms);
    return withDeadline("read", ms, op.run, op.onExpire).catch(() => order.push(ms));
  }));
  assert.deepEqual(order, [...limits].sort((a, b) => deadlines.get(a)! - deadlines.get(b)!));
});

test("completed operations leave no deadline behind that fires later", async () => {
  let expired = 0;
  for (let i = 0; i < 1000; i++) {
    await withDeadline("read", 20, () => Promise.resolve(i), () => expired++);
  }
  await sleep(40);
  assert.equal(expired, 0);
});

test("an invalid per-phase limit is a RangeError, not a wait without end", async () => {
  await assert.rejects(
    withDeadline("read", Number.NaN, () => Promise.resolve(1), () => {}),
    /Invalid read timeout "NaN"/,
  );
});

test(
  "the deadline timer never keeps the process alive",
  { denoOnly: "runs a TypeScript child with deno run" },
  async () => {
    const module = new URL("../src/timeout.ts", import.meta.url).href;
    const script = `
      import { Deadline, timeout, withDeadline } from ${JSON.stringify(module)};
      await withDeadline("read", 60_000, () => Promise.resolve(1), () => {});
      await timeout(60_000, async (scope) => { scope.signal; await Promise.resolve(); });
      // An operation that only our timer could end: the process still exits.
      withDeadline("read", 60_000, () => new Promise(() => {}), () => {});
      // A stream's lazy limit (placed on the clock by a tick, whose timer is unref'd too).
      new Deadline("read", () => {}).start(60_000);
      console.log("done");
    `;
    const start = performance.now();
    const { code, output } = await runDenoScript(script);
    assert.equal(code, 0, output);
    assert.match(output, /done/);
    assert.ok(performance.now() - start < 30_000, "exited long before the 60 s deadlines");
  },
);

test("scopes work again after every scope has ended, and side by side", async () => {
  for (let i = 0; i < 3; i++) {
    await timeout(1000, async (scope) => {
      await sleep(1);
      assert.equal(currentDeadline(), scope.deadline);
    });
    assert.equal(currentDeadline(), Infinity);
  }
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const first = timeout(5000, async (scope) => {
    await gate;
    assert.equal(currentDeadline(), scope.deadline, "still in force after the other ended");
  });
  await timeout(1000, async (scope) => {
    await sleep(1);
    assert.equal(currentDeadline(), scope.deadline);
  });
  release();
  await first;
});

test("a crowd of waits: every stuck one fires, none early, none that finished", async () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const checks: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    const limit = 5 + Math.floor(random() * 60);
    if (random() < 0.5) {
      const op = stuckOperation();
      const start = performance.now();
      checks.push(
        withDeadline("read", limit, op.run, op.onExpire).then(
          () => assert.fail("a stuck operation succeeded"),
          (error) => {
            const elapsed = performance.now() - start;
            assert.ok(error instanceof ReadTimeout, String(error));
            assert.ok(elapsed >= limit, `fired after ${elapsed} ms, limit ${limit} ms`);
            assert.ok(op.expired);
          },
        ),
      );
    } else {
      const delay = Math.floor(random() * limit * 0.5);
      let expired = false;
      checks.push(
        withDeadline("read", limit + 50, () => sleep(delay).then(() => i), () => expired = true)
          .then((value) => {
            assert.equal(value, i);
            assert.equal(expired, false);
          }),
      );
    }
  }
  await Promise.all(checks);
});

test("waits found due together by a late timer expire in deadline order", async () => {
  // Block the event loop past both deadlines, so one timer wake finds both due at once.
  const order: number[] = [];
  // The shorter limit is added first: expiring in the order of addition (or its reverse
  // for a list) would not pass by chance, and 180 ms apart no start-up delay reorders them.
  const waits = [20, 200].map((ms) => {
    const op = stuckOperation();
    return withDeadline("read", ms, op.run, op.onExpire).catch(() => order.push(ms));
  });
  const until = performance.now() + 250;
  while (performance.now() < until) { /* busy: the timer cannot run */ }
  await Promise.all(waits);
  assert.deepEqual(order, [20, 200]);
});

test("a stream's limit of a second or more, placed lazily, still passes, and never early", async () => {
  // Limits >= 1 s outside scopes go on the clock at the queue's next tick (no clock read per
  // operation). One that runs out, one stopped before its tick, and one restarted with a
  // short limit after a lazy one (which must read the clock again).
  const fired: string[] = [];
  let done = () => {};
  const finished = new Promise<void>((resolve) => done = resolve);
  const lazy = new Deadline("read", () => {
    fired.push("lazy");
    done();
  });
  const stopped = new Deadline("write", () => fired.push("stopped"));
  const restarted = new Deadline("read", () => fired.push("restarted"));
  const keepAlive = setTimeout(() => {}, 5000); // deadline timers are unref'd
  const start = performance.now();
  assert.equal(restarted.start(1000), null);
  restarted.stop();
  assert.equal(restarted.start(30), null);
  assert.equal(lazy.start(1000), null);
  assert.equal(stopped.start(1000), null);
  stopped.stop();
  await finished;
  clearTimeout(keepAlive);
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 1000, `the 1000 ms limit passed after ${elapsed} ms`);
  assert.deepEqual(fired, ["restarted", "lazy"]);
  assert.ok(lazy.error instanceof ReadTimeout);
  assert.equal(lazy.error.message, "Read timed out after 1000 ms");
  assert.equal(lazy.error.timeoutMs, 1000);
  assert.equal(restarted.error?.message, "Read timed out after 30 ms");
  assert.equal(stopped.error, null);
});

test("a lazy limit under a timeout() scope is the scope's, read at once", async () => {
  await timeout(20, async () => {
    const expired = new Promise<Deadline>((resolve) => {
      const deadline: Deadline = new Deadline("read", () => resolve(deadline));
      assert.equal(deadline.start(5000), null);
    });
    const keepAlive = setTimeout(() => {}, 5000);
    const deadline = await expired;
    clearTimeout(keepAlive);
    assert.ok(deadline.error instanceof ReadTimeout);
    assert.match(deadline.error.message, /Read timed out after 20 ms \(timeout scope\)/);
  });
});
