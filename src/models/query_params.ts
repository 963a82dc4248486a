/**
 * `QueryParams`: an immutable, ordered, multi-valued view of a URL's query string, and the
 * `params` option's merge rules.
 *
 * @module
 */

import { inspectAsRepr } from "../_inspect.ts";

/** A value a query parameter accepts: `null` becomes `""`, booleans `"true"`/`"false"`. */
export type QueryValue = string | number | boolean | null;

/** What {@linkcode QueryParams} (and every `params` option) can be built from. */
export type QueryParamsInit =
  | QueryParams
  | URLSearchParams
  | string
  | Iterable<readonly [string, QueryValue]>
  | Record<string, QueryValue | readonly QueryValue[]>;

const FORM_SAFE = /^[A-Za-z0-9*\-._]*$/;

/** `application/x-www-form-urlencoded` encoding, exactly as `URLSearchParams` does it. */
function formEncode(text: string): string {
  if (FORM_SAFE.test(text)) return text;
  if (!text.isWellFormed?.()) return new URLSearchParams([["", text]]).toString().slice(1);
  return encodeURIComponent(text).replace(
    /%20|[!'()~]/g,
    (match) => match === "%20" ? "+" : `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function valueString(value: QueryValue): string {
  if (value === null) return "";
  return String(value);
}

/**
 * Query parameters: ordered, multi-valued and immutable (every change returns a copy),
 * as in httpx.
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
        if (Array.isArray(value)) {
          for (const item of value) this.#pairs.push([name, valueString(item)]);
        } else this.#pairs.push([name, valueString(value as QueryValue)]);
      }
    }
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

  /** A copy with one more value for `name`. */
  add(name: string, value: QueryValue): QueryParams {
    const copy = new QueryParams(this);
    copy.#pairs.push([name, valueString(value)]);
    return copy;
  }

  /** A copy without `name`. */
  remove(name: string): QueryParams {
    const copy = new QueryParams();
    copy.#pairs = this.#pairs.filter((pair) => pair[0] !== name);
    return copy;
  }

  /**
   * A copy where every name in `other` replaces that name's values here (httpx's merge:
   * names not in `other` are kept).
   */
  merge(other?: QueryParamsInit | null): QueryParams {
    if (other == null) return this;
    const incoming = other instanceof QueryParams ? other : new QueryParams(other);
    if (incoming.size === 0) return this;
    const replaced = new Set(incoming.#pairs.map((pair) => pair[0]));
    const copy = new QueryParams();
    copy.#pairs = this.#pairs.filter((pair) => !replaced.has(pair[0]));
    copy.#pairs.push(...incoming.#pairs);
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

/**
 * `url` (a string) with `params` merged into its query, parsed once: the fast path of a
 * client request. Falls back to {@linkcode mergeUrlParams} when the URL has a query or a
 * fragment of its own.
 */
export function urlWithParams(url: string, params: QueryParams): string | null {
  if (url.includes("?") || url.includes("#")) return null;
  const query = params.toString();
  return query ? `${url}?${query}` : url;
}
