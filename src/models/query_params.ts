/**
 * `QueryParams`: an immutable, ordered, multi-valued view of a URL's query string, and the
 * `params` option's merge rules.
 *
 * @module
 */

import { inspectAsRepr } from "../_inspect.ts";

/** A value a query parameter accepts: `null` becomes `""`, booleans `"true"`/`"false"`. */
export type QueryValue = string | number | boolean | null;

/**
 * What {@linkcode QueryParams} (and every `params` option) can be built from; in a record,
 * `undefined` values are skipped (`null` is an empty value, as in httpx).
 */
export type QueryParamsInit =
  | QueryParams
  | URLSearchParams
  | string
  | Iterable<readonly [string, QueryValue]>
  | Record<string, QueryValue | readonly QueryValue[] | undefined>;

const FORM_SAFE = /^[A-Za-z0-9_.~-]*$/;

/**
 * `application/x-www-form-urlencoded` encoding as httpx does it (Python's `quote_plus`):
 * letters, digits and `_.-~` as they are, a space as `+`, everything else as UTF-8
 * percent-escapes. (`URLSearchParams` differs on two characters: it escapes `~` and keeps
 * `*`.)
 */
export function formEncode(text: string): string {
  if (FORM_SAFE.test(text)) return text;
  if (!text.isWellFormed?.()) text = text.toWellFormed?.() ?? text;
  return encodeURIComponent(text).replace(
    /%20|[!'()*]/g,
    (match) => match === "%20" ? "+" : `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function valueString(value: QueryValue): string {
  if (value === null) return "";
  return String(value);
}

/**
 * Query parameters: ordered, multi-valued and immutable (every change returns a copy),
 * as in httpx. As in httpx, the values of a name stay together, in the place where the
 * name first appeared (`a=1&b=2&a=3` reads as `a=1&a=3&b=2`), and a merge replaces a
 * name's values where they stand.
 *
 * @example Build and merge query parameters
 * ```ts
 * import { QueryParams } from "@ferry/ferry";
 * const params = new QueryParams({ a: "1", b: ["2", "3"] });
 * console.log(String(params)); // "a=1&b=2&b=3"
 * console.log(params.merge({ a: "9" }).toString()); // "a=9&b=2&b=3"
 * console.log(params.getAll("b")); // ["2", "3"]
 * ```
 */
export class QueryParams implements Iterable<[string, string]> {
  #pairs: [string, string][];

  /** Creates parameters from a query string, a record, pairs or `URLSearchParams`. */
  constructor(init?: QueryParamsInit | null) {
    this.#pairs = [];
    if (init == null) return;
    if (init instanceof QueryParams) {
      this.#pairs = init.#pairs.slice();
    } else if (typeof init === "string") {
      const text = init.startsWith("?") ? init.slice(1) : init;
      for (const [name, value] of new URLSearchParams(text)) this.#pairs.push([name, value]);
    } else if (init instanceof URLSearchParams) {
      for (const [name, value] of init) this.#pairs.push([name, value]);
    } else if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, QueryValue]>) {
        this.#pairs.push([String(name), valueString(value)]);
      }
    } else {
      for (const [name, value] of Object.entries(init)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) {
          for (const item of value) this.#pairs.push([name, valueString(item)]);
        } else this.#pairs.push([name, valueString(value as QueryValue)]);
      }
    }
    this.#pairs = grouped(this.#pairs);
  }

  /** The first value of `name`, or `null`. */
  get(name: string): string | null {
    for (const pair of this.#pairs) if (pair[0] === name) return pair[1];
    return null;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    return this.#pairs.filter((pair) => pair[0] === name).map((pair) => pair[1]);
  }

  /** Whether `name` is present. */
  has(name: string): boolean {
    return this.#pairs.some((pair) => pair[0] === name);
  }

  /** Distinct names, in order of first appearance. */
  keys(): string[] {
    return [...new Set(this.#pairs.map((pair) => pair[0]))];
  }

  /** How many name/value pairs there are. */
  get size(): number {
    return this.#pairs.length;
  }

  /** A copy where `name` has the single value `value`. */
  set(name: string, value: QueryValue): QueryParams {
    const copy = new QueryParams();
    let placed = false;
    for (const pair of this.#pairs) {
      if (pair[0] !== name) copy.#pairs.push(pair);
      else if (!placed) {
        copy.#pairs.push([name, valueString(value)]);
        placed = true;
      }
    }
    if (!placed) copy.#pairs.push([name, valueString(value)]);
    return copy;
  }

  /** A copy with one more value for `name` (after its other values). */
  add(name: string, value: QueryValue): QueryParams {
    const copy = new QueryParams();
    copy.#pairs = grouped([...this.#pairs, [name, valueString(value)]]);
    return copy;
  }

  /** A copy without `name`. */
  remove(name: string): QueryParams {
    const copy = new QueryParams();
    copy.#pairs = this.#pairs.filter((pair) => pair[0] !== name);
    return copy;
  }

  /**
   * A copy where every name in `other` replaces that name's values here, in the place
   * where they stood; new names come last (httpx's merge, a Python dict update).
   */
  merge(other?: QueryParamsInit | null): QueryParams {
    if (other == null) return this;
    const incoming = other instanceof QueryParams ? other : new QueryParams(other);
    if (incoming.size === 0) return this;
    const replacements = new Map<string, [string, string][]>();
    for (const pair of incoming.#pairs) {
      const list = replacements.get(pair[0]);
      if (list === undefined) replacements.set(pair[0], [pair]);
      else list.push(pair);
    }
    const copy = new QueryParams();
    for (const pair of this.#pairs) {
      const replacement = replacements.get(pair[0]);
      if (replacement === undefined) copy.#pairs.push(pair);
      else if (replacement.length > 0) {
        copy.#pairs.push(...replacement.splice(0));
      }
    }
    for (const list of replacements.values()) copy.#pairs.push(...list);
    return copy;
  }

  /** The pairs, in order. */
  pairs(): [string, string][] {
    return this.#pairs.map(([name, value]) => [name, value]);
  }

  /** The pairs, in order. */
  [Symbol.iterator](): Iterator<[string, string]> {
    return this.pairs()[Symbol.iterator]();
  }

  /** The `application/x-www-form-urlencoded` form, without a leading `?`. */
  toString(): string {
    let out = "";
    for (const [name, value] of this.#pairs) {
      if (out) out += "&";
      out += formEncode(name) + "=" + formEncode(value);
    }
    return out;
  }
}

/** The pairs with each name's values together, where the name first appeared. */
function grouped(pairs: [string, string][]): [string, string][] {
  let seen: Set<string> | null = null;
  let repeated = false;
  for (let i = 0; i < pairs.length; i++) {
    const name = pairs[i][0];
    seen ??= new Set();
    if (seen.has(name)) {
      // Only a name that comes back after another name changes the order.
      if (pairs[i - 1][0] !== name) {
        repeated = true;
        break;
      }
    } else seen.add(name);
  }
  if (!repeated) return pairs;
  const byName = new Map<string, [string, string][]>();
  for (const pair of pairs) {
    const list = byName.get(pair[0]);
    if (list === undefined) byName.set(pair[0], [pair]);
    else list.push(pair);
  }
  return [...byName.values()].flat();
}

inspectAsRepr(QueryParams, (params) => `<QueryParams ${JSON.stringify(params.toString())}>`);

/**
 * `url` with `params` merged into its query (names in `params` replace the URL's). Returns
 * `url` itself when there is nothing to merge.
 */
export function mergeUrlParams(url: URL, params?: QueryParamsInit | null): URL {
  if (params == null) return url;
  const incoming = params instanceof QueryParams ? params : new QueryParams(params);
  if (incoming.size === 0) return url;
  const merged = url.search ? new QueryParams(url.search).merge(incoming) : incoming;
  const copy = new URL(url.href);
  copy.search = merged.toString();
  return copy;
}
