/**
 * The HTTP/2 frame parser (src/http2/_frames.ts): every frame type parsed the same whole,
 * one byte at a time and in random splits; each structural error is a typed
 * Http2ProtocolError with the RFC 9113 code (connection errors thrown, stream errors
 * reported with parsing going on).
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import {
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  ENHANCE_YOUR_CALM,
  FLOW_CONTROL_ERROR,
  FRAME_SIZE_ERROR,
  type FrameHandler,
  FrameParser,
  GOAWAY,
  HEADERS,
  Http2ProtocolError,
  PADDED,
  PING,
  PRIORITY,
  PRIORITY_FLAG,
  PROTOCOL_ERROR,
  PUSH_PROMISE,
  RST_STREAM,
  SETTINGS,
  WINDOW_UPDATE,
  writeFrameHead,
} from "../src/http2/_frames.ts";

function frame(type: number, flags: number, streamId: number, payload: number[] = []): number[] {
  const head = new Uint8Array(9);
  writeFrameHead(head, 0, payload.length, type, flags, streamId);
  return [...head, ...payload];
}

const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const setting = (id: number, value: number): number[] => [id >> 8, id & 0xff, ...u32(value)];
const SETTINGS_EMPTY = frame(SETTINGS, 0, 0);

/** A handler recording every call as a line of text. */
function recorder(): { handler: FrameHandler; events: string[] } {
  const events: string[] = [];
  const bytes = (data: Uint8Array): string => [...data].join(",");
  return {
    events,
    handler: {
      onData: (id, data, end, flow) =>
        void events.push(`DATA ${id} [${bytes(data)}] ${end} ${flow}`),
      onHeaders: (id, block, end) => void events.push(`HEADERS ${id} [${bytes(block)}] ${end}`),
      onPriority: (id) => void events.push(`PRIORITY ${id}`),
      onRstStream: (id, code) => void events.push(`RST_STREAM ${id} ${code}`),
      onSettings: (ack, settings) => void events.push(`SETTINGS ${ack} ${settings.join(",")}`),
      onPing: (ack, data) => void events.push(`PING ${ack} [${bytes(data)}]`),
      onGoaway: (last, code, debug) => void events.push(`GOAWAY ${last} ${code} [${bytes(debug)}]`),
      onWindowUpdate: (id, increment) => void events.push(`WINDOW_UPDATE ${id} ${increment}`),
      onStreamError: (id, code, message) =>
        void events.push(`STREAM_ERROR ${id} ${code} ${message}`),
    },
  };
}

const ALL_FRAMES = new Uint8Array([
  ...frame(SETTINGS, 0, 0, [...setting(3, 100), ...setting(4, 1 << 20), ...setting(0x99, 7)]),
  ...frame(SETTINGS, 1, 0),
  // HEADERS: padded (2 bytes) with priority fields, continued by two CONTINUATIONs.
  ...frame(HEADERS, PADDED | PRIORITY_FLAG, 1, [2, 0, 0, 0, 3, 16, 0x82, 0x84, 0, 0]),
  ...frame(CONTINUATION, 0, 1, [0x86]),
  ...frame(CONTINUATION, END_HEADERS, 1, [0x87]),
  ...frame(DATA, PADDED, 1, [3, 1, 2, 3, 0, 0, 0]),
  ...frame(DATA, END_STREAM, 1, [4, 5]),
  ...frame(HEADERS, END_HEADERS | END_STREAM, 3, [0x88]),
  ...frame(PRIORITY, 0, 5, [0, 0, 0, 1, 16]),
  ...frame(PRIORITY, 0, 5, [0, 0, 0]), // wrong length: a stream error, parsing goes on
  ...frame(RST_STREAM, 0, 3, u32(8)),
  ...frame(PING, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]),
  ...frame(PING, 1, 0, [8, 7, 6, 5, 4, 3, 2, 1]),
  ...frame(0x42, 0xff, 9, [1, 2, 3]), // an unknown type: ignored
  ...frame(WINDOW_UPDATE, 0, 0, u32(1000)),
  ...frame(WINDOW_UPDATE, 0, 1, u32(0x80000000 | 5)), // the reserved bit is ignored
  ...frame(WINDOW_UPDATE, 0, 7, u32(0)), // increment 0 on a stream: a stream error
  ...frame(DATA, 0, 1, []),
  ...frame(GOAWAY, 0, 0, [...u32(0x80000000 | 3), ...u32(2), 104, 105]),
]);

