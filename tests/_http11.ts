/**
 * Helpers for the HTTP/1.1 parser tests: drive a {@linkcode ResponseParser} over some
 * input split in a given way, and collect its events in a comparable form.
 */

import assert from "node:assert/strict";
import { RemoteProtocolError } from "../src/errors.ts";
import { type ParserLimits, type ResponseEvent, ResponseParser } from "../src/http11/parser.ts";

/** An event with the body data as a Latin-1 string (consecutive data events merged). */
export type PlainEvent =
  | Exclude<ResponseEvent, { type: "data" } | { type: "upgrade" }>
  | { type: "data"; data: string }
  | { type: "upgrade"; rest: string };

/** What a run produced: the events, and the error (message and offset) if one was thrown. */
export interface Outcome {
  events: PlainEvent[];
  error: { message: string; offset: number | null } | null;
  state: string;
}

/** Options of {@linkcode drive}. */
export interface DriveOptions {
  /** The request methods of the responses, in order (default: GET for each). */
  methods?: string[];
  /** Whether the peer closes after the input (feedEnd). Default true. */
  end?: boolean;
  /** Parser limits. */
  limits?: Partial<ParserLimits>;
  /** Start no further response after one that ends with `keepAlive: false`. */
  stopAfterClose?: boolean;
}

/** Bytes of a Latin-1 string (one byte per char). */
export function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function text(data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i++) out += String.fromCharCode(data[i]);
  return out;
}

/**
 * Feeds `pieces` to a new parser, pulling every event after each piece, starting a new
 * response after each `end` while methods remain (GET forever when none given).
 */
export function drive(pieces: Uint8Array[], options: DriveOptions = {}): Outcome {
  const parser = new ResponseParser(options.limits);
  const methods = options.methods ? [...options.methods] : null;
  const events: PlainEvent[] = [];
  const push = (event: ResponseEvent): void => {
    if (event.type === "data") {
      assert.ok(event.data.length > 0, "data events are never empty");
      const last = events[events.length - 1];
      if (last?.type === "data") last.data += text(event.data);
      else events.push({ type: "data", data: text(event.data) });
    } else if (event.type === "upgrade") {
      events.push({ type: "upgrade", rest: text(event.rest) });
    } else {
      events.push(event);
    }
  };
  // Without a list of methods, a new GET response is started after each end only once
  // more bytes arrive (as a connection would when it sent another request).
  let waiting = false;
  let upgraded: { type: "upgrade"; rest: string } | null = null;
  const startNext = (): boolean => {
    if (methods === null) {
      waiting = true;
      return false;
    }
    const method = methods.shift();
    if (method === undefined) return false;
    parser.startResponse(method);
    return true;
  };
  const drain = (): void => {
    if (upgraded) {
      upgraded.rest += text(parser.takeBuffered());
      return;
    }
    if (waiting && parser.bufferedLength > 0) {
      waiting = false;
      parser.startResponse("GET");
    }
    let guard = 0;
    for (let event = parser.next(); event; event = parser.next()) {
      assert.ok(guard++ < 1_000_000, "the parser does not loop forever");
      if (event.type === "upgrade") {
        upgraded = { type: "upgrade", rest: text(event.rest) };
        events.push(upgraded);
      } else {
        push(event);
      }
      if (event.type === "end" && !event.keepAlive && options.stopAfterClose) return;
      if (event.type === "end" && !startNext()) {
        if (waiting && parser.bufferedLength > 0) return drain();
        return;
      }
    }
  };
  try {
    if (methods === null) parser.startResponse("GET");
    else startNext();
    for (const piece of pieces) {
      parser.feed(piece);
      drain();
    }
    if (options.end ?? true) {
      parser.feedEnd();
      drain();
    }
  } catch (error) {
    if (!(error instanceof RemoteProtocolError)) throw error;
    assert.equal(parser.state, "error");
    assert.throws(() => parser.next(), (again) => again === error, "errors are sticky");
    return { events, error: { message: error.message, offset: error.offset }, state: "error" };
  }
  return { events, error: null, state: parser.state };
}

/** Splits `data` into pieces at the given cut points. */
export function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const sorted = [...new Set(cuts.filter((cut) => cut > 0 && cut < data.length))].sort((a, b) =>
    a - b
  );
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of sorted) {
    pieces.push(data.subarray(start, cut));
    start = cut;
  }
  pieces.push(data.subarray(start));
  return pieces;
}

/**
 * Parses `input` whole and one byte at a time (and in two halves), checks that every way
 * gives the same outcome, and returns it.
 */
export function parse(input: string | Uint8Array, options: DriveOptions = {}): Outcome {
  const data = typeof input === "string" ? bytes(input) : input;
  const whole = drive([data], options);
  const trickled = drive(splitAt(data, Array.from({ length: data.length }, (_, i) => i)), options);
  assert.deepEqual(trickled, whole, "one byte at a time gives the same outcome as whole");
  const halves = drive(splitAt(data, [data.length >> 1]), options);
  assert.deepEqual(halves, whole, "two halves give the same outcome as whole");
  return whole;
}

/** Parses `input` (whole and trickled) and expects an error whose message matches. */
export function parseError(
  input: string | Uint8Array,
  pattern: RegExp,
  options: DriveOptions = {},
): { message: string; offset: number | null } {
  const outcome = parse(input, options);
  assert.ok(outcome.error, `expected an error matching ${pattern}, got none`);
  assert.match(outcome.error.message, pattern);
  return outcome.error;
}
