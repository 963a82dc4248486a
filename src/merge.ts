/**
 * The client's merge rules, as httpx's: headers, query parameters and cookies merge
 * (request values win per name); every other setting is the request's when given, else
 * the client's.
 *
 * @module
 */

import { Headers, type HeadersInit, pairsOf } from "./models/headers.ts";
import { phaseLimit, type Timeouts } from "./models/request.ts";
import { InvalidURL, UnsupportedProtocol } from "./errors.ts";
import { DEFAULT_TIMEOUT_MS } from "./connection/mod.ts";

/** A timeout setting: one number for every phase, per-phase limits, or `null` for none. */
export type TimeoutInit = number | null | Timeouts;

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
  return {
    connect: phaseLimit(timeout, "connect", DEFAULT_TIMEOUT_MS),
    read: phaseLimit(timeout, "read", DEFAULT_TIMEOUT_MS),
    write: phaseLimit(timeout, "write", DEFAULT_TIMEOUT_MS),
    pool: phaseLimit(timeout, "pool", DEFAULT_TIMEOUT_MS),
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
  // A new array over the same pairs: Headers replaces a pair it changes, never edits one
  // in place, so sharing them with `base` is safe (and saves a copy of each per request).
  const shared = pairsOf(base) as [string, string][];
  let pairs: [string, string][];
  if (host !== undefined && !base.has("host") && !(incoming?.has("host"))) {
    // Made at its size (pushing onto a one-pair array grew it to 17 slots).
    pairs = new Array(shared.length + 1);
    pairs[0] = ["Host", host];
    for (let i = 0; i < shared.length; i++) pairs[i + 1] = shared[i];
  } else pairs = shared.slice();
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
 * the base's path (`/api/` + `/users` → `/api/users`), an absolute one stands alone. The
 * result is text, so that the path and query are sent as written (see `models/url.ts`).
 * A relative URL without a base is httpx's {@linkcode UnsupportedProtocol}; ASCII control
 * characters are its {@linkcode InvalidURL} (the URL parser would drop tabs and line
 * breaks silently: "/a\r\nb" would request "/ab").
 */
export function mergeUrl(baseUrl: URL | null, url: string, method = "GET"): string {
  // The common case in one test: absolute, and no control character.
  if (ABSOLUTE_CLEAN.test(url)) return url;
  const control = CONTROL.exec(url);
  if (control !== null) {
    throw new InvalidURL(
      `Invalid non-printable ASCII character in URL, ${
        pythonRepr(control[0])
      } at position ${control.index}.`,
    );
  }
  if (ABSOLUTE.test(url)) return url;
  if (baseUrl === null) {
    throw new UnsupportedProtocol(
      `Request URL is missing an 'http://' or 'https://' protocol. (${method.toUpperCase()} ${url})`,
    );
  }
  return baseUrl.href + url.replace(/^\/+/, "");
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const ABSOLUTE_CLEAN = /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\x00-\x1f\x7f]*$/;

/** A control character as Python's `repr` shows it (`'\n'`, `'\x00'`), as httpx quotes it. */
function pythonRepr(char: string): string {
  const named: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };
  const code = char.charCodeAt(0);
  return `'${named[char] ?? `\\x${code.toString(16).padStart(2, "0")}`}'`;
}