const EXPECTED = [
  "SETTINGS false 3,100,4,1048576,153,7",
  "SETTINGS true ",
  "HEADERS 1 [130,132,134,135] false",
  "DATA 1 [1,2,3] false 7",
  "DATA 1 [4,5] true 2",
  "HEADERS 3 [136] true",
  "PRIORITY 5",
  "STREAM_ERROR 5 6 PRIORITY frame on stream 5 is 3 bytes (expected 5)",
  "RST_STREAM 3 8",
  "PING false [1,2,3,4,5,6,7,8]",
  "PING true [8,7,6,5,4,3,2,1]",
  "WINDOW_UPDATE 0 1000",
  "WINDOW_UPDATE 1 5",
  `STREAM_ERROR 7 ${PROTOCOL_ERROR} WINDOW_UPDATE with increment 0 on stream 7`,
  "DATA 1 [] false 0",
  "GOAWAY 3 2 [104,105]",
];

test("HTTP/2 frames: every type parses the same whole, one byte at a time and in random splits", () => {
  const whole = recorder();
  new FrameParser(whole.handler).push(ALL_FRAMES);
  assert.deepEqual(whole.events, EXPECTED);

  const trickled = recorder();
  const parser = new FrameParser(trickled.handler);
  for (let i = 0; i < ALL_FRAMES.length; i++) parser.push(ALL_FRAMES.slice(i, i + 1));
  assert.deepEqual(trickled.events, EXPECTED);

  for (let round = 0; round < 50; round++) {
    const split = recorder();
    const parser = new FrameParser(split.handler);
    for (let at = 0; at < ALL_FRAMES.length;) {
      const size = 1 + Math.floor(Math.random() * 40);
      parser.push(ALL_FRAMES.slice(at, at + size));
      at += size;
    }
    assert.deepEqual(split.events, EXPECTED);
  }
});

test("HTTP/2 frames: a frame of exactly SETTINGS_MAX_FRAME_SIZE is accepted, across reads", () => {
  const { handler, events } = recorder();
  const parser = new FrameParser(handler);
  const payload = new Array(16384).fill(9);
  const bytes = new Uint8Array([...SETTINGS_EMPTY, ...frame(DATA, 0, 1, payload)]);
  parser.push(bytes.subarray(0, 5000));
  parser.push(bytes.subarray(5000));
  assert.equal(events.length, 2);
  assert.match(events[1], /^DATA 1 \[9,.*,9\] false 16384$/);
});

