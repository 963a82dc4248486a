/**
 * Following a redirect, as httpx does: which method, URL, headers and body the next
 * request has. Pure apart from reading the cookie jar.
 *
 * - 301/302 turn POST into GET; 303 turns everything but HEAD into GET. A changed method
 *   drops the body and its headers; an unchanged one resends the body (a streamed body
 *   cannot be resent: `StreamConsumed`).
 * - `Location` resolves against the request URL; a fragment carries over when the new URL
 *   has none; only `http:` and `https:` are followed.
 * - Across origins `Host` names the new target and `Authorization` and
 *   `Proxy-Authorization` are dropped (not on an http→https upgrade of the same host).
 * - `Cookie` is rebuilt from the client's jar for the new URL.
 *
 * @module
 */

import { Headers } from "./models/headers.ts";
import { Request } from "./models/request.ts";
import type { Response } from "./models/response.ts";
import type { Cookies } from "./cookies.ts";
import { mergeHeaders } from "./merge.ts";
import { RemoteProtocolError, StreamConsumed, UnsupportedProtocol } from "./errors.ts";

const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
const ABSOLUTE_PATH = /^\/(?![/\\])/;

const BODYLESS_REDIRECT_HEADERS = ["content-length", "transfer-encoding", "content-type"];

/** The request that follows the redirect `response` to `request`. */
export function buildRedirectRequest(
  request: Request,
  response: Response,
  cookies: Cookies,
): Request {
  const status = response.status;
  let method = request.method;
  if (status === 303 && method !== "HEAD") method = "GET";
  if ((status === 301 || status === 302) && method === "POST") method = "GET";

  let location = response.headers.get("location")!;
  // An absolute Location without a host (`http:///path`) means the request's host, as
  // httpx reads it (the URL parser would take the first path segment for a host).
  const hostless = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(?=[/?#]|$)/.exec(location);
  if (hostless !== null) {
    location = hostless[1] + request.url.host + location.slice(hostless[1].length);
  }
  // An absolute Location, or an absolute path on the same origin, stays text, so that
  // its path is sent as the server wrote it.
  let target: string | URL;
  try {
    target = ABSOLUTE.test(location)
      ? location
      : ABSOLUTE_PATH.test(location)
      ? request.url.origin + location.replace(/\?(?=#|$)/, "") // httpx's join drops a bare "?"
      : new URL(location, request.url);
    if (typeof target === "string") new URL(target);
  } catch (cause) {
    throw new RemoteProtocolError(
      `Invalid URL in location header: '${location}'.`,
      { request, cause },
    );
  }
  const url = typeof target === "string" ? new URL(target) : target;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UnsupportedProtocol(
      `Request URL has an unsupported protocol '${url.protocol}//'.`,
      { request },
    );
  }
  if (!url.hash && request.url.hash) url.hash = request.url.hash;

  // Across origins, Host names the new target (on the same origin it stays as it was).
  const origin = sameOrigin(request.url, url);
  const headers = origin ? new Headers(request.headers) : mergeHeaders(
    new Headers(),
    request.headers.pairs().filter(([name]) => name.length !== 4 || name.toLowerCase() !== "host"),
    url.host,
  );
  if (!origin && !isHttpsUpgrade(request.url, url)) {
    headers.delete("authorization");
    headers.delete("proxy-authorization");
  }
  let content = request.content;
  if (method !== request.method) {
    for (const name of BODYLESS_REDIRECT_HEADERS) headers.delete(name);
    content = null;
  } else if (!request.isReplayable) {
    throw new StreamConsumed(
      `Cannot follow a ${status} redirect with a streamed body: it was already sent`,
    );
  }
  headers.delete("cookie");
  const cookie = cookies.header(url);
  if (cookie !== null) headers.set("Cookie", cookie);
  const next = new Request(method, target, {
    headers,
    content,
    extensions: request.extensions,
  });
  next.url = url; // the same object, with the fragment carried over
  return next;
}

/** Whether two URLs have the same scheme, host and port. */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

/** An http→https redirect to the same host on the default ports. */
function isHttpsUpgrade(from: URL, to: URL): boolean {
  return from.protocol === "http:" && to.protocol === "https:" &&
    from.hostname === to.hostname && (from.port === "" || from.port === "80") &&
    (to.port === "" || to.port === "443");
}
