/**
 * Request URLs as httpx reads them. Ferry keeps a WHATWG `URL` for the scheme, host,
 * port and credentials, but the WHATWG parser rewrites paths the way browsers do (`\` to
 * `/`, `%2e%2e` segments collapsed, a bare `?` dropped, `'` escaped in queries), which is
 * not what an HTTP client's caller asked for. So the request target (the path and query
 * sent) is taken from the text the caller wrote, normalised only as httpx's
 * `_urlparse.py` does: literal `.` and `..` segments removed, characters outside its safe
 * sets percent-encoded (existing `%XX` escapes kept).
 *
 * @module
 */

import { InvalidURL, UnsupportedProtocol } from "../errors.ts";

/** The parts of a URL text, split as RFC 3986 (and httpx's `URL_REGEX`) do. */
interface UrlParts {
  scheme: string | undefined;
  authority: string | undefined;
  path: string;
  query: string | undefined;
  fragment: string | undefined;
}

const URL_PARTS =
  /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/;

function splitUrl(text: string): UrlParts {
  const match = URL_PARTS.exec(text)!;
  return {
    scheme: match[1],
    authority: match[2],
    path: match[3],
    query: match[4],
    fragment: match[5],
  };
}

// RFC 3986 unreserved characters plus httpx's safe sets (from the WHATWG percent-encode
// sets): the path keeps every printable ASCII but space " # < > ? ` { }, the query every
// printable ASCII but space " # < >. `%` is kept as it is (httpx keeps `%XX` escapes).
const PATH_UNSAFE = /[^!$%&'()*+,\-./0-9:;=@A-Z[\\\]^_a-z|~]/g;
const QUERY_UNSAFE = /[^!$%&'()*+,\-./0-9:;=?@A-Z[\\\]^_`a-z{|}~]/g;

function quote(text: string, unsafe: RegExp): string {
  unsafe.lastIndex = 0;
  if (!unsafe.test(text)) return text;
  return text.replace(unsafe, (char) => encodeURIComponent(char.toWellFormed?.() ?? char));
}

/** httpx's `normalize_path`: drops literal `.` and `..` segments (not `%2e` ones). */
function normalizePath(path: string): string {
  if (!path.includes(".")) return path;
  const segments = path.split("/");
  if (!segments.includes(".") && !segments.includes("..")) return path;
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && !(out.length === 1 && out[0] === "")) out.pop();
    } else out.push(segment);
  }
  return out.join("/");
}

// Paths and queries whose target the WHATWG parser leaves as written: no dot segments,
// no backslash, no `'` or characters that either side would escape.
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&()*+,;=:@/]*$/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%]+$/;

// An http(s) URL with a plain host, and such a path and query (see the two above).
const PLAIN_URL =
  /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[A-Za-z0-9\-._~!$&()*+,;=:@/]*)?(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]+)?$/;

/** A parsed request URL: the WHATWG `URL`, and the target when it differs from the URL's. */
export interface RequestUrl {
  /** The URL (scheme, host, port, credentials; its path as WHATWG reads it). */
  url: URL;
  /** The path and query to send, when they differ from `url`'s; else `null`. */
  target: string | null;
}

/**
 * The URL of `text` when it is a plain http(s) URL, whose path and query the WHATWG
 * reading keeps as written (the first case of {@linkcode parseRequestUrl}); else `null`.
 */
export function plainRequestUrl(text: string): URL | null {
  if (!PLAIN_URL.test(text) || text.includes("/.")) return null;
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/**
 * Parses an absolute request URL: a missing scheme or host is {@linkcode UnsupportedProtocol}
 * (httpx's wording), text the URL parser refuses is {@linkcode InvalidURL}, and the
 * target is the path and query as written (see the module documentation).
 *
 * @example
 * ```ts ignore
 * parseRequestUrl("http://example.com/a\\b?").target; // "/a\\b?"
 * parseRequestUrl("http://example.com/items?page=2").target; // null: the URL's own
 * ```
 */
export function parseRequestUrl(text: string, method = "GET"): RequestUrl {
  // The common case, decided by one test: a host, and a path and query that both readings
  // agree on (no dot segment).
  if (PLAIN_URL.test(text) && !text.includes("/.")) {
    try {
      return { url: new URL(text), target: null };
    } catch {
      // An invalid port, say: the full parse below says what is wrong.
    }
  }
  const parts = splitUrl(text);
  // httpx's sentences, then what was asked for (without credentials), as every
  // RequestError ends.
  const shown = withoutCredentials(text);
  const context = ` (${method} ${shown})`;
  if (parts.scheme === undefined) {
    throw new UnsupportedProtocol(
      `Request URL is missing an 'http://' or 'https://' protocol.${context}`,
    );
  }
  const special = /^(https?|wss?)$/i.test(parts.scheme);
  if (special) {
    const authority = parts.authority ?? "";
    const host = authority.slice(authority.lastIndexOf("@") + 1).replace(/:\d*$/, "");
    // httpx says the same of `http:///path` (an empty host) as of a missing scheme.
    if (host === "") {
      throw new UnsupportedProtocol(
        `Request URL is missing an 'http://' or 'https://' protocol.${context}`,
      );
    }
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    // The parser's own error repeats the text: kept only when it carries no credentials.
    throw new InvalidURL(`Invalid URL '${shown}'`, shown === text ? { cause } : {});
  }
  if (!special) return { url, target: null };
  const { path, query } = parts;
  if (
    PLAIN_PATH.test(path) && !path.includes("/.") &&
    (query === undefined || PLAIN_QUERY.test(query))
  ) {
    return { url, target: null };
  }
  const target = targetOf(path, query);
  return { url, target: target === url.pathname + url.search ? null : target };
}

/**
 * `text` without the `user:password@` of its authority (up to the last `@`, as the URL
 * parser reads it: a password may hold an unescaped `@`), for error messages.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/^([^/?#]*\/\/)[^/?#]*@/, "$1");
}

/** httpx's `raw_path`: the normalised, quoted path (`/` when empty) and query. */
function targetOf(path: string, query: string | undefined): string {
  const quoted = quote(normalizePath(path), PATH_UNSAFE) || "/";
  return query === undefined ? quoted : `${quoted}?${quote(query, QUERY_UNSAFE)}`;
}

/**
 * `text` with its query replaced by `query` (the path, fragment and the rest as written).
 *
 * @example
 * ```ts ignore
 * withQuery("http://x/a\\b?old#top", "q=1"); // "http://x/a\\b?q=1#top"
 * ```
 */
export function withQuery(text: string, query: string): string {
  const parts = splitUrl(text);
  let out = parts.scheme === undefined ? "" : `${parts.scheme}:`;
  if (parts.authority !== undefined) out += `//${parts.authority}`;
  out += parts.path;
  if (query !== "") out += `?${query}`;
  if (parts.fragment !== undefined) out += `#${parts.fragment}`;
  return out;
}

/**
 * The query of `text` as written (without `?`), or `undefined` when it has none.
 *
 * @example
 * ```ts ignore
 * queryOf("http://x/a?b=1#c"); // "b=1"
 * ```
 */
export function queryOf(text: string): string | undefined {
  return splitUrl(text).query;
}

/**
 * The origin-form target of a WHATWG `URL`: its path (`/` when empty) and query, with a
 * bare `?` kept.
 */
export function urlTarget(url: URL): string {
  const path = url.pathname || "/";
  if (url.search !== "") return path + url.search;
  const href = url.href;
  const hash = href.indexOf("#");
  return (hash === -1 ? href.endsWith("?") : href[hash - 1] === "?") ? path + "?" : path;
}
