/**
 * HPACK (src/http2/_hpack.ts): the examples of RFC 7541 Appendix C (C.2 to C.6) decoded
 * whole and trickled (each block split into one-byte CONTINUATION frames, fed to the frame
 * parser one byte at a time), the dynamic table's size and eviction, Huffman both ways,
 * the encoder, and every error path (each a COMPRESSION_ERROR naming what).
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import {
  decodeHuffman,
  encodeHuffman,
  HpackDecoder,
  HpackEncoder,
  writeInteger,
} from "../src/http2/_hpack.ts";
import {
  COMPRESSION_ERROR,
  CONTINUATION,
  END_HEADERS,
  type FrameHandler,
  FrameParser,
  HEADERS,
  Http2ProtocolError,
  SETTINGS,
  writeFrameHead,
} from "../src/http2/_frames.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

type Fields = [string, string][];

interface Example {
  section: string;
  block: string;
  fields: Fields;
  /** The dynamic table after the block, newest first. */
  table: Fields;
  size: number;
}

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const REQ1: Fields = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [
  ":authority",
  "www.example.com",
]];
const REQ2: Fields = [...REQ1, ["cache-control", "no-cache"]];
const REQ3: Fields = [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [
  ":authority",
  "www.example.com",
], ["custom-key", "custom-value"]];
const TABLE_REQ3: Fields = [["custom-key", "custom-value"], ["cache-control", "no-cache"], [
  ":authority",
  "www.example.com",
]];
const RES1: Fields = [[":status", "302"], ["cache-control", "private"], ["date", DATE1], [
  "location",
  "https://www.example.com",
]];
const RES2: Fields = [[":status", "307"], ["cache-control", "private"], ["date", DATE1], [
  "location",
  "https://www.example.com",
]];
const RES3: Fields = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", DATE2],
  [
    "location",
    "https://www.example.com",
  ],
  ["content-encoding", "gzip"],
  ["set-cookie", COOKIE],
];
const TABLE_RES1: Fields = [["location", "https://www.example.com"], ["date", DATE1], [
  "cache-control",
  "private",
], [":status", "302"]];
const TABLE_RES2: Fields = [[":status", "307"], ["location", "https://www.example.com"], [
  "date",
  DATE1,
], ["cache-control", "private"]];
const TABLE_RES3: Fields = [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE2]];

/** Each sequence shares one decoder (table size in the first element). */
const SEQUENCES: [number, Example[]][] = [
  [4096, [{
    section: "C.2.1",
    block: "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
    fields: [["custom-key", "custom-header"]],
    table: [["custom-key", "custom-header"]],
    size: 55,
  }]],
  [4096, [{
    section: "C.2.2",
    block: "040c2f73616d706c652f70617468",
    fields: [[":path", "/sample/path"]],
    table: [],
    size: 0,
  }]],
  [4096, [{
    section: "C.2.3",
    block: "100870617373776f726406736563726574",
    fields: [["password", "secret"]],
    table: [],
    size: 0,
  }]],
  [4096, [{ section: "C.2.4", block: "82", fields: [[":method", "GET"]], table: [], size: 0 }]],
  [4096, [
    {
      section: "C.3.1",
      block: "828684410f7777772e6578616d706c652e636f6d",
      fields: REQ1,
      table: [[":authority", "www.example.com"]],
      size: 57,
    },
    {
      section: "C.3.2",
      block: "828684be58086e6f2d6361636865",
      fields: REQ2,
      table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
      size: 110,
    },
    {
      section: "C.3.3",
      block: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
      fields: REQ3,
      table: TABLE_REQ3,
      size: 164,
    },
  ]],
  [4096, [
    {
      section: "C.4.1",
      block: "828684418cf1e3c2e5f23a6ba0ab90f4ff",
      fields: REQ1,
      table: [[":authority", "www.example.com"]],
      size: 57,
    },
    {
      section: "C.4.2",
      block: "828684be5886a8eb10649cbf",
      fields: REQ2,
      table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
      size: 110,
    },
    {
      section: "C.4.3",
      block: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
      fields: REQ3,
      table: TABLE_REQ3,
      size: 164,
    },
  ]],
  [256, [
    {
      section: "C.5.1",
      block: "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a" +
        "323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
      fields: RES1,
      table: TABLE_RES1,
      size: 222,
    },
    { section: "C.5.2", block: "4803333037c1c0bf", fields: RES2, table: TABLE_RES2, size: 222 },
    {
      section: "C.5.3",
      block: "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69" +
        "707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d" +
        "6167653d333630303b2076657273696f6e3d31",
      fields: RES3,
      table: TABLE_RES3,
      size: 215,
    },
  ]],
  [256, [
    {
      section: "C.6.1",
      block: "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29" +
        "ad171863c78f0b97c8e9ae82ae43d3",
      fields: RES1,
      table: TABLE_RES1,
      size: 222,
    },
    { section: "C.6.2", block: "4883640effc1c0bf", fields: RES2, table: TABLE_RES2, size: 222 },
    {
      section: "C.6.3",
      block: "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7" +
        "f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
      fields: RES3,
      table: TABLE_RES3,
      size: 215,
    },
  ]],
];

