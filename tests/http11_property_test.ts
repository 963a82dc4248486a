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
import { bytes, drive, type PlainEvent, splitAt } from "./_http11.ts";

// More runs for a deeper search: FERRY_PROPERTY_RUNS=20000 deno test -A tests/http11_property_test.ts
const RUNS = Number(env("FERRY_PROPERTY_RUNS") ?? 400);

const tokenChar = fc.constantFrom(
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
);
const headerName = fc.stringOf(tokenChar, { minLength: 1, maxLength: 12 }).filter((name) =>
  !["content-length", "transfer-encoding", "connection"].includes(name.toLowerCase())
);
const valueChar = fc.constantFrom(
  ..." \tabcdefxyzABC0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xa0\xe9\xff",
);
// Field values: no leading or trailing whitespace (the parser trims it).
const headerValue = fc.stringOf(valueChar, { maxLength: 20 }).map((value) =>
  value.replace(/^[ \t]+|[ \t]+$/g, "")
);
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 });
const bodyText = fc.stringOf(fc.char().map((c) => c), { maxLength: 40 });
const reason = fc.stringOf(fc.constantFrom(..."OK Not Found\t\xe9"), { maxLength: 12 });

type Framing = "length" | "chunked" | "none";

interface Model {
  method: string;
  status: number;
  reason: string;
  headers: [string, string][];
  framing: Framing;
  body: string;
  chunks: number[];
  extensions: boolean;
  trailers: [string, string][];
  informational: number[];
  close: boolean;
}

const response: fc.Arbitrary<Model> = fc.record({
  method: fc.constantFrom("GET", "POST", "HEAD"),
  status: fc.constantFrom(200, 201, 204, 301, 304, 404, 500, 599),
  reason,
  headers,
  framing: fc.constantFrom<Framing>("length", "chunked", "length"),
  body: bodyText,
  chunks: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 }),
  extensions: fc.boolean(),
  trailers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 2 }),
  informational: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
  close: fc.constant(false),
});

/** The bytes of a response, and the events the parser must give for it. */
function render(model: Model, last: boolean): { text: string; events: PlainEvent[] } {
  const events: PlainEvent[] = [];
  let text = "";
  for (const status of model.informational) {
    text += `HTTP/1.1 ${status} Info\r\nX-Info: ${status}\r\n\r\n`;
    events.push({
      type: "informational",
      status,
      reason: "Info",
      headers: [["X-Info", String(status)]],
    });
  }
  const noBody = model.method === "HEAD" || model.status === 204 || model.status === 304;
  // The last response of a stream may also run to the end of input.
  const framing: Framing = last && model.framing === "length" && model.body.length % 3 === 0
    ? "none"
    : model.framing;
  const fields: [string, string][] = [...model.headers];
  if (framing === "length") fields.push(["Content-Length", String(model.body.length)]);
  if (framing === "chunked") fields.push(["Transfer-Encoding", "chunked"]);
  text += `HTTP/1.1 ${model.status} ${model.reason}\r\n`;
  for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
  text += "\r\n";
  const body = noBody ? "" : model.body;
  let trailers: [string, string][] = [];
  if (!noBody) {
    if (framing === "chunked") {
      let at = 0;
      for (const size of [...model.chunks, Infinity]) {
        const piece = body.slice(at, at + size);
        at += piece.length;
        if (piece.length === 0) break;
        text += piece.length.toString(16) + (model.extensions ? ";ext=1" : "") + "\r\n" +
          piece + "\r\n";
      }
      if (at < body.length) {
        text += (body.length - at).toString(16) + "\r\n" + body.slice(at) + "\r\n";
      }
      text += "0\r\n";
      for (const [name, value] of model.trailers) text += `${name}: ${value}\r\n`;
      text += "\r\n";
      trailers = model.trailers;
    } else {
      text += body;
    }
  }
  events.push({
    type: "head",
    version: "HTTP/1.1",
    status: model.status,
    reason: model.reason,
    headers: fields,
    bodyLength: noBody ? 0 : framing === "length" ? body.length : null,
    chunked: !noBody && framing === "chunked",
  });
  if (body.length > 0) events.push({ type: "data", data: body });
  events.push({ type: "end", trailers, keepAlive: noBody || framing !== "none" });
  return { text, events };
}

function renderAll(models: Model[]): { data: Uint8Array; events: PlainEvent[] } {
  let text = "";
  const events: PlainEvent[] = [];
  models.forEach((model, index) => {
    const rendered = render(model, index === models.length - 1);
    text += rendered.text;
    events.push(...rendered.events);
  });
  return { data: bytes(text), events };
}

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
