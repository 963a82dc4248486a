/**
 * Property-based tests of the response parser (fast-check):
 * - every split of a valid stream of responses gives the same events, and the events
 *   are the responses that were written;
 * - random and mutated bytes only ever end in a `RemoteProtocolError` (or valid events),
 *   never hang, and give the same outcome however they are split.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { env, test } from "./_harness.ts";
import { bytes, drive, splitAt } from "./_http11.ts";
import { renderAll, response } from "./_http11_gen.ts";

// More runs for a deeper search: FERRY_PROPERTY_RUNS=20000 deno test -A tests/http11_property_test.ts
const RUNS = Number(env("FERRY_PROPERTY_RUNS") ?? 400);

const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 30 });

test("property: every split of valid responses gives the written events", () => {
  fc.assert(
    fc.property(fc.array(response, { minLength: 1, maxLength: 4 }), cuts, (models, points) => {
      const { data, events } = renderAll(models);
      const methods = models.map((model) => model.method);
      const whole = drive([data], { methods });
      assert.equal(whole.error, null);
      assert.deepEqual(whole.events, events);
      const split = drive(splitAt(data, points.map((point) => point % (data.length + 1))), {
        methods,
      });
      assert.deepEqual(split, whole);
      const trickled = drive(splitAt(data, Array.from(data, (_, i) => i)), { methods });
      assert.deepEqual(trickled, whole);
    }),
    { numRuns: RUNS },
  );
});

test("property: heads repeated on one connection (the template path) give the written events", () => {
  // A parser keeps the last head it read whole from one buffer and matches the next one
  // against it: fed whole, repeated heads take that path; trickled, none can. Both must
  // give the events written, whatever the method asked (HEAD changes the framing).
  const stream = fc.tuple(
    fc.array(response, { minLength: 1, maxLength: 2 }),
    fc.array(fc.tuple(fc.nat(1), fc.constantFrom("GET", "POST", "HEAD")), {
      minLength: 2,
      maxLength: 8,
    }),
  ).map(([pool, picks]) =>
    picks.map(([index, method]) => ({ ...pool[index % pool.length], method }))
  );
  fc.assert(
    fc.property(stream, (models) => {
      const { data, events } = renderAll(models);
      const methods = models.map((model) => model.method);
      const whole = drive([data], { methods });
      assert.equal(whole.error, null);
      assert.deepEqual(whole.events, events);
      const trickled = drive(splitAt(data, Array.from(data, (_, i) => i)), { methods });
      assert.deepEqual(trickled, whole);
    }),
    { numRuns: RUNS },
  );
});

test("property: random bytes end in events or a RemoteProtocolError, however split", () => {
  const alphabet = fc.constantFrom(
    ..."HTTP/1.1 200 OK\r\n:;0123456789abcdef \t\x00\x7f\xffContent-Length: Transfer-Encoding: chunked\r\n",
  );
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.stringOf(alphabet, { maxLength: 300 }).map(bytes),
    fc.stringOf(alphabet, { maxLength: 300 }).map((text) => bytes("HTTP/1.1 200 OK\r\n" + text)),
  );
  fc.assert(
    fc.property(input, cuts, fc.boolean(), (data, points, end) => {
      // drive() rethrows anything but a RemoteProtocolError, and bounds the event loop.
      const whole = drive([data], { end });
      const split = drive(splitAt(data, points.map((point) => point % (data.length + 1))), {
        end,
      });
      assert.deepEqual(split, whole);
    }),
    { numRuns: RUNS * 2 },
  );
});

test("property: mutated valid responses end in events or a RemoteProtocolError, however split", () => {
  const mutation = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom("flip", "insert", "delete", "replace"),
    byte: fc.constantFrom(0, 9, 10, 13, 32, 44, 48, 58, 59, 65, 97, 127, 255),
  });
  fc.assert(
    fc.property(
      fc.array(response, { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      cuts,
      (models, mutations, points) => {
        const { data } = renderAll(models);
        const mutated = [...data];
        for (const { at, kind, byte } of mutations) {
          const index = at % (mutated.length + 1);
          if (kind === "insert") mutated.splice(index, 0, byte);
          else if (kind === "delete") mutated.splice(index, 1);
          else if (kind === "replace") mutated[index] = byte;
          else mutated[index] = (mutated[index] ?? 0) ^ (1 << (byte % 8));
        }
        const input = Uint8Array.from(mutated);
        const methods = models.map((model) => model.method);
        const whole = drive([input], { methods });
        const split = drive(splitAt(input, points.map((point) => point % (input.length + 1))), {
          methods,
        });
        assert.deepEqual(split, whole);
        const trickled = drive(splitAt(input, Array.from(input, (_, i) => i)), { methods });
        assert.deepEqual(trickled, whole);
      },
    ),
    { numRuns: RUNS },
  );
});

test("property: header sections over the limits always fail, whole or trickled", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 20, max: 200 }),
      fc.integer({ min: 1, max: 30 }),
      (maxHeaderSize, fieldCount) => {
        const text = "HTTP/1.1 200 OK\r\n" + "X-Field: value\r\n".repeat(fieldCount) + "\r\n";
        const data = bytes(text);
        const limits = { maxHeaderSize };
        const whole = drive([data], { limits });
        const trickled = drive(splitAt(data, Array.from(data, (_, i) => i)), { limits });
        assert.deepEqual(trickled, whole);
        if (text.length > maxHeaderSize) assert.match(whole.error?.message ?? "", /maxHeaderSize/);
        else assert.equal(whole.error?.message ?? null, null);
      },
    ),
    { numRuns: 100 },
  );
});
