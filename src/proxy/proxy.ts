/**
 * `Proxy`: where and how requests go through a proxy (httpx's `httpx.Proxy`).
 *
 * A proxy URL is `http://` or `https://` (an HTTP proxy, reached in clear or over TLS),
 * `socks5://` (a SOCKS5 proxy, names resolved here) or `socks5h://` (names resolved by
 * the proxy). Credentials come from `auth` or from the URL's user info; for HTTP proxies
 * they become a `Proxy-Authorization: Basic …` header sent to the proxy only.
 *
 * How an HTTP proxy carries a request depends on `mode`:
 * - `"DEFAULT"`: `http://` requests are *forwarded* (sent to the proxy in absolute form,
 *   `GET http://host/path HTTP/1.1`) and `https://` requests are *tunnelled* (`CONNECT
 *   host:443`, then TLS to the target inside the tunnel);
 * - `"TUNNEL_ONLY"`: every request is tunnelled;
 * - `"FORWARD_ONLY"`: every request is forwarded, `https://` ones included (the proxy then
 *   sees the traffic in clear and makes the TLS connection itself).
 *
 * SOCKS5 proxies always tunnel.
 *
 * @module
 */

import { UnsupportedProtocol } from "../errors.ts";
import { Headers, type HeadersInit } from "../models/headers.ts";
import { parseUrl } from "../models/request.ts";
import type { TlsOptions } from "../network/types.ts";
import { basicAuthorization } from "../_basic_auth.ts";
import { inspectAsRepr } from "../_inspect.ts";

/** How an HTTP proxy carries requests; see {@linkcode Proxy}. */
export type ProxyMode = "DEFAULT" | "TUNNEL_ONLY" | "FORWARD_ONLY";

/** Options of a {@linkcode Proxy}. */
export interface ProxyInit {
  /** The proxy's URL: `http://`, `https://`, `socks5://` or `socks5h://`. */
  url: string | URL;
  /** Username and password; they override credentials in the URL. */
  auth?: readonly [string, string] | null;
  /** Extra headers sent to an HTTP proxy (with forwarded requests and with `CONNECT`). */
  headers?: HeadersInit | null;
  /** How requests go through an HTTP proxy; `"DEFAULT"` unless given. */
  mode?: ProxyMode;
  /** TLS settings for an `https://` proxy itself (its CA, a client certificate). */
  tls?: TlsOptions;
}

/** What a {@linkcode Proxy} can be given as: a URL is a shortcut for `{ url }`. */
export type ProxyLike = string | URL | ProxyInit | Proxy;

const DEFAULT_PORTS: Record<string, number> = {
  "http:": 80,
  "https:": 443,
  "socks5:": 1080,
  "socks5h:": 1080,
};

const MODES: readonly string[] = ["DEFAULT", "TUNNEL_ONLY", "FORWARD_ONLY"];

/**
 * A proxy for a pool or a client.
 *
 * @example A proxy with credentials, used by a client
 * ```ts ignore
 * import { Client, Proxy } from "@ferry/ferry";
 * const proxy = new Proxy({ url: "http://127.0.0.1:3128", auth: ["user", "secret"] });
 * await using client = new Client({ proxy });
 * const response = await client.get("https://example.com/");
 * ```
 *
 * @example What a proxy does with a URL
 * ```ts
 * import { Proxy } from "@ferry/ferry";
 * const proxy = new Proxy("http://user:secret@127.0.0.1:3128");
 * console.log(String(proxy)); // <Proxy "http://127.0.0.1:3128" auth="user">
 * console.log(proxy.tunnels(new URL("https://example.com/"))); // true
 * console.log(proxy.tunnels(new URL("http://example.com/"))); // false
 * console.log(proxy.headers.get("proxy-authorization")); // "Basic dXNlcjpzZWNyZXQ="
 * ```
 */
export class Proxy {
  /** The proxy URL without credentials, path or query. */
  readonly url: URL;
  /** The username and password, or `null` when the proxy needs none. */
  readonly auth: readonly [string, string] | null;
  /**
   * Headers sent to an HTTP proxy: the ones given plus `Proxy-Authorization` when there are
   * credentials. Never sent to the target.
   */
  readonly headers: Headers;
  /** How requests go through an HTTP proxy. */
  readonly mode: ProxyMode;
  /** TLS settings for an `https://` proxy itself. */
  readonly tls: TlsOptions;

