/**
 * HPACK (RFC 7541), sans-IO: a {@linkcode HpackDecoder} with the dynamic table and
 * table-driven Huffman decoding, and a {@linkcode HpackEncoder} for request heads.
 *
 * Decoding: a header block is decoded whole (the frame layer joins HEADERS and
 * CONTINUATION first). Huffman strings are decoded four bits at a time through a
 * 256-state table built once from the code table (RFC 7541 Appendix B). Every violation
 * (an index outside the tables, a bad Huffman padding or an EOS symbol, an integer that
 * does not fit, a table size update above the limit or out of place, a block cut short)
 * throws {@linkcode Http2ProtocolError} with `COMPRESSION_ERROR`, naming what and where.
 *
 * Encoding: fields of the static table are indexed, names of the static table are
 * referenced, everything else is sent as a literal without indexing, without Huffman
 * (measured on a 7-field head: 105 bytes in about 2 µs; Huffman-coding its values saves 22
 * bytes for about 5 µs more with `encodeHuffman`'s bit-wise coder; see the README). The encoder never inserts into the peer's dynamic table, so
 * the peer's `SETTINGS_HEADER_TABLE_SIZE` does not concern it.
 *
 * @module
 */

import { COMPRESSION_ERROR, Http2ProtocolError } from "./_frames.ts";

