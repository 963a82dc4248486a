/**
 * Retries: against local servers that fail in scripted ways, waiting on a fake clock (the
 * waits are recorded, not slept).
 */

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { test } from "./_harness.ts";
import { serveHttp } from "./_http_server.ts";
import {
  Client,
  ConnectError,
  type RetryClock,
  type RetryEvent,
  type RetryOptions,
  timeout,
  TransportError,
} from "../mod.ts";
import { parseRetryAfter } from "../src/retry.ts";

/** A clock that records each wait and resolves it at once; `random()` is fixed. */
function fakeClock(random = 0.5, now = Date.UTC(2026, 0, 1)): RetryClock & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      waits.push(ms);
      return Promise.resolve();
    },
    now: () => now,
    random: () => random,
  };
}

/** A server answering each request with the next status of `statuses` (then 200). */
async function scripted(statuses: number[], headers: Record<string, string> = {}) {
  const seen: { method: string; body: string }[] = [];
  const server = await serveHttp((request, response, body) => {
    seen.push({ method: request.method!, body: new TextDecoder().decode(body) });
    const status = statuses[seen.length - 1] ?? 200;
    response.writeHead(status, status === 200 ? {} : headers);
    response.end(`answer ${seen.length}`);
  });
  return Object.assign(server, { seen });
}

test("retry: no retries unless asked for", async () => {
  await using server = await scripted([503]);
  await using client = new Client();
  const response = await client.get(server.origin);
  assert.equal(response.status, 503);
  assert.equal(server.seen.length, 1);
  assert.equal(response.extensions.attempts, undefined);
});

test("retry: a retried status is sent again with full-jitter exponential backoff", async () => {
  await using server = await scripted([503, 502, 500]);
  const clock = fakeClock(0.5);
  const events: RetryEvent[] = [];
  await using client = new Client({
    retry: { limit: 3, baseDelay: 100, maxDelay: 300, clock, onRetry: (e) => void events.push(e) },
  });
  const response = await client.get(server.origin);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "answer 4");
  assert.equal(response.extensions.attempts, 4);
  // random() = 0.5 of min(maxDelay, 100 × 2^(n−1)): 50, 100, then capped at 300 → 150.
  assert.deepEqual(clock.waits, [50, 100, 150]);
  assert.deepEqual(events.map((e) => [e.attempt, e.delay, e.response?.status]), [
    [2, 50, 503],
    [3, 100, 502],
    [4, 150, 500],
  ]);
  assert.equal(server.connections, 1, "a retried response is drained and its connection reused");
});

test("retry: the limit counts retries; the last response is returned", async () => {
  await using server = await scripted([503, 503, 503, 503]);
  const clock = fakeClock();
  await using client = new Client({ retry: { limit: 2, clock } });
  const response = await client.get(server.origin);
  assert.equal(response.status, 503);
  assert.equal(await response.text(), "answer 3");
  assert.equal(response.extensions.attempts, 3);
  assert.equal(clock.waits.length, 2);
});

test("retry: statuses outside statusCodes are not retried", async () => {
  await using server = await scripted([404, 501]);
  await using client = new Client({ retry: { clock: fakeClock() } });
  assert.equal((await client.get(server.origin)).status, 404);
  assert.equal(server.seen.length, 1);
  await using custom = new Client({ retry: { statusCodes: [404], clock: fakeClock() } });
  assert.equal((await custom.get(server.origin)).status, 501);
});

