/**
 * `Headers`: ordered, multi-valued HTTP headers with case-insensitive lookup. The original
 * case and order are kept for the wire.
 *
 * @module
 */

import { inspectAsRepr } from "../_inspect.ts";

/**
 * What {@linkcode Headers} can be built from: another `Headers` (Ferry's or the web's),
 * pairs, or a record (arrays for several values; `undefined` values are skipped, so
 * `{ "X-Trace": traceId ?? undefined }` sends nothing when there is no id).
 */
export type HeadersInit =
  | Headers
  | globalThis.Headers
  | Iterable<readonly [string, string]>
  | Record<string, string | readonly string[] | undefined>;

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A Latin-1 string's bytes read as UTF-8, or `null` when they are not valid UTF-8. */
function utf8OrNull(latin1: string): string | null {
  const bytes = latin1Bytes(latin1);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The pairs of `headers` themselves, not a copy: for the connection's hot path, which only
 * reads them (and copies what it keeps). Not public API.
 */
export function pairsOf(headers: Headers): readonly (readonly [string, string])[] {
  return readPairs(headers);
}

let readPairs: (headers: Headers) => [string, string][];
/** Pairs the next `new Headers()` adopts instead of starting empty (`fromPairs`). */
let adopt: [string, string][] | null = null;

/**
 * Whether `name` is `lower` (lower-cased, of the same length) but for the case of ASCII
 * letters, as HTTP compares field names; without lower-casing `name` (a new string).
 */
function sameName(name: string, lower: string): boolean {
  if (name === lower) return true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const l = lower.charCodeAt(i);
    if (c !== l && !(l >= 0x61 && l <= 0x7a && c === l - 0x20)) {
      // Outside ASCII, as toLowerCase() would (the lookup lower-cased the name that way).
      return c > 0x7f && name.toLowerCase() === lower;
    }
  }
  return true;
}

/**
 * Ordered, multi-valued HTTP headers. Lookup ignores case; the wire keeps the case and
 * order given.
 *
 * @example Build, read and extend headers
 * ```ts
 * import { Headers } from "@ferry/ferry";
 * const headers = new Headers({ "Content-Type": "text/plain" });
 * headers.append("Set-Cookie", "a=1");
 * headers.append("Set-Cookie", "b=2");
 * console.log(headers.get("content-type")); // "text/plain"
 * console.log(headers.getAll("set-cookie")); // ["a=1", "b=2"]
 * ```
 */
export class Headers implements Iterable<[string, string]> {
  #pairs: [string, string][];

  static {
    readPairs = (headers) => headers.#pairs;
  }