/** RFC 7541 Appendix B: the code of each symbol (0-255, 256 is EOS), right-aligned. */
const HUFFMAN_CODES = new Uint32Array([
  0x1ff8,
  0x7fffd8,
  0xfffffe2,
  0xfffffe3,
  0xfffffe4,
  0xfffffe5,
  0xfffffe6,
  0xfffffe7,
  0xfffffe8,
  0xffffea,
  0x3ffffffc,
  0xfffffe9,
  0xfffffea,
  0x3ffffffd,
  0xfffffeb,
  0xfffffec,
  0xfffffed,
  0xfffffee,
  0xfffffef,
  0xffffff0,
  0xffffff1,
  0xffffff2,
  0x3ffffffe,
  0xffffff3,
  0xffffff4,
  0xffffff5,
  0xffffff6,
  0xffffff7,
  0xffffff8,
  0xffffff9,
  0xffffffa,
  0xffffffb,
  0x14,
  0x3f8,
  0x3f9,
  0xffa,
  0x1ff9,
  0x15,
  0xf8,
  0x7fa,
  0x3fa,
  0x3fb,
  0xf9,
  0x7fb,
  0xfa,
  0x16,
  0x17,
  0x18,
  0x0,
  0x1,
  0x2,
  0x19,
  0x1a,
  0x1b,
  0x1c,
  0x1d,
  0x1e,
  0x1f,
  0x5c,
  0xfb,
  0x7ffc,
  0x20,
  0xffb,
  0x3fc,
  0x1ffa,
  0x21,
  0x5d,
  0x5e,
  0x5f,
  0x60,
  0x61,
  0x62,
  0x63,
  0x64,
  0x65,
  0x66,
  0x67,
  0x68,
  0x69,
  0x6a,
  0x6b,
  0x6c,
  0x6d,
  0x6e,
  0x6f,
  0x70,
  0x71,
  0x72,
  0xfc,
  0x73,
  0xfd,
  0x1ffb,
  0x7fff0,
  0x1ffc,
  0x3ffc,
  0x22,
  0x7ffd,
  0x3,
  0x23,
  0x4,
  0x24,
  0x5,
  0x25,
  0x26,
  0x27,
  0x6,
  0x74,
  0x75,
  0x28,
  0x29,
  0x2a,
  0x7,
  0x2b,
  0x76,
  0x2c,
  0x8,
  0x9,
  0x2d,
  0x77,
  0x78,
  0x79,
  0x7a,
  0x7b,
  0x7ffe,
  0x7fc,
  0x3ffd,
  0x1ffd,
  0xffffffc,
  0xfffe6,
  0x3fffd2,
  0xfffe7,
  0xfffe8,
  0x3fffd3,
  0x3fffd4,
  0x3fffd5,
  0x7fffd9,
  0x3fffd6,
  0x7fffda,
  0x7fffdb,
  0x7fffdc,
  0x7fffdd,
  0x7fffde,
  0xffffeb,
  0x7fffdf,
  0xffffec,
  0xffffed,
  0x3fffd7,
  0x7fffe0,
  0xffffee,
  0x7fffe1,
  0x7fffe2,
  0x7fffe3,
  0x7fffe4,
  0x1fffdc,
  0x3fffd8,
  0x7fffe5,
  0x3fffd9,
  0x7fffe6,
  0x7fffe7,
  0xffffef,
  0x3fffda,
  0x1fffdd,
  0xfffe9,
  0x3fffdb,
  0x3fffdc,
  0x7fffe8,
  0x7fffe9,
  0x1fffde,
  0x7fffea,
  0x3fffdd,
  0x3fffde,
  0xfffff0,
  0x1fffdf,
  0x3fffdf,
  0x7fffeb,
  0x7fffec,
  0x1fffe0,
  0x1fffe1,
  0x3fffe0,
  0x1fffe2,
  0x7fffed,
  0x3fffe1,
  0x7fffee,
  0x7fffef,
  0xfffea,
  0x3fffe2,
  0x3fffe3,
  0x3fffe4,
  0x7ffff0,
  0x3fffe5,
  0x3fffe6,
  0x7ffff1,
  0x3ffffe0,
  0x3ffffe1,
  0xfffeb,
  0x7fff1,
  0x3fffe7,
  0x7ffff2,
  0x3fffe8,
  0x1ffffec,
  0x3ffffe2,
  0x3ffffe3,
  0x3ffffe4,
  0x7ffffde,
  0x7ffffdf,
  0x3ffffe5,
  0xfffff1,
  0x1ffffed,
  0x7fff2,
  0x1fffe3,
  0x3ffffe6,
  0x7ffffe0,
  0x7ffffe1,
  0x3ffffe7,
  0x7ffffe2,
  0xfffff2,
  0x1fffe4,
  0x1fffe5,
  0x3ffffe8,
  0x3ffffe9,
  0xffffffd,
  0x7ffffe3,
  0x7ffffe4,
  0x7ffffe5,
  0xfffec,
  0xfffff3,
  0xfffed,
  0x1fffe6,
  0x3fffe9,
  0x1fffe7,
  0x1fffe8,
  0x7ffff3,
  0x3fffea,
  0x3fffeb,
  0x1ffffee,
  0x1ffffef,
  0xfffff4,
  0xfffff5,
  0x3ffffea,
  0x7ffff4,
  0x3ffffeb,
  0x7ffffe6,
  0x3ffffec,
  0x3ffffed,
  0x7ffffe7,
  0x7ffffe8,
  0x7ffffe9,
  0x7ffffea,
  0x7ffffeb,
  0xffffffe,
  0x7ffffec,
  0x7ffffed,
  0x7ffffee,
  0x7ffffef,
  0x7fffff0,
  0x3ffffee,
  0x3fffffff,
]);

/** RFC 7541 Appendix B: the length in bits of each symbol's code. */
const HUFFMAN_LENGTHS = new Uint8Array([
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  30,
]);

/** The static table (RFC 7541 Appendix A), index 1 first. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = STATIC_TABLE.length; // 61

/** The default (and Ferry's advertised) SETTINGS_HEADER_TABLE_SIZE. */
export const DEFAULT_TABLE_SIZE = 4096;

/** An entry's size in the dynamic table (RFC 7541 section 4.1): its octets plus 32. */
function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

// -----------------------------------------------------------------------------------------
// Huffman decoding: a state machine over 4-bit steps. The states are the 256 inner nodes
// of the code tree (0 is the root). For each state and nibble, `NEXT` is the state after
// the four bits and `SYMBOL` the symbol completed on the way (-1: none, -2: EOS, an
// error). A string may end only in a state reached from the root by fewer than 8 one
// bits (`ACCEPT`): the padding is the start of EOS and shorter than a byte.

const NO_SYMBOL = -1;
const EOS_SYMBOL = -2;
let NEXT: Uint8Array | null = null;
let SYMBOL: Int16Array | null = null;
let ACCEPT: Uint8Array | null = null;