/** Connection errors: [what, frames after the first SETTINGS, code, message]. */
const CONNECTION_ERRORS: [string, number[], number, RegExp][] = [
  [
    "frame over the maximum size",
    frame(DATA, 0, 1, new Array(16385).fill(0)),
    FRAME_SIZE_ERROR,
    /16385 bytes, over SETTINGS_MAX_FRAME_SIZE 16384/,
  ],
  ["DATA on stream 0", frame(DATA, 0, 0, [1]), PROTOCOL_ERROR, /DATA frame on stream 0/],
  [
    "DATA padding too long",
    frame(DATA, PADDED, 1, [3, 1, 2]),
    PROTOCOL_ERROR,
    /3 bytes of padding in a 3-byte payload/,
  ],
  ["DATA padded but empty", frame(DATA, PADDED, 1, []), FRAME_SIZE_ERROR, /PADDED but empty/],
  [
    "HEADERS on stream 0",
    frame(HEADERS, END_HEADERS, 0, [0x82]),
    PROTOCOL_ERROR,
    /HEADERS frame on stream 0/,
  ],
  [
    "HEADERS padding too long",
    frame(HEADERS, END_HEADERS | PADDED, 1, [5, 0x82]),
    PROTOCOL_ERROR,
    /5 bytes of padding/,
  ],
  [
    "HEADERS priority cut",
    frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 1, [0, 0]),
    FRAME_SIZE_ERROR,
    /too short for its priority/,
  ],
  [
    "CONTINUATION without HEADERS",
    frame(CONTINUATION, END_HEADERS, 1, [0x82]),
    PROTOCOL_ERROR,
    /CONTINUATION frame on stream 1 without a header block/,
  ],
  [
    "another frame inside a header block",
    [...frame(HEADERS, 0, 1, [0x82]), ...frame(DATA, 0, 1, [1])],
    PROTOCOL_ERROR,
    /DATA frame on stream 1 inside the header block of stream 1/,
  ],
  [
    "CONTINUATION on another stream",
    [...frame(HEADERS, 0, 1, [0x82]), ...frame(CONTINUATION, END_HEADERS, 3, [0x82])],
    PROTOCOL_ERROR,
    /CONTINUATION frame on stream 3 inside the header block of stream 1/,
  ],
  [
    "PRIORITY on stream 0",
    frame(PRIORITY, 0, 0, [0, 0, 0, 1, 1]),
    PROTOCOL_ERROR,
    /PRIORITY frame on stream 0/,
  ],
  [
    "RST_STREAM on stream 0",
    frame(RST_STREAM, 0, 0, u32(0)),
    PROTOCOL_ERROR,
    /RST_STREAM frame on stream 0/,
  ],
  [
    "RST_STREAM of 3 bytes",
    frame(RST_STREAM, 0, 1, [0, 0, 0]),
    FRAME_SIZE_ERROR,
    /RST_STREAM frame is 3 bytes \(expected 4\)/,
  ],
  ["SETTINGS on a stream", frame(SETTINGS, 0, 1), PROTOCOL_ERROR, /SETTINGS frame on stream 1/],
  [
    "SETTINGS ACK with a payload",
    frame(SETTINGS, 1, 0, setting(3, 1)),
    FRAME_SIZE_ERROR,
    /SETTINGS ACK frame is 6 bytes/,
  ],
  [
    "SETTINGS of 5 bytes",
    frame(SETTINGS, 0, 0, [0, 3, 0, 0, 0]),
    FRAME_SIZE_ERROR,
    /a multiple of 6/,
  ],
  [
    "ENABLE_PUSH 2",
    frame(SETTINGS, 0, 0, setting(2, 2)),
    PROTOCOL_ERROR,
    /SETTINGS_ENABLE_PUSH is 2/,
  ],
  [
    "INITIAL_WINDOW_SIZE 2^31",
    frame(SETTINGS, 0, 0, setting(4, 2 ** 31)),
    FLOW_CONTROL_ERROR,
    /SETTINGS_INITIAL_WINDOW_SIZE is 2147483648/,
  ],
  [
    "MAX_FRAME_SIZE too small",
    frame(SETTINGS, 0, 0, setting(5, 16383)),
    PROTOCOL_ERROR,
    /SETTINGS_MAX_FRAME_SIZE is 16383/,
  ],
  [
    "MAX_FRAME_SIZE too large",
    frame(SETTINGS, 0, 0, setting(5, 2 ** 24)),
    PROTOCOL_ERROR,
    /SETTINGS_MAX_FRAME_SIZE is 16777216/,
  ],
  [
    "PUSH_PROMISE",
    frame(PUSH_PROMISE, END_HEADERS, 1, [0, 0, 0, 2, 0x82]),
    PROTOCOL_ERROR,
    /PUSH_PROMISE frame on stream 1 \(push is disabled\)/,
  ],
  [
    "PING on a stream",
    frame(PING, 0, 1, new Array(8).fill(0)),
    PROTOCOL_ERROR,
    /PING frame on stream 1/,
  ],
  [
    "PING of 7 bytes",
    frame(PING, 0, 0, new Array(7).fill(0)),
    FRAME_SIZE_ERROR,
    /PING frame is 7 bytes \(expected 8\)/,
  ],
  [
    "GOAWAY on a stream",
    frame(GOAWAY, 0, 1, new Array(8).fill(0)),
    PROTOCOL_ERROR,
    /GOAWAY frame on stream 1/,
  ],
  [
    "GOAWAY of 7 bytes",
    frame(GOAWAY, 0, 0, new Array(7).fill(0)),
    FRAME_SIZE_ERROR,
    /GOAWAY frame is 7 bytes/,
  ],
  [
    "WINDOW_UPDATE of 3 bytes",
    frame(WINDOW_UPDATE, 0, 0, [0, 0, 1]),
    FRAME_SIZE_ERROR,
    /WINDOW_UPDATE frame is 3 bytes/,
  ],
  [
    "WINDOW_UPDATE 0 on the connection",
    frame(WINDOW_UPDATE, 0, 0, u32(0)),
    PROTOCOL_ERROR,
    /WINDOW_UPDATE with increment 0 on stream 0/,
  ],
];

