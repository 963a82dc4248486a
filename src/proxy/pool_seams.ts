/**
 * What a connection pool does differently when it has a proxy: how it files connections
 * ({@linkcode proxyPoolKey}), how it opens their streams ({@linkcode openProxiedStream})
 * and what a forwarded request looks like on the wire ({@linkcode forwardedRequest}).
 *
 * ```
 * forward  (http:// by default)  TCP (+TLS) to proxy; requests in absolute form with the
 *                                proxy's headers: GET http://example.com/ HTTP/1.1
 * tunnel   (https:// by default) TCP (+TLS) to proxy; CONNECT example.com:443; TLS to the
 *                                target inside the tunnel; requests in origin form,
 *                                without the proxy's headers
 * socks5                         TCP to proxy; SOCKS5 handshake; TLS to the target for
 *                                https; requests in origin form
 * ```
 *
 * Proxy headers (`Proxy-Authorization`) are added to a forwarded request's copy only, so
 * they never reach the request a client keeps (and follows redirects with), never go
 * through a tunnel, and never reach the target.
 *
 * @module
 */

import type { Origin } from "../_origin.ts";
import { ConnectError, ProxyError } from "../errors.ts";
import type { Response } from "../models/response.ts";
import { traced } from "../_trace.ts";
import { Headers } from "../models/headers.ts";
import { Request, type RequestExtensions } from "../models/request.ts";
import type {
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
  TlsSettings,
} from "../network/types.ts";
import type { Proxy } from "./proxy.ts";
import { socks5Connect } from "./socks5.ts";
import { openTunnel } from "./tunnel.ts";
import { targetTlsOptions } from "../connection/mod.ts";

/** Options of {@linkcode openProxiedStream}. */
export interface ProxiedStreamOptions {
  /** Opens the TCP connection to the proxy. */
  backend: NetworkBackendInterface;
  /** TLS settings for an `https` target (the proxy's own come from `proxy.tls`). */
  tls?: TlsSettings;
  /** A local address to bind to. */
  localAddress?: string;
  /** The ALPN protocols to offer to an `https` target. Default `["http/1.1"]`. */
  alpnProtocols?: string[];
}

/**
 * The pool key of a request to `url` through `proxy`. Connections are interchangeable only
 * when they go through the same proxy (URL, credentials and mode) to the same target
 * origin, so a tunnel is never reused for another origin, nor a forwarding connection
 * across proxies.
 *
 * @example
 * ```ts ignore
 * const proxy = new Proxy("http://127.0.0.1:3128");
 * proxyPoolKey(proxy, new URL("https://a.example/")) !==
 *   proxyPoolKey(proxy, new URL("https://b.example/")); // true
 * ```
 */
export function proxyPoolKey(proxy: Proxy, url: URL): string {
  return `${url.protocol}${url.host} via ${proxy.key}`;
}

/**
 * The request to send on a connection through `proxy`: for a forwarded request, a copy
 * with the absolute-form target and the proxy's headers; otherwise `request` itself, with
 * any `Proxy-Authorization` taken out (it must not reach the target through a tunnel).
 *
 * @example
 * ```ts ignore
 * const proxy = new Proxy("http://user:pw@127.0.0.1:3128");
 * const sent = forwardedRequest(proxy, new Request("GET", "http://example.com/a?b"));
 * sent.extensions.target; // "http://example.com/a?b"
 * sent.headers.get("proxy-authorization"); // "Basic dXNlcjpwdw=="
 * ```
 */
export function forwardedRequest(proxy: Proxy, request: Request): Request {
  if (proxy.tunnels(request.url)) {
    if (!request.headers.has("proxy-authorization")) return request;
    const headers = new Headers(request.headers);
    headers.delete("proxy-authorization");
    // The copy keeps the target the caller wrote (its URL alone would give WHATWG's).
    return copyRequest(request, headers, {
      ...request.extensions,
      target: request.extensions.target ?? request.target,
    });
  }
  const headers = new Headers(request.headers);
  for (const [name, value] of proxy.headers) {
    if (!headers.has(name)) headers.append(name, value);
  }
  const url = request.url;
  const target = `${url.protocol}//${url.host}${request.target}`;
  return copyRequest(request, headers, { ...request.extensions, target });
}

/**
 * What the pool does with a response to a request it sent through `proxy` (as `sent`, a
 * copy of `request`): the response gets the caller's request back, and a `407` to a
 * forwarded request, which can only be the proxy's, becomes a {@linkcode ProxyError} with
 * its status and reason (its body is discarded and the connection handed back).
 *
 * @example
 * ```ts ignore
 * const response = await finishForwarded(proxy, request, await connection.send(sent));
 * ```
 */
export async function finishForwarded(
  proxy: Proxy,
  request: Request,
  response: Response,
): Promise<Response> {
  response.request = request;
  if (response.status !== 407 || proxy.tunnels(request.url)) return response;
  await response.close().catch(() => {});
  const reason = response.reasonPhrase;
  throw new ProxyError(
    `${proxy.origin}: refused to forward ${request.method} ${
      JSON.stringify(request.url.href)
    } with 407${reason ? ` ${reason}` : ""}`,
    { status: 407, reasonPhrase: reason, request },
  );
}