test("HPACK: RFC 7541 Appendix C examples (C.2 to C.6) decode whole, with the table after each", () => {
  for (const [tableSize, examples] of SEQUENCES) {
    const decoder = new HpackDecoder(tableSize);
    for (const example of examples) {
      assert.deepEqual(decoder.decode(hex(example.block)), example.fields, example.section);
      assert.deepEqual(decoder.table, example.table, `${example.section} table`);
      assert.equal(decoder.tableSize, example.size, `${example.section} table size`);
    }
  }
});

/** Collects the header blocks a frame parser reports. */
function blockCollector(): { handler: FrameHandler; blocks: Uint8Array[] } {
  const blocks: Uint8Array[] = [];
  const unexpected = (): never => {
    throw new Error("unexpected frame");
  };
  return {
    blocks,
    handler: {
      onHeaders: (_id, block) => void blocks.push(block.slice()),
      onSettings: () => {},
      onData: unexpected,
      onPriority: unexpected,
      onRstStream: unexpected,
      onPing: unexpected,
      onGoaway: unexpected,
      onWindowUpdate: unexpected,
      onStreamError: unexpected,
    },
  };
}

/** A SETTINGS frame, then `block` as a HEADERS frame with one-byte CONTINUATION frames. */
function trickledFrames(block: Uint8Array): Uint8Array {
  const frames: number[] = [0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
  for (let i = 0; i < block.length; i++) {
    const head = new Uint8Array(9);
    const last = i === block.length - 1;
    writeFrameHead(head, 0, 1, i === 0 ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, 1);
    frames.push(...head, block[i]);
  }
  return new Uint8Array(frames);
}

test("HPACK: the same examples split into one-byte CONTINUATION frames, fed one byte at a time", () => {
  for (const [tableSize, examples] of SEQUENCES) {
    const decoder = new HpackDecoder(tableSize);
    for (const example of examples) {
      const { handler, blocks } = blockCollector();
      // One frame a byte is far over the CONTINUATION count a session accepts: lifted here.
      const parser = new FrameParser(handler, { maxContinuations: Infinity });
      const bytes = trickledFrames(hex(example.block));
      for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
      assert.equal(blocks.length, 1, example.section);
      assert.deepEqual(blocks[0], hex(example.block), example.section);
      assert.deepEqual(decoder.decode(blocks[0]), example.fields, example.section);
      assert.equal(decoder.tableSize, example.size, example.section);
    }
  }
});

test("HPACK: table size updates evict, a too-large entry empties the table", () => {
  const decoder = new HpackDecoder();
  decoder.decode(hex("828684410f7777772e6578616d706c652e636f6d")); // C.3.1: 57 bytes
  assert.equal(decoder.tableSize, 57);
  // Size update to 0 at the start of a block: the table empties.
  assert.deepEqual(decoder.decode(hex("2082")), [[":method", "GET"]]);
  assert.deepEqual(decoder.table, []);
  // Back to 4096 (0x3f e1 1f), then an entry: it is kept.
  decoder.decode(hex("3fe11f 400a637573746f6d2d6b65790d637573746f6d2d686561646572"));
  assert.equal(decoder.tableSize, 55);
  // Limit 60: inserting a second entry evicts the first.
  decoder.decode(hex("3f1d 4001610162")); // 60; a: b (34 bytes)
  assert.deepEqual(decoder.table, [["a", "b"]]);
  assert.equal(decoder.tableSize, 34);
  // An entry larger than the limit empties the table and is not added.
  const long = "x".repeat(40);
  const block = new Uint8Array([0x40, 0x01, 0x6b, 40, ...new TextEncoder().encode(long)]);
  assert.deepEqual(decoder.decode(block), [["k", long]]);
  assert.deepEqual(decoder.table, []);
  assert.equal(decoder.tableSize, 0);
});

test("HPACK: Huffman coding round-trips every octet; RFC 7541 C.4.1's string", () => {
  assert.deepEqual(encodeHuffman("www.example.com"), hex("f1e3c2e5f23a6ba0ab90f4ff"));
  let all = "";
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  for (const text of [all, "", "a", "no-cache", all.split("").reverse().join("")]) {
    const coded = encodeHuffman(text);
    assert.equal(decodeHuffman(coded, 0, coded.length), text);
  }
});

test("HPACK: the encoder indexes static fields, refers to static names, and round-trips", () => {
  const encoder = new HpackEncoder();
  const fields: Fields = [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/search?q=1"],
    [":authority", "example.com"],
    ["accept-encoding", "gzip, deflate"],
    ["user-agent", "ferry"],
    ["x-long", "v".repeat(300)],
  ];
  const block = encoder.encode(fields);
  assert.equal(block[0], 0x82); // :method GET, indexed
  assert.equal(block[1], 0x87); // :scheme https, indexed
  assert.equal(block[2], 0x04); // :path, static name 4, without indexing
  assert.deepEqual(new HpackDecoder().decode(block), fields);
  assert.ok(block.length <= HpackEncoder.maxLength(fields));
  // Integers with continuation bytes (RFC 7541 C.1.2: 1337 with a 5-bit prefix).
  const out = new Uint8Array(4);
  assert.equal(writeInteger(out, 0, 1337, 5, 0), 3);
  assert.deepEqual(out.subarray(0, 3), hex("1f9a0a"));
});

const BAD: [string, string, RegExp][] = [
  ["indexed field 0", "80", /indexed field with index 0/],
  ["index beyond the tables", "be", /index 62 beyond the tables \(61 static, 0 dynamic/],
  ["literal name index beyond the tables", "7f0001 61", /index 63 beyond/],
  ["Huffman EOS", "000161 84 ffffffff", /Huffman string contains EOS/],
  ["Huffman padding of zeros", "000161 81 18", /invalid padding/],
  ["Huffman padding of 8 bits or more", "000161 82 1fff", /invalid padding/],
  ["integer over 2^31-1", "3fffffffff0f", /integer \d+ over 2\^31-1/],
  ["integer with too many continuation bytes", "3f808080808001", /longer than 5 continuation/],
  ["integer cut short", "3f80", /integer cut short/],
  ["table size over the limit", "3fe21f", /size update to 4097, over the limit 4096/],
  ["table size update after a field", "8220", /size update after a field/],
  ["string cut short", "4005 61", /string literal of 5 bytes cut short/],
  ["string missing", "40", /string literal missing/],
  ["value missing", "400161", /string literal missing/],
];

test("HPACK: bad input is a COMPRESSION_ERROR naming what and where", () => {
  for (const [what, block, message] of BAD) {
    assert.throws(
      () => new HpackDecoder().decode(hex(block)),
      (error: unknown) => {
        assert.ok(error instanceof Http2ProtocolError, `${what}: ${error}`);
        assert.equal(error.code, COMPRESSION_ERROR, what);
        assert.equal(error.streamId, 0, what);
        assert.match(error.message, message, what);
        assert.match(error.message, /^HPACK: .* \(at byte \d+\)$/, what);
        return true;
      },
      what,
    );
  }
});
