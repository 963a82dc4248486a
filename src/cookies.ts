/**
 * A cookie jar after RFC 6265bis, as browsers and tough-cookie behave: `Set-Cookie` parsing,
 * domain and path matching, host-only cookies, `Secure`, `Expires` and `Max-Age`.
 *
 * Against a hostile server:
 * - **Public suffixes**: a `Domain` that is a public suffix (`co.uk`, `github.io`) is
 *   refused, unless the host is that suffix itself (the cookie is then host-only). The list
 *   is the Public Suffix List (ICANN and private sections) in npm `tldts`, loaded on first
 *   need; until it is loaded ({@linkcode Cookies.loadPublicSuffixList}, which the client
 *   calls when a `Set-Cookie` carries `Domain`), such cookies are refused unless the
 *   `Domain` is the host itself (then host-only).
 * - **Secure**: an insecure origin (`http:`) cannot set a `Secure` cookie, nor overwrite
 *   (or shadow) one with the same name whose domain and path overlap; `__Secure-` names
 *   need `Secure` from a secure origin, `__Host-` names also no `Domain` and `Path=/`
 *   (prefixes matched ignoring case).
 * - **Limits**: name and value at most {@linkcode MAX_COOKIE_SIZE} bytes together, an
 *   attribute value at most 1024 (a longer one is ignored), at most
 *   {@linkcode MAX_COOKIES_PER_DOMAIN} cookies per domain and {@linkcode MAX_COOKIES} in
 *   all, the oldest evicted first. Cookies are indexed by domain, so a store costs the
 *   same whatever the jar holds.
 * - A name or value with a control character (but HTAB) is ignored when a server sends it
 *   and refused with a `TypeError` when set by hand (and `;` too).
 *
 * Not done: `SameSite` enforcement (a client sending its own requests has no "site" to
 * compare) and persistence to disk. Cookies are not isolated by port (RFC 6265 §8.5).
 *
 * Cookies set by hand without a domain (`cookies: { session: "x" }`) are sent to every
 * host, as httpx does with its `cookies=` dictionaries.
 *
 * @module
 */

import { CookieConflict } from "./errors.ts";
import type { Headers } from "./models/headers.ts";
import { inspectAsRepr } from "./_inspect.ts";
import { isPublicSuffix, loadPublicSuffixList } from "./_public_suffix.ts";

/** Bytes of a cookie's name and value together, at most (RFC 6265bis, browsers). */
export const MAX_COOKIE_SIZE = 4096;
/** Cookies kept per domain; storing one more evicts the domain's oldest. */
export const MAX_COOKIES_PER_DOMAIN = 50;
/** Cookies kept in one jar; storing one more evicts the oldest. */
export const MAX_COOKIES = 3000;
const MAX_ATTRIBUTE_SIZE = 1024;

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
export type CookiesInit =
  | Cookies
  | Record<string, string | undefined>
  | Iterable<readonly [string, string]>;

/** Where {@linkcode Cookies.set}, `get` and `delete` look. */
export interface CookieScope {
  /** The domain (`""` or left out: any host). */
  domain?: string;
  /** The path (default `"/"`). */
  path?: string;
}

let creationCounter = 0;

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":") || host.startsWith("[");
}