test("HTTP/2 frames: each connection error is thrown typed, whole and trickled", () => {
  for (const [what, bytes, code, message] of CONNECTION_ERRORS) {
    for (const trickle of [false, true]) {
      const { handler } = recorder();
      const parser = new FrameParser(handler);
      const all = new Uint8Array([...SETTINGS_EMPTY, ...bytes]);
      assert.throws(
        () => {
          if (!trickle) return parser.push(all);
          for (let i = 0; i < all.length; i++) parser.push(all.slice(i, i + 1));
        },
        (error: unknown) => {
          assert.ok(error instanceof Http2ProtocolError, `${what}: ${error}`);
          assert.equal(error.code, code, what);
          assert.equal(error.streamId, 0, what);
          assert.match(error.message, message, what);
          return true;
        },
        `${what} (${trickle ? "trickled" : "whole"})`,
      );
    }
  }
});

test("HTTP/2 frames: the first frame must be SETTINGS; a header block has a size limit", () => {
  for (const first of [frame(PING, 0, 0, new Array(8).fill(0)), frame(SETTINGS, 1, 0)]) {
    assert.throws(
      () => new FrameParser(recorder().handler).push(new Uint8Array(first)),
      (error: unknown) =>
        error instanceof Http2ProtocolError && error.code === PROTOCOL_ERROR &&
        /preface is not a SETTINGS frame/.test(error.message),
    );
  }
  const parser = new FrameParser(recorder().handler, { maxHeaderBlock: 100 });
  parser.push(
    new Uint8Array([...SETTINGS_EMPTY, ...frame(HEADERS, 0, 1, new Array(60).fill(0x82))]),
  );
  assert.throws(
    () => parser.push(new Uint8Array(frame(CONTINUATION, 0, 1, new Array(60).fill(0x82)))),
    (error: unknown) =>
      error instanceof Http2ProtocolError && error.code === ENHANCE_YOUR_CALM &&
      /header block on stream 1 exceeds 100 bytes/.test(error.message),
  );
  assert.equal(parser.inHeaderBlock, true);
});

test("HTTP/2 frames: a header block takes a bounded number of CONTINUATION frames (the empty-frame flood)", () => {
  // Empty CONTINUATIONs add no bytes, so the size limit never trips: without a count a server
  // could send them for ever (one held fragment each: ~150 MB a second measured here).
  const parser = new FrameParser(recorder().handler, { maxContinuations: 3 });
  parser.push(new Uint8Array([...SETTINGS_EMPTY, ...frame(HEADERS, 0, 1, [0x88])]));
  parser.push(new Uint8Array([...frame(CONTINUATION, 0, 1), ...frame(CONTINUATION, 0, 1)]));
  parser.push(new Uint8Array(frame(CONTINUATION, 0, 1)));
  assert.throws(
    () => parser.push(new Uint8Array(frame(CONTINUATION, 0, 1))),
    (error: unknown) =>
      error instanceof Http2ProtocolError && error.code === ENHANCE_YOUR_CALM &&
      /more than 3 CONTINUATION frames/.test(error.message),
  );
  // The count is per block: a block within it parses (empty fragments add nothing), and the
  // default allows 8 at least.
  const { handler, events } = recorder();
  const fresh = new FrameParser(handler);
  const continued = (id: number): number[] => {
    const frames: number[] = [];
    for (let i = 0; i < 7; i++) frames.push(...frame(CONTINUATION, 0, id));
    return frames;
  };
  fresh.push(
    new Uint8Array([
      ...SETTINGS_EMPTY,
      ...frame(HEADERS, 0, 1, [0x88]),
      ...continued(1),
      ...frame(CONTINUATION, END_HEADERS, 1, [0x86]),
      ...frame(HEADERS, 0, 3, [0x88]),
      ...continued(3),
      ...frame(CONTINUATION, END_HEADERS, 3),
    ]),
  );
  assert.deepEqual(events.slice(1), ["HEADERS 1 [136,134] false", "HEADERS 3 [136] false"]);
});