  /** Creates headers from pairs, a record, another `Headers`, or a web `Headers`. */
  constructor(init?: HeadersInit | null) {
    if (adopt !== null) {
      this.#pairs = adopt;
      adopt = null;
      return;
    }
    this.#pairs = [];
    if (init == null) return;
    if (init instanceof Headers) {
      this.#pairs = init.#pairs.map(([name, value]) => [name, value]);
    } else if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        this.#pairs.push([String(name), String(value)]);
      }
    } else {
      for (const [name, value] of Object.entries(init)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) {
          for (const item of value) this.#pairs.push([name, String(item)]);
        } else this.#pairs.push([name, String(value)]);
      }
    }
  }

  /**
   * Wraps pairs without copying them: for parsers and transports that built them and
   * hand them over.
   */
  static fromPairs(pairs: [string, string][]): Headers {
    adopt = pairs;
    return new Headers();
  }

  /**
   * Wraps header pairs as a parser read them, one character per byte (Latin-1), without
   * copying: values are decoded as httpx does, as UTF-8 when their bytes are valid UTF-8,
   * else as Latin-1. The bytes as received stay available through
   * {@linkcode Headers.raw}.
   *
   * @example A UTF-8 header value
   * ```ts
   * import { Headers } from "@ferry/ferry";
   * const headers = Headers.fromWire([["X-Name", "Jos\xc3\xa9"]]);
   * console.log(headers.get("x-name")); // "José"
   * console.log(headers.raw()[0][1]); // Uint8Array(5) [ 74, 111, 115, 195, 169 ]
   * ```
   */
  static fromWire(pairs: [string, string][]): Headers {
    adopt = pairs;
    const headers = new Headers();
    for (let i = 0; i < pairs.length; i++) {
      const value = pairs[i][1];
      if (!NON_ASCII.test(value)) continue;
      // Non-ASCII values remember their bytes: raw() must not re-encode them as UTF-8.
      headers.#wire ??= new Map();
      const decoded = utf8OrNull(value);
      if (decoded === null) {
        headers.#wire.set(pairs[i], value);
        continue;
      }
      const pair: [string, string] = [pairs[i][0], decoded];
      headers.#wire.set(pair, value);
      pairs[i] = pair;
    }
    return headers;
  }

  /** For pairs decoded from the wire: the pair's value as received (Latin-1). */
  #wire: Map<[string, string], string> | null = null;

  /**
   * The pairs as bytes, as httpx's `headers.raw`: values that came from the wire as they
   * were received, others (set in code) in UTF-8.
   */
  raw(): [Uint8Array, Uint8Array][] {
    return this.#pairs.map((pair) => {
      const received = this.#wire?.get(pair);
      return [
        latin1Bytes(pair[0]),
        received !== undefined ? latin1Bytes(received) : utf8Bytes(pair[1]),
      ];
    });
  }

  /** Every value of `name`, joined with `", "`, or `null` when there is none. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    let found: string | null = null;
    // Indexed loops here and below: an iterator is an object per call on the per-response path.
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      if (pair[0].length === lower.length && sameName(pair[0], lower)) {
        found = found === null ? pair[1] : `${found}, ${pair[1]}`;
      }
    }
    return found;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const values: string[] = [];
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      if (pair[0].length === lower.length && sameName(pair[0], lower)) values.push(pair[1]);
    }
    return values;
  }

  /** Whether `name` is present. */
  has(name: string): boolean {
    const lower = name.toLowerCase();
    // Comparing lengths first skips lower-casing nearly every other name.
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      if (pair[0].length === lower.length && sameName(pair[0], lower)) return true;
    }
    return false;
  }

  /** Replaces every value of `name` with `value`, keeping the first one's position. */
  set(name: string, value: string): void {
    const lower = name.toLowerCase();
    const pairs = this.#pairs;
    let index = -1;
    let duplicates = false;
    for (let i = 0; i < pairs.length; i++) {
      const key = pairs[i][0];
      if (key.length === lower.length && sameName(key, lower)) {
        if (index === -1) index = i;
        else duplicates = true;
      }
    }
    if (index === -1) {
      pairs.push([name, String(value)]);
      return;
    }
    pairs[index] = [name, String(value)];
    if (duplicates) {
      this.#pairs = pairs.filter((pair, i) =>
        i <= index || pair[0].length !== lower.length || !sameName(pair[0], lower)
      );
    }
  }

  /** Adds a value for `name` after the existing ones. */
  append(name: string, value: string): void {
    this.#pairs.push([name, String(value)]);
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    const lower = name.toLowerCase();
    const matches = (pair: [string, string]) =>
      pair[0].length === lower.length && sameName(pair[0], lower);
    if (this.#pairs.some(matches)) this.#pairs = this.#pairs.filter((pair) => !matches(pair));
  }

  /** How many name/value pairs there are. */
  get size(): number {
    return this.#pairs.length;
  }

  /** The pairs in wire order, with their original case. */
  pairs(): [string, string][] {
    return this.#pairs.map(([name, value]) => [name, value]);
  }

  /** The pairs in wire order, with their original case. */
  [Symbol.iterator](): Iterator<[string, string]> {
    return this.pairs()[Symbol.iterator]();
  }

  /** Distinct lower-case names, in order of first appearance. */
  keys(): string[] {
    return [...new Set(this.#pairs.map((pair) => pair[0].toLowerCase()))];
  }

  /** A plain object of lower-case names to joined values. */
  toJSON(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const key of this.keys()) result[key] = this.get(key)!;
    return result;
  }

  /** `<Headers [("Name", "value"), …]>` */
  toString(): string {
    const items = this.#pairs.map(([name, value]) =>
      `(${JSON.stringify(name)}, ${JSON.stringify(value)})`
    );
    return `<Headers [${items.join(", ")}]>`;
  }
}

inspectAsRepr(Headers);
