/**
 * Bounded caches of decoded header strings (internal). Header names and most header
 * values repeat from one response to the next; building a string from bytes costs far
 * more (hundreds of nanoseconds on Deno) than comparing bytes. Every hit is checked byte
 * for byte, so a cache can only save work, never change a result; the sizes are fixed,
 * so memory stays bounded whatever peers send.
 *
 * @module
 */

import { latin1 } from "./_bytes.ts";

/**
 * A direct-mapped cache of decoded strings. The caller picks the slot with a cheap key; a
 * hit is checked byte for byte against a copy of the bytes, so a poor key only costs a
 * miss. Strings longer than {@linkcode STRING_CACHE_MAX} bytes are not kept.
 */
export class StringCache {
  #strings: string[];
  #bytes: Uint8Array;
  #mask: number;

  /** Creates a cache of `size` slots (a power of two). */
  constructor(size: number) {
    this.#strings = new Array<string>(size).fill("");
    this.#bytes = new Uint8Array(size * STRING_CACHE_MAX);
    this.#mask = size - 1;
  }

  /** The Latin-1 string of `bytes[start, end)`, looked up in the slot chosen by `key`. */
  get(bytes: Uint8Array, start: number, end: number, key: number): string {
    const length = end - start;
    if (length > STRING_CACHE_MAX) return latin1(bytes, start, end);
    const slot = (key ^ (key >>> 11)) & this.#mask;
    const cached = this.#strings[slot];
    const pool = this.#bytes;
    const base = slot * STRING_CACHE_MAX;
    if (cached.length === length) {
      let i = 0;
      while (i < length && pool[base + i] === bytes[start + i]) i++;
      if (i === length) return cached;
    }
    if (length === 0) return "";
    // Built in one piece (a flat string), cheaper to use later than one built by `+=`.
    const text = String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    pool.set(bytes.subarray(start, end), base);
    this.#strings[slot] = text;
    return text;
  }
}

/** Longest string a {@linkcode StringCache} keeps, in bytes. */
const STRING_CACHE_MAX = 64;

/** A cheap cache key for a header name `bytes[start, end)` (not empty). */
export function nameKey(bytes: Uint8Array, start: number, end: number): number {
  return (end - start) * 977 + (bytes[start] | 0x20) * 31 + (bytes[end - 1] | 0x20) +
    (bytes[(start + end) >> 1] | 0x20) * 7919;
}

/** A cheap cache key for the value `bytes[start, end)` of the header whose key is `name`. */
export function valueKey(name: number, bytes: Uint8Array, start: number, end: number): number {
  if (end === start) return name;
  return Math.imul(name, 40503) + (end - start) * 131 + bytes[start] * 7 + bytes[end - 1] +
    bytes[(start + end) >> 1] * 3571;
}

/** Longest header name a {@linkcode FieldCache} keeps, in bytes. */
export const FIELD_NAME_MAX = 32;
/** Longest header value a {@linkcode FieldCache} keeps, in bytes. */
export const FIELD_VALUE_MAX = 64;

/**
 * The cache behind the parser's one-pass fast path for field lines: a slot, chosen by a
 * hint from the first bytes of the line, holds a header name (its bytes, its string and
 * its framing kind) and the last value seen with that name. The parser compares the
 * line's bytes with the slot's while it scans them: bytes equal to cached ones are known
 * valid, so a hit costs one pass and no allocation.
 */
export class FieldCache {
  /** Name strings by slot ("" = empty slot). */
  readonly names: string[];
  /** Name bytes, `FIELD_NAME_MAX` per slot. */
  readonly nameBytes: Uint8Array;
  /** Framing kind of each slot's name (see the parser). */
  readonly kinds: Uint8Array;
  /** Last value seen with each slot's name ("" also for none). */
  readonly values: string[];
  /** Value bytes, `FIELD_VALUE_MAX` per slot. */
  readonly valueBytes: Uint8Array;
  /** Slot count minus one (a power of two minus one). */
  readonly mask: number;

  /** Creates a cache of `size` slots (a power of two). */
  constructor(size: number) {
    this.names = new Array<string>(size).fill("");
    this.values = new Array<string>(size).fill("");
    this.nameBytes = new Uint8Array(size * FIELD_NAME_MAX);
    this.valueBytes = new Uint8Array(size * FIELD_VALUE_MAX);
    this.kinds = new Uint8Array(size);
    this.mask = size - 1;
  }

  /** Stores name `bytes[start, end)` (at most `FIELD_NAME_MAX` bytes) in `slot`. */
  setName(
    slot: number,
    name: string,
    bytes: Uint8Array,
    start: number,
    end: number,
    kind: number,
  ): void {
    this.names[slot] = name;
    this.nameBytes.set(bytes.subarray(start, end), slot * FIELD_NAME_MAX);
    this.kinds[slot] = kind;
    this.values[slot] = "";
  }

  /** Stores the value `bytes[start, end)` for the name in `slot`, if it is short enough. */
  setValue(slot: number, value: string, bytes: Uint8Array, start: number, end: number): void {
    if (end - start > FIELD_VALUE_MAX) return;
    this.values[slot] = value;
    this.valueBytes.set(bytes.subarray(start, end), slot * FIELD_VALUE_MAX);
  }
}
