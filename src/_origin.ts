/**
 * Origins: the scheme, host and port a connection talks to, and the key the pool files
 * connections under. Proxies plug in here: a request through a proxy is keyed by the
 * proxy (forward) or by proxy plus target (tunnel), computed in one place.
 *
 * @module
 */

import { UnsupportedProtocol } from "./errors.ts";

/** Where a connection goes. */
export interface Origin {
  /** `"http"` or `"https"`. */
  readonly scheme: "http" | "https";
  /** The host name or IP address, without brackets for IPv6. */
  readonly host: string;
  /** The port, with the scheme's default filled in. */
  readonly port: number;
}

/** The scheme's default port. */
export function defaultPort(scheme: "http" | "https"): number {
  return scheme === "https" ? 443 : 80;
}

/** The origin of `url`; only `http:` and `https:` are supported. */
export function originOf(url: URL): Origin {
  const protocol = url.protocol;
  let scheme: "http" | "https";
  if (protocol === "http:") scheme = "http";
  else if (protocol === "https:") scheme = "https";
  else {
    throw new UnsupportedProtocol(
      `Unsupported scheme ${JSON.stringify(protocol)} in URL ${JSON.stringify(url.href)}`,
    );
  }
  let host = url.hostname;
  if (host.length === 0) {
    throw new UnsupportedProtocol(`Missing host in URL ${JSON.stringify(url.href)}`);
  }
  if (host.charCodeAt(0) === 91 /* [ */) host = host.slice(1, -1);
  const port = url.port === "" ? defaultPort(scheme) : Number(url.port);
  return { scheme, host, port };
}

/** `"https://www.example.com"`, `"http://127.0.0.1:8080"`: the origin as a URL string. */
export function originString(origin: Origin): string {
  const host = origin.host.includes(":") ? `[${origin.host}]` : origin.host;
  return origin.port === defaultPort(origin.scheme)
    ? `${origin.scheme}://${host}`
    : `${origin.scheme}://${host}:${origin.port}`;
}

/**
 * The pool key of a request to `url`: connections filed under the same key are
 * interchangeable. Forward and tunnel proxies extend it.
 */
export function poolKey(url: URL): string {
  // `protocol` + `host` identifies scheme, host and port (default ports are elided by URL).
  return url.protocol + url.host;
}