  /** Creates a proxy from a URL or from options. */
  constructor(init: string | URL | ProxyInit) {
    const options: ProxyInit = typeof init === "string" || init instanceof URL
      ? { url: init }
      : init;
    const url = new URL(parseUrl(options.url).href);
    if (!(url.protocol in DEFAULT_PORTS)) {
      throw new UnsupportedProtocol(
        `Unsupported proxy scheme ${
          JSON.stringify(url.protocol.slice(0, -1))
        }: use "http", "https", "socks5" or "socks5h"`,
      );
    }
    if (url.hostname === "") {
      throw new UnsupportedProtocol(`Proxy URL ${JSON.stringify(url.href)} has no host`);
    }
    const mode = options.mode ?? "DEFAULT";
    if (!MODES.includes(mode)) {
      throw new TypeError(
        `Invalid proxy mode ${
          JSON.stringify(mode)
        }: use "DEFAULT", "TUNNEL_ONLY" or "FORWARD_ONLY"`,
      );
    }
    let auth = options.auth ?? null;
    if (auth === null && (url.username !== "" || url.password !== "")) {
      auth = [safeDecode(url.username), safeDecode(url.password)];
    }
    url.username = "";
    url.password = "";
    url.pathname = "";
    url.search = "";
    url.hash = "";
    this.url = url;
    this.auth = auth === null ? null : [auth[0], auth[1]];
    this.mode = mode;
    this.tls = options.tls ?? {};
    this.headers = new Headers(options.headers);
    if (this.auth !== null && this.isHttp && !this.headers.has("proxy-authorization")) {
      this.headers.set("Proxy-Authorization", basicAuthorization(this.auth[0], this.auth[1]));
    }
  }

  /**
   * A proxy from anything that can describe one; a `Proxy` is returned as is.
   *
   * @example
   * ```ts
   * import { Proxy } from "@ferry/ferry";
   * console.log(Proxy.from("socks5h://127.0.0.1:1080").remoteDns); // true
   * ```
   */
  static from(value: ProxyLike): Proxy {
    return value instanceof Proxy ? value : new Proxy(value);
  }

  /** `"http"` for `http://` and `https://` proxies, `"socks5"` for SOCKS ones. */
  get kind(): "http" | "socks5" {
    return this.isHttp ? "http" : "socks5";
  }

  /** Whether the proxy is an HTTP one (reached over `http://` or `https://`). */
  get isHttp(): boolean {
    return this.url.protocol === "http:" || this.url.protocol === "https:";
  }

  /** Whether the connection to the proxy itself is TLS (`https://` proxies). */
  get isTls(): boolean {
    return this.url.protocol === "https:";
  }

  /** Whether the proxy resolves target names itself (`socks5h://`; HTTP proxies always do). */
  get remoteDns(): boolean {
    return this.url.protocol !== "socks5:";
  }

  /** The proxy's host name (IPv6 without brackets). */
  get host(): string {
    const host = this.url.hostname;
    return host.startsWith("[") ? host.slice(1, -1) : host;
  }

  /** The proxy's port, with the scheme's default filled in. */
  get port(): number {
    return this.url.port === "" ? DEFAULT_PORTS[this.url.protocol] : Number(this.url.port);
  }

  /** `scheme://host:port` of the proxy, without credentials. */
  get origin(): string {
    return `${this.url.protocol}//${this.url.host}`;
  }

  /** A string that tells proxies apart, credentials included: for pool keys. */
  get key(): string {
    const auth = this.auth === null ? "" : ` ${this.auth[0]}:${this.auth[1]}`;
    return `${this.origin}${auth} ${this.mode}`;
  }

  /** Whether a request to `url` goes through a tunnel (`CONNECT` or SOCKS5) rather than forwarded. */
  tunnels(url: URL): boolean {
    if (!this.isHttp || this.mode === "TUNNEL_ONLY") return true;
    if (this.mode === "FORWARD_ONLY") return false;
    return url.protocol === "https:";
  }

  /** `<Proxy "http://127.0.0.1:3128" auth="user">`: never the password. */
  toString(): string {
    const auth = this.auth === null ? "" : ` auth=${JSON.stringify(this.auth[0])}`;
    const mode = this.mode === "DEFAULT" ? "" : ` ${this.mode}`;
    return `<Proxy ${JSON.stringify(this.origin)}${auth}${mode}>`;
  }
}

inspectAsRepr(Proxy);

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