/** RFC 6265 §5.1.3 domain-match. */
function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return !isIpAddress(host) && host.endsWith(domain) &&
    host.charCodeAt(host.length - domain.length - 1) === 46 /* . */;
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatch(requestPath: string, cookiePath: string): boolean {
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

/** Whether a cookie may be set and sent over `url` as a secure origin (https, wss). */
function isSecureOrigin(url: URL): boolean {
  return url.protocol === "https:" || url.protocol === "wss:";
}

/** A control character other than HTAB (RFC 6265bis refuses them in names and values). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Whether `name` starts with `prefix`, ignoring case (as browsers match cookie prefixes). */
function hasPrefix(name: string, prefix: string): boolean {
  return name.length >= prefix.length &&
    name.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

/**
 * Parses one `Set-Cookie` value as received from `url`. Returns `null` for cookies the
 * RFC says to ignore: no `=`, an empty name, a name and value over
 * {@linkcode MAX_COOKIE_SIZE} bytes or with a control character, a `Domain` the host
 * does not match or that is a public suffix, `Secure` from an insecure origin, and
 * `__Secure-` or `__Host-` names without what their prefix requires.
 */
export function parseSetCookie(header: string, url: URL, at: number = Date.now()): Cookie | null {
  const parts = header.split(";");
  const pair = parts[0];
  const eq = pair.indexOf("=");
  if (eq === -1) return null;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (!name || name.length + value.length > MAX_COOKIE_SIZE) return null;
  if (CONTROL.test(name) || CONTROL.test(value)) return null;
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
    if (val.length > MAX_ATTRIBUTE_SIZE) continue;
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
  const secureOrigin = isSecureOrigin(url);
  if (secure && !secureOrigin) return null;
  if (hasPrefix(name, "__Secure-") && !secure) return null;
  if (hasPrefix(name, "__Host-") && (!secure || domain !== null || path !== "/")) return null;
  if (maxAge !== null) expires = maxAge <= 0 ? 0 : at + maxAge * 1000;
  let hostOnly = true;
  if (domain !== null && isIpAddress(host)) {
    // An IP address has no parent domains: its own address only, host-only.
    if (domain !== host) return null;
  } else if (domain !== null) {
    const suffix = isPublicSuffix(domain);
    if (suffix !== false) {
      // A public suffix (or, before the list is loaded, anything): only as the host itself.
      if (domain !== host) return null;
    } else {
      if (!domainMatch(host, domain)) return null;
      hostOnly = false;
    }
  }
  if (hostOnly) domain = host;
  return {
    name,
    value,
    domain: domain!,
    hostOnly,
    path: path ?? defaultPath(url.pathname),
    secure,
    httpOnly,
    expires,
    created: creationCounter++,
  };
}

/** Refuses what would put a second cookie (or a broken header) on the wire. */
function checkHandSet(name: string, value: string): void {
  if (!name || /[\s;=,]/.test(name) || CONTROL.test(name)) {
    throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}`);
  }
  if (value.includes(";") || CONTROL.test(value)) {
    throw new TypeError(
      `Invalid value of cookie ${JSON.stringify(name)}: ${
        JSON.stringify(value)
      } (";" and control characters are not allowed)`,
    );
  }
}

/** The domains whose cookies may go to `host`: itself, its parents, and `""` (any host). */
function candidateDomains(host: string): string[] {
  const domains = [host];
  if (!isIpAddress(host)) {
    for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
      domains.push(host.slice(dot + 1));
    }
  }
  domains.push("");
  return domains;
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
  /** Cookies by domain (`""`: any host), each list oldest first. */
  #byDomain = new Map<string, Cookie[]>();
  /** Every cookie, oldest first: the next to evict when the jar is full. */
  #all = new Set<Cookie>();
  /** Secure cookies by name, for the rule that an insecure origin cannot shadow them. */
  #secureByName = new Map<string, Set<Cookie>>();

  /**
   * Loads the Public Suffix List (npm `tldts`), so that cookies with a `Domain` attribute
   * can be stored; until then they are refused unless their `Domain` is the host itself.
   * The client calls it when a response sets such a cookie; call it first when you use a
   * jar by hand.
   *
   * @example
   * ```ts
   * import { Cookies, Request, Response } from "@ferry/ferry";
   * await Cookies.loadPublicSuffixList();
   * const jar = new Cookies();
   * jar.extract(new Response(200, {
   *   headers: { "Set-Cookie": "a=1; Domain=example.co.uk" },
   *   request: new Request("GET", "https://www.example.co.uk/"),
   * }));
   * console.log(jar.header(new URL("https://example.co.uk/"))); // "a=1"
   * ```
   */
  static loadPublicSuffixList(): Promise<void> {
    return loadPublicSuffixList();
  }

  /** Creates a jar from another jar, a record of names to values, or pairs. */
  constructor(init?: CookiesInit | null) {
    if (init == null) return;
    if (init instanceof Cookies) {
      for (const cookie of init.#all) this.#add({ ...cookie });
    } else if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        this.set(name, value);
      }
    } else {
      for (const [name, value] of Object.entries(init)) {
        if (value !== undefined) this.set(name, value);
      }
    }
  }

  /** How many cookies are stored (expired ones included until they are next looked at). */
  get size(): number {
    return this.#all.size;
  }

  /**
   * Stores a cookie by hand. Without a domain it is sent to every host. A name that is not
   * a token, or a value with `;` or a control character, is a `TypeError`.
   */
  set(name: string, value: string, scope: CookieScope = {}): void {
    checkHandSet(name, value);
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
    const list = this.#byDomain.get(cookie.domain);
    const existing = list?.find((c) => c.name === cookie.name && c.path === cookie.path);
    const expired = cookie.expires !== null && cookie.expires <= at;
    if (existing !== undefined) {
      if (expired) return this.#remove(existing);
      // In place: the cookie keeps its age (and its place in the eviction order).
      if (existing.secure) this.#secureByName.get(existing.name)?.delete(existing);
      Object.assign(existing, cookie, { created: existing.created });
      if (existing.secure) this.#indexSecure(existing);
    } else if (!expired) {
      this.#add(cookie);
    }
  }

  #add(cookie: Cookie): void {
    let list = this.#byDomain.get(cookie.domain);
    if (list === undefined) this.#byDomain.set(cookie.domain, list = []);
    list.push(cookie);
    this.#all.add(cookie);
    if (cookie.secure) this.#indexSecure(cookie);
    if (list.length > MAX_COOKIES_PER_DOMAIN) this.#remove(list[0]);
    if (this.#all.size > MAX_COOKIES) this.#remove(this.#all.values().next().value!);
  }

  #indexSecure(cookie: Cookie): void {
    let named = this.#secureByName.get(cookie.name);
    if (named === undefined) this.#secureByName.set(cookie.name, named = new Set());
    named.add(cookie);
  }

  #remove(cookie: Cookie): void {
    const list = this.#byDomain.get(cookie.domain);
    if (list !== undefined) {
      const index = list.indexOf(cookie);
      if (index !== -1) list.splice(index, 1);
      if (list.length === 0) this.#byDomain.delete(cookie.domain);
    }
    this.#all.delete(cookie);
    const named = this.#secureByName.get(cookie.name);
    if (named !== undefined && named.delete(cookie) && named.size === 0) {
      this.#secureByName.delete(cookie.name);
    }
  }

  /**
   * Whether a non-secure cookie from an insecure origin would overwrite or shadow a
   * `Secure` one (RFC 6265bis §5.7): same name, overlapping domains, its path within.
   */
  #shadowsSecure(cookie: Cookie): boolean {
    const named = this.#secureByName.get(cookie.name);
    if (named === undefined) return false;
    for (const secure of named) {
      if (
        (domainMatch(secure.domain, cookie.domain) || domainMatch(cookie.domain, secure.domain)) &&
        pathMatch(cookie.path, secure.path)
      ) return true;
    }
    return false;
  }

  /**
   * The value of the cookie `name` (narrowed by `domain` and `path`), or `null`. Throws
   * {@linkcode CookieConflict} when several match.
   */
  get(name: string, scope: CookieScope = {}): string | null {
    let found: Cookie | null = null;
    for (const cookie of this.#scoped(scope)) {
      if (cookie.name !== name) continue;
      if (found !== null && found.value !== cookie.value) {
        throw new CookieConflict(`Multiple cookies exist with name ${JSON.stringify(name)}`);
      }
      found = cookie;
    }
    return found?.value ?? null;
  }

  /** The cookies of `scope` (one domain's list when it names one). */
  #scoped(scope: CookieScope): Cookie[] {
    const cookies = scope.domain !== undefined
      ? [...(this.#byDomain.get(scope.domain) ?? [])]
      : [...this.#all];
    return scope.path === undefined ? cookies : cookies.filter((c) => c.path === scope.path);
  }

  /** Removes the cookies named `name` (narrowed by `domain` and `path`). */
  delete(name: string, scope: CookieScope = {}): void {
    for (const cookie of this.#scoped(scope)) if (cookie.name === name) this.#remove(cookie);
  }

  /** Removes every cookie, or those of one domain (and path). */
  clear(scope: CookieScope = {}): void {
    if (scope.domain === undefined && scope.path === undefined) {
      this.#byDomain.clear();
      this.#all.clear();
      this.#secureByName.clear();
      return;
    }
    for (const cookie of this.#scoped(scope)) this.#remove(cookie);
  }

  /** Copies every cookie of `other` into this jar (replacing same name/domain/path). */
  update(other?: CookiesInit | null): void {
    if (other == null) return;
    const incoming = other instanceof Cookies ? other : new Cookies(other);
    for (const cookie of incoming.#all) this.store({ ...cookie });
  }

  /**
   * Stores every `Set-Cookie` of `response` (a `Response`, as received from its request's
   * URL), by the rules of the module documentation.
   */
  extract(
    response: { readonly headers: Headers; readonly request: { readonly url: URL } | null },
  ): void {
    const url = response.request?.url;
    if (!url) return;
    const headers = response.headers.getAll("set-cookie");
    if (headers.length === 0) return;
    const at = Date.now();
    const secureOrigin = isSecureOrigin(url);
    for (const header of headers) {
      const cookie = parseSetCookie(header, url, at);
      if (cookie === null) continue;
      if (!secureOrigin && this.#shadowsSecure(cookie)) continue;
      this.store(cookie, at);
    }
  }

  /** The cookies to send to `url`, most specific path first (expired ones are dropped). */
  matching(url: URL, at: number = Date.now()): Cookie[] {
    const host = hostOf(url);
    const secure = isSecureOrigin(url);
    const path = url.pathname || "/";
    const result: Cookie[] = [];
    let expired: Cookie[] | null = null;
    for (const domain of candidateDomains(host)) {
      const list = this.#byDomain.get(domain);
      if (list === undefined) continue;
      for (const cookie of list) {
        if (cookie.expires !== null && cookie.expires <= at) {
          (expired ??= []).push(cookie);
          continue;
        }
        if (cookie.secure && !secure) continue;
        if (cookie.hostOnly && cookie.domain !== "" && host !== cookie.domain) continue;
        if (!pathMatch(path, cookie.path)) continue;
        result.push(cookie);
      }
    }
    if (expired !== null) { for (const cookie of expired) this.#remove(cookie); }
    if (result.length > 1) {
      result.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    }
    return result;
  }

  /** The `Cookie` header value for `url`, or `null` when no cookie matches. */
  header(url: URL): string | null {
    if (this.#all.size === 0) return null;
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

  /** Every stored cookie, oldest first. */
  [Symbol.iterator](): Iterator<Cookie> {
    return [...this.#all][Symbol.iterator]();
  }

  /** A plain object of names to values (the last one wins on duplicates). */
  toJSON(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const cookie of this.#all) result[cookie.name] = cookie.value;
    return result;
  }

  /** `<Cookies [name=value for domain, …]>` */
  toString(): string {
    const items = [...this.#all].map((cookie) =>
      `<Cookie ${cookie.name}=${cookie.value} for ${cookie.domain || "*"}${cookie.path}>`
    );
    return `<Cookies[${items.join(", ")}]>`;
  }
}

inspectAsRepr(Cookies);

/**
 * Loads the Public Suffix List when one of `response`'s `Set-Cookie` values carries a
 * `Domain` attribute and the list is not loaded yet; otherwise does nothing.
 */
export async function preparePublicSuffixes(
  response: { readonly headers: Headers },
): Promise<void> {
  for (const header of response.headers.getAll("set-cookie")) {
    if (/;\s*domain\s*=/i.test(header)) return await loadPublicSuffixList();
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