function buildHuffmanTables(): void {
  // The tree: inner nodes 0..255, children as node ids; leaves as ~symbol.
  const left: number[] = [0];
  const right: number[] = [0];
  let nodes = 1;
  for (let symbol = 0; symbol <= 256; symbol++) {
    const code = HUFFMAN_CODES[symbol];
    const length = HUFFMAN_LENGTHS[symbol];
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const one = ((code >>> bit) & 1) === 1;
      const children = one ? right : left;
      if (bit === 0) {
        children[node] = ~symbol;
      } else {
        if (children[node] === 0) {
          children[node] = nodes;
          left.push(0);
          right.push(0);
          nodes++;
        }
        node = children[node];
      }
    }
  }
  // Nodes reached from the root by one bits only, fewer than 8.
  const accept = new Uint8Array(nodes);
  accept[0] = 1;
  for (let node = 0, depth = 0; depth < 7; depth++) {
    node = right[node];
    accept[node] = 1;
  }
  const next = new Uint8Array(nodes * 16);
  const symbols = new Int16Array(nodes * 16).fill(NO_SYMBOL);
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let emitted = NO_SYMBOL;
      for (let bit = 3; bit >= 0; bit--) {
        const child = ((nibble >>> bit) & 1) === 1 ? right[node] : left[node];
        if (child < 0) {
          const symbol = ~child;
          emitted = symbol === 256 ? EOS_SYMBOL : symbol;
          node = 0;
          if (symbol === 256) break;
        } else node = child;
      }
      next[state * 16 + nibble] = node;
      symbols[state * 16 + nibble] = emitted;
    }
  }
  NEXT = next;
  SYMBOL = symbols;
  ACCEPT = accept;
}

let huffmanScratch = new Uint8Array(256);

/** Decodes the Huffman-coded string in `bytes[start, end)` to a string of octets. */
export function decodeHuffman(bytes: Uint8Array, start: number, end: number): string {
  if (NEXT === null) buildHuffmanTables();
  const next = NEXT!;
  const symbols = SYMBOL!;
  // Each symbol takes at least 5 bits.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (huffmanScratch.length < most) huffmanScratch = new Uint8Array(most * 2);
  const out = huffmanScratch;
  let count = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    let index = (state << 4) | (byte >>> 4);
    let symbol = symbols[index];
    if (symbol >= 0) out[count++] = symbol;
    else if (symbol === EOS_SYMBOL) throw hpackError("Huffman string contains EOS", i);
    state = next[index];
    index = (state << 4) | (byte & 0xf);
    symbol = symbols[index];
    if (symbol >= 0) out[count++] = symbol;
    else if (symbol === EOS_SYMBOL) throw hpackError("Huffman string contains EOS", i);
    state = next[index];
  }
  if (ACCEPT![state] !== 1) {
    throw hpackError(
      "Huffman string has invalid padding (not the start of EOS, or 8 bits or more)",
      end,
    );
  }
  return octets(out, 0, count);
}

/** The Huffman code of `text` (octets), for tests and for measuring. */
export function encodeHuffman(text: string): Uint8Array {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += HUFFMAN_LENGTHS[text.charCodeAt(i) & 0xff];
  const out = new Uint8Array(Math.ceil(bits / 8));
  let at = 0;
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    const length = HUFFMAN_LENGTHS[symbol];
    const code = HUFFMAN_CODES[symbol];
    for (let bit = length - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((code >>> bit) & 1);
      if (++accBits === 8) {
        out[at++] = acc;
        acc = 0;
        accBits = 0;
      }
    }
  }
  if (accBits > 0) out[at] = (acc << (8 - accBits)) | (0xff >>> accBits);
  return out;
}

