/**
 * fast-check generators of valid HTTP/1.1 response streams, with the events the parser
 * must give for them (shared by the property tests and the h11 comparison).
 */

import fc from "fast-check";
import { bytes, type PlainEvent } from "./_http11.ts";

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

/** What a generated response is made of. */
export interface Model {
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

/** One response (and its 1xx) of a stream. */
export const response: fc.Arbitrary<Model> = fc.record({
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

/** The bytes of a stream of responses and the events the parser must give for it. */
export function renderAll(models: Model[]): { data: Uint8Array; events: PlainEvent[] } {
  let text = "";
  const events: PlainEvent[] = [];
  models.forEach((model, index) => {
    const rendered = render(model, index === models.length - 1);
    text += rendered.text;
    events.push(...rendered.events);
  });
  return { data: bytes(text), events };
}