function copyRequest(request: Request, headers: Headers, extensions: RequestExtensions): Request {
  return new Request(request.method, request.url, {
    headers,
    content: request.content,
    extensions,
  });
}

/**
 * Opens a stream to `origin` through `proxy`: to the proxy (with TLS for an `https://`
 * proxy), then, unless the request is forwarded, a `CONNECT` tunnel or a SOCKS5 handshake
 * and TLS to an `https` target inside it. Whatever fails, every stream opened so far is
 * closed before the error is thrown. Emits the `connection.*` trace events, plus
 * `proxy.connect` (tunnel) and `proxy.socks5` (SOCKS5) around the handshakes.
 *
 * @example
 * ```ts ignore
 * const proxy = new Proxy("socks5h://127.0.0.1:1080");
 * const stream = await openProxiedStream(
 *   proxy,
 *   { scheme: "https", host: "example.com", port: 443 },
 *   { backend },
 *   5000,
 *   null,
 * );
 * ```
 */
export async function openProxiedStream(
  proxy: Proxy,
  origin: Origin,
  options: ProxiedStreamOptions,
  connectMs: number | null | undefined,
  extensions: RequestExtensions | null,
): Promise<NetworkStreamInterface> {
  const trace = extensions?.trace;
  const step = <T>(name: string, info: Record<string, unknown>, fn: () => Promise<T>) =>
    trace ? traced(trace, name, info, fn) : fn();
  const backend = options.backend;
  let stream = await step("connection.connect_tcp", {
    host: proxy.host,
    port: proxy.port,
    local_address: options.localAddress ?? null,
    timeout: connectMs ?? null,
  }, () =>
    backend.connect(proxy.host, proxy.port, {
      timeoutMs: connectMs,
      localAddress: options.localAddress,
      signal: extensions?.signal,
    }));
  try {
    if (proxy.isTls) {
      // The proxy's own TLS settings, or else the pool's CAs and `verify` (not its client
      // certificate, which is for the target): a client's `verify` covers the proxy too.
      const own: TlsOptions = Object.keys(proxy.tls).length > 0
        ? proxy.tls
        : { caCerts: options.tls?.caCerts, verify: options.tls?.verify };
      const tlsOptions: TlsOptions = {
        alpnProtocols: ["http/1.1"],
        ...own,
        hostname: proxy.tls.hostname ?? proxy.host,
      };
      const plain = stream;
      stream = await step("connection.start_tls", {
        ssl_context: tlsOptions,
        server_hostname: tlsOptions.hostname,
        timeout: connectMs ?? null,
      }, () => plain.startTls(tlsOptions, connectMs));
    }
    const url = new URL(`${origin.scheme}://${authority(origin)}/`);
    if (!proxy.tunnels(url)) return stream;
    const viaProxy = stream;
    if (proxy.kind === "socks5") {
      // A backend may offer name resolution (an optional extension of the contract).
      const lookup = (backend as { resolve?: (host: string) => Promise<string | string[]> })
        .resolve;
      const resolve = lookup === undefined ? undefined : async (host: string) => {
        const found = await lookup.call(backend, host);
        const first = Array.isArray(found) ? found[0] : found;
        if (first === undefined) throw new ConnectError(`No address for ${JSON.stringify(host)}`);
        return first;
      };
      await step(
        "proxy.socks5",
        { host: origin.host, port: origin.port },
        () =>
          socks5Connect(viaProxy, origin.host, origin.port, {
            auth: proxy.auth,
            remoteDns: proxy.remoteDns,
            resolve,
            timeoutMs: connectMs,
            proxyName: proxy.origin,
          }),
      );
    } else {
      stream = await step(
        "proxy.connect",
        { target: authority(origin) },
        () =>
          openTunnel(viaProxy, authority(origin), {
            headers: proxy.headers,
            timeoutMs: connectMs,
            proxyName: proxy.origin,
          }),
      );
    }
    if (origin.scheme === "https") {
      const tlsOptions = targetTlsOptions(
        origin,
        extensions,
        options.tls,
        options.alpnProtocols,
      );
      const hostname = tlsOptions.hostname;
      const tunnel = stream;
      stream = await step("connection.start_tls", {
        ssl_context: tlsOptions,
        server_hostname: hostname,
        timeout: connectMs ?? null,
      }, () => tunnel.startTls(tlsOptions, connectMs)).catch((error) => {
        // TLS inside TLS (an https:// proxy, then an https target) needs a backend that
        // can layer it; say so rather than "TLS is already active".
        if (proxy.isTls && error instanceof ConnectError && /already active/.test(error.message)) {
          throw new ConnectError(
            `Cannot reach ${JSON.stringify(`https://${authority(origin)}`)} through the ` +
              `https proxy ${JSON.stringify(proxy.origin)}: this network backend cannot ` +
              `start TLS inside TLS; use an http:// proxy URL (the tunnel is still TLS ` +
              `to the target)`,
            { cause: error },
          );
        }
        throw error;
      });
    }
    return stream;
  } catch (error) {
    await stream.close().catch(() => {});
    throw error;
  }
}

/** `host:port`, with IPv6 hosts in brackets. */
function authority(origin: Origin): string {
  const host = origin.host.includes(":") ? `[${origin.host}]` : origin.host;
  return `${host}:${origin.port}`;
}
