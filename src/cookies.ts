/**
 * A cookie jar after RFC 6265: `Set-Cookie` parsing, domain and path matching, host-only
 * cookies, `Secure`, `Expires` and `Max-Age`.
 *
 * Not done: the public suffix list (a server may set a cookie for a multi-label public
 * suffix such as `co.uk`; single-label ones such as `com` are refused), `SameSite` enforcement (a client sending its own requests has no
 * "site" to compare) and persistence to disk.
 *
 * Cookies set by hand without a domain (`cookies: { session: "x" }`) are sent to every
 * host, as httpx does with its `cookies=` dictionaries.
 *
 * @module
 */

import { CookieConflict } from "./errors.ts";
import type { Headers } from "./models/headers.ts";

/** One stored cookie. */
export interface Cookie {
  /** The name. */
  name: string;
  /** The value, as sent. */
  value: string;
  /** The domain, lower case, without a leading dot; `""` for "any host". */
  domain: string;
  /** Whether only the exact host may receive it (no `Domain` attribute). */
  hostOnly: boolean;
  /** The path prefix it is sent for. */
  path: string;
  /** Whether it is only sent over HTTPS. */
  secure: boolean;
  /** Whether the server marked it `HttpOnly` (kept for inspection only). */
  httpOnly: boolean;
  /** When it expires (milliseconds since the epoch), or `null` for a session cookie. */
  expires: number | null;
  /** When it was stored, to order cookies of equal path length. */
  created: number;
}

/** What {@linkcode Cookies} can be built from. */
export type CookiesInit = Cookies | Record<string, string> | Iterable<readonly [string, string]>;

/** Where {@linkcode Cookies.set}, `get` and `delete` look. */
export interface CookieScope {
  /** The domain (`""` or left out: any host). */
  domain?: string;
  /** The path (default `"/"`). */
  path?: string;
}

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

let creationCounter = 0;

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":") || host.startsWith("[");
}

/** RFC 6265 §5.1.3 domain-match. */
export function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return !isIpAddress(host) && host.endsWith(domain) &&
    host.charCodeAt(host.length - domain.length - 1) === 46 /* . */;
}

/** RFC 6265 §5.1.4 path-match. */
export function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath.charAt(cookiePath.length) === "/";
}

/** RFC 6265 §5.1.4 default-path: the request path up to its last `/`. */
function defaultPath(path: string): string {
  if (!path.startsWith("/")) return "/";
  const last = path.lastIndexOf("/");
  return last <= 0 ? "/" : path.slice(0, last);
}

function hostOf(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/**
 * Parses one `Set-Cookie` value as received from `url`. Returns `null` for cookies the
 * RFC says to ignore (no `=`, empty name, a `Domain` the host does not match).
 */
export function parseSetCookie(header: string, url: URL, at: number = Date.now()): Cookie | null {
  const parts = header.split(";");
  const pair = parts[0];
  const eq = pair.indexOf("=");
  if (eq === -1) return null;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (!name) return null;
  const host = hostOf(url);
  let domain: string | null = null;
  let path: string | null = null;
  let secure = false;
  let httpOnly = false;
  let expires: number | null = null;
  let maxAge: number | null = null;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    const at_ = part.indexOf("=");
    const key = (at_ === -1 ? part : part.slice(0, at_)).trim().toLowerCase();
    const val = at_ === -1 ? "" : part.slice(at_ + 1).trim();
    if (key === "expires") {
      const time = parseCookieDate(val);
      if (!Number.isNaN(time)) expires = time;
    } else if (key === "max-age") {
      if (/^-?\d+$/.test(val)) maxAge = Number(val);
    } else if (key === "domain") {
      if (val) domain = (val.startsWith(".") ? val.slice(1) : val).toLowerCase();
    } else if (key === "path") {
      path = val.startsWith("/") ? val : null;
    } else if (key === "secure") {
      secure = true;
    } else if (key === "httponly") {
      httpOnly = true;
    }
  }
  if (maxAge !== null) expires = maxAge <= 0 ? 0 : at + maxAge * 1000;
  let hostOnly = true;
  if (domain !== null) {
    if (!domainMatch(host, domain)) return null;
    // Without a public suffix list, refuse at least single-label domains ("com"), as
    // Python's cookie policy does, unless the host is that name itself ("localhost").
    if (!domain.includes(".") && domain !== host) return null;
    hostOnly = false;
  } else {
    domain = host;
  }
  return {
    name,
    value,
    domain,
    hostOnly,
    path: path ?? defaultPath(url.pathname),
    secure,
    httpOnly,
    expires,
    created: creationCounter++,
  };
}