/** `bytes[start, end)` as a string of octets (latin1). */
function octets(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return "";
  if (length <= 16) {
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
  if (length <= 8192) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let text = "";
  for (let i = start; i < end; i += 8192) {
    text += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return text;
}

function hpackError(message: string, at: number): Http2ProtocolError {
  return new Http2ProtocolError(COMPRESSION_ERROR, `HPACK: ${message} (at byte ${at})`);
}

// -----------------------------------------------------------------------------------------
// Decoding.

/**
 * Decodes header blocks (RFC 7541), keeping the dynamic table across blocks of one
 * connection.
 *
 * @example RFC 7541 C.2.1
 * ```ts ignore
 * const decoder = new HpackDecoder();
 * decoder.decode(new Uint8Array([0x40, 0x0a, ...])); // [["custom-key", "custom-header"]]
 * ```
 */
export class HpackDecoder {
  /** The most the peer may set the table to (our SETTINGS_HEADER_TABLE_SIZE). */
  #maxSize: number;
  /** The table's current size limit (set by the peer's size updates). */
  #limit: number;
  #size = 0;
  /** Entries, oldest first, from `#first` on. */
  #names: string[] = [];
  #values: string[] = [];
  #first = 0;
  #at = 0;

  /** A decoder whose table may hold at most `maxTableSize` bytes (default 4096). */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
  }

  /** The dynamic table's entries, newest first (for tests). */
  get table(): [string, string][] {
    const entries: [string, string][] = [];
    for (let i = this.#names.length - 1; i >= this.#first; i--) {
      entries.push([this.#names[i], this.#values[i]]);
    }
    return entries;
  }

  /** The dynamic table's size in bytes (RFC 7541 section 4.1). */
  get tableSize(): number {
    return this.#size;
  }

  /**
   * Decodes one complete header block into `[name, value]` pairs, in order, updating the
   * dynamic table. Throws {@linkcode Http2ProtocolError} (`COMPRESSION_ERROR`) on bad
   * input; the decoder is unusable afterwards (the connection must end).
   */
  decode(block: Uint8Array): [string, string][] {
    const fields: [string, string][] = [];
    const end = block.length;
    this.#at = 0;
    let sawField = false;
    while (this.#at < end) {
      const at = this.#at;
      const byte = block[at];
      if (byte >= 0x80) {
        // Indexed field (section 6.1).
        const index = this.#integer(block, 7);
        if (index === 0) throw hpackError("indexed field with index 0", at);
        fields.push(this.#entry(index, at));
        sawField = true;
      } else if (byte >= 0x40) {
        // Literal with incremental indexing (section 6.2.1).
        const index = this.#integer(block, 6);
        const name = index === 0 ? this.#string(block) : this.#entry(index, at)[0];
        const value = this.#string(block);
        fields.push([name, value]);
        this.#insert(name, value);
        sawField = true;
      } else if (byte >= 0x20) {
        // Dynamic table size update (section 6.3): only before the first field.
        if (sawField) throw hpackError("dynamic table size update after a field", at);
        const size = this.#integer(block, 5);
        if (size > this.#maxSize) {
          throw hpackError(
            `dynamic table size update to ${size}, over the limit ${this.#maxSize}`,
            at,
          );
        }
        this.#limit = size;
        this.#evict(0);
      } else {
        // Literal without indexing or never indexed (sections 6.2.2, 6.2.3).
        const index = this.#integer(block, 4);
        const name = index === 0 ? this.#string(block) : this.#entry(index, at)[0];
        const value = this.#string(block);
        fields.push([name, value]);
        sawField = true;
      }
    }
    return fields;
  }

  /** An integer with an `prefix`-bit prefix at `#at` (section 5.1). */
  #integer(block: Uint8Array, prefix: number): number {
    const start = this.#at;
    const mask = (1 << prefix) - 1;
    let value = block[this.#at++] & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.#at >= block.length) throw hpackError("integer cut short", start);
      const byte = block[this.#at++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw hpackError("integer longer than 5 continuation bytes", start);
    }
    if (value > 0x7fffffff) throw hpackError(`integer ${value} over 2^31-1`, start);
    return value;
  }

  /** A string literal at `#at` (section 5.2). */
  #string(block: Uint8Array): string {
    const start = this.#at;
    if (start >= block.length) throw hpackError("string literal missing", start);
    const huffman = block[start] >= 0x80;
    const length = this.#integer(block, 7);
    const from = this.#at;
    const to = from + length;
    if (to > block.length) {
      throw hpackError(`string literal of ${length} bytes cut short`, start);
    }
    this.#at = to;
    return huffman ? decodeHuffman(block, from, to) : octets(block, from, to);
  }

  /** The entry at `index` in the static then the dynamic table (section 2.3.3). */
  #entry(index: number, at: number): [string, string] {
    if (index <= STATIC_COUNT) {
      const entry = STATIC_TABLE[index - 1];
      return [entry[0], entry[1]];
    }
    const position = this.#names.length - 1 - (index - STATIC_COUNT - 1);
    if (position < this.#first) {
      throw hpackError(
        `index ${index} beyond the tables (${STATIC_COUNT} static, ${
          this.#names.length - this.#first
        } dynamic entries)`,
        at,
      );
    }
    return [this.#names[position], this.#values[position]];
  }

  #insert(name: string, value: string): void {
    const size = entrySize(name, value);
    this.#evict(size);
    if (size > this.#limit) return; // the table is now empty (section 4.4)
    this.#names.push(name);
    this.#values.push(value);
    this.#size += size;
  }

  /** Evicts the oldest entries until `room` more bytes fit within the limit. */
  #evict(room: number): void {
    const names = this.#names;
    const values = this.#values;
    while (this.#size + room > this.#limit && this.#first < names.length) {
      this.#size -= entrySize(names[this.#first], values[this.#first]);
      this.#first++;
    }
    if (this.#first === names.length) {
      names.length = 0;
      values.length = 0;
      this.#first = 0;
    } else if (this.#first > 64) {
      names.splice(0, this.#first);
      values.splice(0, this.#first);
      this.#first = 0;
    }
  }
}

// -----------------------------------------------------------------------------------------
// Encoding.

/** `name\0value` → static index, for fields the static table has whole. */
const STATIC_FIELDS = new Map<string, number>();
/** name → first static index with that name. */
const STATIC_NAMES = new Map<string, number>();
for (let i = 0; i < STATIC_COUNT; i++) {
  const [name, value] = STATIC_TABLE[i];
  if (value !== "") STATIC_FIELDS.set(name + "\0" + value, i + 1);
  if (!STATIC_NAMES.has(name)) STATIC_NAMES.set(name, i + 1);
}

/**
 * Encodes request heads (see the module documentation for the choices made).
 *
 * @example
 * ```ts ignore
 * const block = new HpackEncoder().encode([[":method", "GET"], [":path", "/"]]);
 * ```
 */
export class HpackEncoder {
  /** The most bytes {@linkcode HpackEncoder.encodeInto} writes for `fields`. */
  static maxLength(fields: [string, string][]): number {
    let size = 0;
    for (const [name, value] of fields) size += name.length + value.length + 12;
    return size;
  }

  /** Encodes `fields` into a new block. */
  encode(fields: [string, string][]): Uint8Array {
    const out = new Uint8Array(HpackEncoder.maxLength(fields));
    return out.subarray(0, this.encodeInto(fields, out, 0));
  }

  /**
   * Encodes `fields` into `out` from `at` (room: {@linkcode HpackEncoder.maxLength}) and
   * returns where it ended. Names and values are octets (checked by the caller).
   */
  encodeInto(fields: [string, string][], out: Uint8Array, at: number): number {
    for (let f = 0; f < fields.length; f++) {
      const [name, value] = fields[f];
      const whole = STATIC_FIELDS.get(name + "\0" + value);
      if (whole !== undefined) {
        at = writeInteger(out, at, whole, 7, 0x80);
        continue;
      }
      const index = STATIC_NAMES.get(name);
      if (index !== undefined) {
        at = writeInteger(out, at, index, 4, 0x00);
      } else {
        out[at++] = 0x00;
        at = writeString(out, at, name);
      }
      at = writeString(out, at, value);
    }
    return at;
  }
}

/** Writes `value` with an `prefix`-bit prefix, the first byte's other bits `flags`. */
export function writeInteger(
  out: Uint8Array,
  at: number,
  value: number,
  prefix: number,
  flags: number,
): number {
  const mask = (1 << prefix) - 1;
  if (value < mask) {
    out[at++] = flags | value;
    return at;
  }
  out[at++] = flags | mask;
  value -= mask;
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

function writeString(out: Uint8Array, at: number, text: string): number {
  const length = text.length;
  at = writeInteger(out, at, length, 7, 0x00);
  for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i);
  return at + length;
}