test("retry: Retry-After in seconds and as an HTTP date is obeyed, up to maxRetryAfter", async () => {
  const clock = fakeClock(0.5, Date.UTC(2026, 0, 1, 12, 0, 0));
  {
    await using server = await scripted([429], { "retry-after": "2" });
    await using client = new Client({ retry: { clock } });
    assert.equal((await client.get(server.origin)).status, 200);
  }
  {
    const date = new Date(Date.UTC(2026, 0, 1, 12, 0, 7)).toUTCString();
    await using server = await scripted([503], { "retry-after": date });
    await using client = new Client({ retry: { clock } });
    assert.equal((await client.get(server.origin)).status, 200);
  }
  assert.deepEqual(clock.waits, [2000, 7000]);
  {
    // Longer than maxRetryAfter: no retry, the 429 is the answer.
    await using server = await scripted([429], { "retry-after": "120" });
    await using client = new Client({ retry: { clock, maxRetryAfter: 60_000 } });
    const response = await client.get(server.origin);
    assert.equal(response.status, 429);
    assert.equal(response.extensions.attempts, 1);
    assert.equal(server.seen.length, 1);
  }
});

test("parseRetryAfter reads seconds and dates, and refuses anything else", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter(" 30 ", now), 30_000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0); // past: at once
  assert.equal(parseRetryAfter("-1", now), null);
  assert.equal(parseRetryAfter("1.5", now), null);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter("2026-01-01", now), null);
});

test("retry: only idempotent methods by default; others when listed", async () => {
  await using server = await scripted([503, 503]);
  await using client = new Client({ retry: { clock: fakeClock() } });
  const post = await client.post(server.origin, { content: "once" });
  assert.equal(post.status, 503);
  assert.equal(post.extensions.attempts, 1);
  const put = await client.put(server.origin, { content: "twice" });
  assert.equal(put.status, 200);
  assert.equal(put.extensions.attempts, 2);
  assert.deepEqual(server.seen.map((s) => s.method), ["POST", "PUT", "PUT"]);
  assert.deepEqual(server.seen.map((s) => s.body), ["once", "twice", "twice"]);

  await using posting = new Client({ retry: { methods: ["POST"], clock: fakeClock() } });
  await using again = await scripted([503]);
  const retried = await posting.post(again.origin, { json: { a: 1 } });
  assert.equal(retried.extensions.attempts, 2);
  assert.deepEqual(again.seen.map((s) => s.body), ['{"a":1}', '{"a":1}']);
});

test("retry: a streamed body is never sent again", async () => {
  await using server = await scripted([503]);
  await using client = new Client({ retry: { methods: ["PUT"], clock: fakeClock() } });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("stream"));
      controller.close();
    },
  });
  const response = await client.put(server.origin, { content: body });
  assert.equal(response.status, 503);
  assert.equal(response.extensions.attempts, 1);
  assert.equal(server.seen.length, 1);
});

test("retry: connect errors are retried, and the last one thrown", async () => {
  const closed = await serveHttp(() => {});
  const origin = closed.origin;
  await closed.close();
  const clock = fakeClock();
  const events: RetryEvent[] = [];
  await using client = new Client({
    retry: { limit: 2, clock, onRetry: (e) => void events.push(e) },
  });
  await assert.rejects(client.get(origin), ConnectError);
  assert.equal(events.length, 2);
  assert.ok(events.every((e) => e.error instanceof ConnectError));
});