/**
 * A cookie jar. A client keeps one across its requests; a request's own `cookies` are
 * merged over it for that request only.
 *
 * @example Keep and send cookies
 * ```ts
 * import { Cookies } from "@ferry/ferry";
 * const jar = new Cookies({ theme: "dark" });
 * jar.set("session", "abc", { domain: "example.com" });
 * console.log(jar.get("session")); // "abc"
 * console.log(jar.header(new URL("https://www.example.com/"))); // "theme=dark; session=abc"
 * ```
 */
export class Cookies implements Iterable<Cookie> {
  #cookies: Cookie[] = [];

  /** Creates a jar from another jar, a record of names to values, or pairs. */
  constructor(init?: CookiesInit | null) {
    if (init == null) return;
    if (init instanceof Cookies) {
      this.#cookies = init.#cookies.map((cookie) => ({ ...cookie }));
    } else if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        this.set(name, value);
      }
    } else {
      for (const [name, value] of Object.entries(init)) this.set(name, value);
    }
  }

  /** How many cookies are stored (expired ones included until they are next looked at). */
  get size(): number {
    return this.#cookies.length;
  }

  /** Stores a cookie by hand. Without a domain it is sent to every host. */
  set(name: string, value: string, scope: CookieScope = {}): void {
    const domain = (scope.domain ?? "").replace(/^\./, "").toLowerCase();
    this.store({
      name,
      value,
      domain,
      hostOnly: false,
      path: scope.path ?? "/",
      secure: false,
      httpOnly: false,
      expires: null,
      created: creationCounter++,
    });
  }

  /** Stores (or, when expired, removes) a parsed cookie, replacing the same name/domain/path. */
  store(cookie: Cookie, at: number = Date.now()): void {
    const index = this.#cookies.findIndex((c) =>
      c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path
    );
    const expired = cookie.expires !== null && cookie.expires <= at;
    if (index !== -1) {
      if (expired) this.#cookies.splice(index, 1);
      else this.#cookies[index] = { ...cookie, created: this.#cookies[index].created };
    } else if (!expired) {
      this.#cookies.push(cookie);
    }
  }

  /**
   * The value of the cookie `name` (narrowed by `domain` and `path`), or `null`. Throws
   * {@linkcode CookieConflict} when several match.
   */
  get(name: string, scope: CookieScope = {}): string | null {
    let found: Cookie | null = null;
    for (const cookie of this.#cookies) {
      if (cookie.name !== name) continue;
      if (scope.domain !== undefined && cookie.domain !== scope.domain) continue;
      if (scope.path !== undefined && cookie.path !== scope.path) continue;
      if (found !== null && found.value !== cookie.value) {
        throw new CookieConflict(`Multiple cookies exist with name ${JSON.stringify(name)}`);
      }
      found = cookie;
    }
    return found?.value ?? null;
  }

  /** Removes the cookies named `name` (narrowed by `domain` and `path`). */
  delete(name: string, scope: CookieScope = {}): void {
    this.#cookies = this.#cookies.filter((cookie) =>
      !(cookie.name === name &&
        (scope.domain === undefined || cookie.domain === scope.domain) &&
        (scope.path === undefined || cookie.path === scope.path))
    );
  }

  /** Removes every cookie, or those of one domain (and path). */
  clear(scope: CookieScope = {}): void {
    if (scope.domain === undefined && scope.path === undefined) {
      this.#cookies = [];
      return;
    }
    this.#cookies = this.#cookies.filter((cookie) =>
      !((scope.domain === undefined || cookie.domain === scope.domain) &&
        (scope.path === undefined || cookie.path === scope.path))
    );
  }

  /** Copies every cookie of `other` into this jar (replacing same name/domain/path). */
  update(other?: CookiesInit | null): void {
    if (other == null) return;
    const incoming = other instanceof Cookies ? other : new Cookies(other);
    for (const cookie of incoming.#cookies) this.store({ ...cookie });
  }

  /**
   * Stores every `Set-Cookie` of `response` (a `Response`, as received from its request's
   * URL).
   */
  extract(
    response: { readonly headers: Headers; readonly request: { readonly url: URL } | null },
  ): void {
    const url = response.request?.url;
    if (!url) return;
    const headers = response.headers.getAll("set-cookie");
    if (headers.length === 0) return;
    const at = Date.now();
    for (const header of headers) {
      const cookie = parseSetCookie(header, url, at);
      if (cookie !== null) this.store(cookie, at);
    }
  }

  /** The cookies to send to `url`, most specific path first (expired ones are dropped). */
  matching(url: URL, at: number = Date.now()): Cookie[] {
    const host = hostOf(url);
    const secure = url.protocol === "https:" || url.protocol === "wss:";
    const path = url.pathname || "/";
    const result: Cookie[] = [];
    let expired = false;
    for (const cookie of this.#cookies) {
      if (cookie.expires !== null && cookie.expires <= at) {
        expired = true;
        continue;
      }
      if (cookie.secure && !secure) continue;
      if (cookie.domain !== "") {
        if (cookie.hostOnly ? host !== cookie.domain : !domainMatch(host, cookie.domain)) {
          continue;
        }
      }
      if (!pathMatch(path, cookie.path)) continue;
      result.push(cookie);
    }
    if (expired) {
      this.#cookies = this.#cookies.filter((c) => c.expires === null || c.expires > at);
    }
    if (result.length > 1) {
      result.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    }
    return result;
  }

  /** The `Cookie` header value for `url`, or `null` when no cookie matches. */
  header(url: URL): string | null {
    if (this.#cookies.length === 0) return null;
    const cookies = this.matching(url);
    if (cookies.length === 0) return null;
    let value = `${cookies[0].name}=${cookies[0].value}`;
    for (let i = 1; i < cookies.length; i++) value += `; ${cookies[i].name}=${cookies[i].value}`;
    return value;
  }

  /** Sets the `Cookie` header of `request` (a `Request`) from this jar, when any cookie matches. */
  applyTo(request: { readonly url: URL; readonly headers: Headers }): void {
    const value = this.header(request.url);
    if (value !== null) request.headers.set("Cookie", value);
  }

  /** Every stored cookie. */
  [Symbol.iterator](): Iterator<Cookie> {
    return this.#cookies.slice()[Symbol.iterator]();
  }

  /** A plain object of names to values (the last one wins on duplicates). */
  toJSON(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const cookie of this.#cookies) result[cookie.name] = cookie.value;
    return result;
  }

  /** `<Cookies [name=value for domain, …]>` */
  toString(): string {
    const items = this.#cookies.map((cookie) =>
      `<Cookie ${cookie.name}=${cookie.value} for ${cookie.domain || "*"}${cookie.path}>`
    );
    return `<Cookies[${items.join(", ")}]>`;
  }

  /** Shown by `Deno.inspect`. */
  [INSPECT](): string {
    return this.toString();
  }

  /** Shown by Node's `util.inspect`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }
}

/**
 * An `Expires` date. HTTP dates are in GMT, but `Date.parse` reads a date without a zone
 * (the asctime form `Sun Nov  6 08:49:37 1994`) as local time: such a date gets `GMT`.
 */
function parseCookieDate(text: string): number {
  const zoned = /(?:\b(?:GMT|UTC|UT)\b|[+-]\d{2}:?\d{2}$|Z$)/i.test(text.trim());
  return Date.parse(zoned ? text : `${text} GMT`);
}
