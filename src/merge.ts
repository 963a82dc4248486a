/**
 * The client's merge rules, as httpx's: headers, query parameters and cookies merge
 * (request values win per name); every other setting is the request's when given, else
 * the client's.
 *
 * @module
 */

import { Headers, type HeadersInit } from "./models/headers.ts";
import type { Timeouts } from "./models/request.ts";
import { InvalidURL } from "./errors.ts";

/** A timeout setting: one number for every phase, per-phase limits, or `null` for none. */
export type TimeoutInit = number | null | Timeouts;

/** The default limit of each phase: 5000 ms, as httpx's 5 s. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Normalises a timeout setting into per-phase limits (unset phases: the default). */
export function toTimeouts(timeout: TimeoutInit | undefined): Timeouts {
  if (timeout === undefined) {
    return {
      connect: DEFAULT_TIMEOUT_MS,
      read: DEFAULT_TIMEOUT_MS,
      write: DEFAULT_TIMEOUT_MS,
      pool: DEFAULT_TIMEOUT_MS,
    };
  }
  if (timeout === null || typeof timeout === "number") {
    if (typeof timeout === "number" && !(timeout >= 0)) {
      throw new RangeError(`Invalid timeout "${timeout}": expected milliseconds, at least 0`);
    }
    return { connect: timeout, read: timeout, write: timeout, pool: timeout };
  }
  const phase = (value: number | null | undefined) =>
    value === undefined ? DEFAULT_TIMEOUT_MS : value;
  return {
    connect: phase(timeout.connect),
    read: phase(timeout.read),
    write: phase(timeout.write),
    pool: phase(timeout.pool),
  };
}

/**
 * `base` with `override` merged in: every name in `override` replaces that name's values
 * in `base` (which is not changed). `host`, when given, becomes a leading `Host` header
 * unless either side has one (as httpx puts `Host` first).
 */
export function mergeHeaders(
  base: Headers,
  override?: HeadersInit | null,
  host?: string,
): Headers {
  const incoming = override == null
    ? null
    : override instanceof Headers
    ? override
    : new Headers(override);
  const pairs = base.pairs();
  if (host !== undefined && !base.has("host") && !(incoming?.has("host"))) {
    pairs.unshift(["Host", host]);
  }
  const merged = Headers.fromPairs(pairs);
  if (incoming === null || incoming.size === 0) return merged;
  for (const name of incoming.keys()) merged.delete(name);
  for (const [name, value] of incoming) merged.append(name, value);
  return merged;
}

const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/** Normalises a base URL so that it ends with `/` (paths are appended to it). */
export function toBaseUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new InvalidURL(`Invalid base URL ${JSON.stringify(String(baseUrl))}`, { cause });
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * Joins a request URL to the base URL as httpx does: a relative URL's path is appended to
 * the base's path (`/api/` + `/users` → `/api/users`), an absolute one stands alone.
 */
export function mergeUrl(baseUrl: URL | null, url: string | URL): URL {
  if (url instanceof URL) return url;
  // The URL parser silently drops tabs and line breaks: "/a\r\nb" would request "/ab".
  if (CONTROL.test(url)) {
    throw new InvalidURL(`Invalid URL ${JSON.stringify(url)}: control characters are not allowed`);
  }
  if (ABSOLUTE.test(url)) return parseAbsolute(url);
  if (baseUrl === null) {
    throw new InvalidURL(
      `Invalid URL ${JSON.stringify(url)}: a relative URL needs the client's baseUrl`,
    );
  }
  return parseAbsolute(baseUrl.href + url.replace(/^\/+/, ""));
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

function parseAbsolute(url: string): URL {
  try {
    return new URL(url);
  } catch (cause) {
    throw new InvalidURL(`Invalid URL ${JSON.stringify(url)}`, { cause });
  }
}