/** A raw server: the first `resets` connections are handled by `fail`, the rest answer 200. */
async function flaky(resets: number, fail: (socket: Socket) => void) {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => {
      if (++accepted <= resets) fail(socket);
      else socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted() {
      return accepted;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test("retry: a reset or close before any response byte is retried", async () => {
  for (const fail of [(s: Socket) => s.resetAndDestroy(), (s: Socket) => s.end()]) {
    await using server = await flaky(1, fail);
    await using client = new Client({ retry: { clock: fakeClock() } });
    const response = await client.get(server.origin);
    assert.equal(await response.text(), "ok");
    assert.equal(response.extensions.attempts, 2);
    assert.equal(server.accepted, 2);
  }
});

test("retry: a reset after part of the response is not retried", async () => {
  await using server = await flaky(1, (socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Le", () => socket.resetAndDestroy());
  });
  await using client = new Client({ retry: { clock: fakeClock() } });
  // A reset (ReadError), or on Node 20 a close midway through the head (RemoteProtocolError).
  await assert.rejects(client.get(server.origin), TransportError);
  assert.equal(server.accepted, 1);
});

test("retry: no attempt starts after the timeout() scope's deadline", async () => {
  await using server = await scripted([503, 503]);
  const clock = fakeClock(0.5);
  await using client = new Client({ retry: { baseDelay: 60_000, maxDelay: 60_000, clock } });
  // The first wait (30 s) would end past the scope's 10 s: the 503 is returned, unwaited.
  const response = await timeout(10_000, () => client.get(server.origin));
  assert.equal(response.status, 503);
  assert.equal(response.extensions.attempts, 1);
  assert.deepEqual(clock.waits, []);
});

test("retry: an abort during the wait ends the retries with the signal's reason", async () => {
  await using server = await scripted([503, 503]);
  const controller = new AbortController();
  const reason = new Error("enough");
  let waiting!: () => void;
  const waited = new Promise<void>((resolve) => waiting = resolve);
  // A clock whose wait ends only by abort.
  const clock: RetryClock = {
    sleep: (_ms, signal) =>
      new Promise((_, reject) => {
        waiting();
        if (signal === undefined) return reject(new Error("The wait was given no signal"));
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    now: () => Date.now(),
    random: () => 0.5,
  };
  await using client = new Client({ retry: { clock } });
  const pending = client.get(server.origin, { signal: controller.signal });
  await waited;
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  assert.equal(server.seen.length, 1);
});

test("retry: each attempt is traced; per-request retry overrides the client's", async () => {
  await using server = await scripted([503, 503, 503]);
  await using client = new Client({ retry: { limit: 5, clock: fakeClock() } });
  const events: [string, number][] = [];
  const response = await client.get(server.origin, {
    retry: { limit: 1, clock: fakeClock() },
    extensions: {
      trace: (name, info) =>
        void (name === "client.attempt" && events.push([name, info.attempt as number])),
    },
  });
  assert.equal(response.status, 503);
  assert.deepEqual(events, [["client.attempt", 1], ["client.attempt", 2]]);
  const none = await client.get(server.origin, { retry: 0 });
  assert.equal(none.status, 503);
  assert.equal(server.seen.length, 3);
});

test("retry: client.fetch retries with the client's policy", async () => {
  await using server = await scripted([502]);
  await using client = new Client({ retry: { clock: fakeClock() } });
  const response = await client.fetch(server.origin);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "answer 2");
});

test("retry: bad options are refused, naming the option and value", () => {
  const bad: [RetryOptions | number, RegExp][] = [
    [-1, /Invalid retry limit "-1"/],
    [1.5, /Invalid retry limit "1.5"/],
    [{ baseDelay: -5 }, /Invalid retry baseDelay "-5"/],
    [{ maxDelay: Number.NaN }, /Invalid retry maxDelay "NaN"/],
    [{ maxRetryAfter: -1 }, /Invalid retry maxRetryAfter "-1"/],
    [{ statusCodes: [700] }, /Invalid retry statusCodes entry "700"/],
  ];
  for (const [retry, message] of bad) {
    assert.throws(() => new Client({ retry }), message);
  }
  assert.throws(() => new Client({ retry: "3" as unknown as number }), /Invalid retry "3"/);
  assert.throws(
    () => new Client().buildRequest("GET", "http://x/", { retry: { limit: -2 } }),
    /Invalid retry limit "-2"/,
  );
});

test("retry: the real clock waits, and an abort ends its wait at once", async () => {
  await using server = await scripted([503, 503, 503]);
  // Real waits of at most 1 ms.
  await using quick = new Client({ retry: { baseDelay: 1 } });
  assert.equal((await quick.get(server.origin)).extensions.attempts, 3);
  // A wait of up to a minute, ended by the abort that onRetry triggers.
  await using again = await scripted([503]);
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  await using slow = new Client({
    retry: { baseDelay: 60_000, onRetry: () => controller.abort(reason) },
  });
  await assert.rejects(slow.get(again.origin, { signal: controller.signal }), (e) => e === reason);
});
