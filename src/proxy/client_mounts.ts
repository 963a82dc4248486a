/**
 * The client's proxy mounts, as httpx builds them: `proxy` (one proxy for everything)
 * or, with `trustEnv`, the environment's proxies and `NO_PROXY` exceptions, as URL
 * patterns to transports. The client merges its own `mounts` over these and picks the
 * most specific match per request; a `null` mount means "the default transport" (no
 * proxy), which is how `NO_PROXY` entries bypass the proxy.
 *
 * @module
 */

import type { Transport } from "../models/transport.ts";
import type { Request } from "../models/request.ts";
import type { Response } from "../models/response.ts";
import { type Environment, getEnvironmentProxies, readEnvironment } from "./env.ts";
import { Proxy, type ProxyLike } from "./proxy.ts";

/** Options of {@linkcode proxyMounts}. */
export interface ProxyMountsOptions {
  /** One proxy for every request; the environment is then ignored. */
  proxy?: ProxyLike | null;
  /** Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`. Default `true`. */
  trustEnv?: boolean;
  /** The environment to read instead of the process's (for tests). */
  env?: Environment;
}

/**
 * Mounts for the proxies of `options`: `{ "all://": transport }` for an explicit proxy,
 * else (with `trustEnv`) one entry per environment proxy or `NO_PROXY` exception, the
 * exceptions as `null`. `makeTransport` makes the transport of each proxy (one per proxy
 * URL, shared by the patterns that use it).
 *
 * @example
 * ```ts ignore
 * const mounts = proxyMounts(
 *   { env: { HTTPS_PROXY: "http://127.0.0.1:3128", NO_PROXY: "localhost" } },
 *   (proxy) => new ConnectionPool({ proxy }),
 * );
 * // { "https://": <ConnectionPool>, "all://localhost": null }
 * ```
 */
export function proxyMounts(
  options: ProxyMountsOptions,
  makeTransport: (proxy: Proxy) => Transport,
): Record<string, Transport | null> {
  if (options.proxy != null) return { "all://": makeTransport(Proxy.from(options.proxy)) };
  if (options.trustEnv === false) return {};
  const mounts: Record<string, Transport | null> = {};
  const transports = new Map<string, Transport>();
  for (
    const [pattern, url] of Object.entries(getEnvironmentProxies(options.env ?? readEnvironment()))
  ) {
    if (url === null) {
      mounts[pattern] = null;
      continue;
    }
    let transport = transports.get(url);
    if (transport === undefined) {
      transport = makeTransport(new Proxy(url));
      transports.set(url, transport);
    }
    mounts[pattern] = transport;
  }
  return mounts;
}

/**
 * A transport made on first use (a client's TLS settings are read asynchronously):
 * `close()` before any request closes nothing.
 *
 * @example
 * ```ts ignore
 * const transport = lazyTransport(async () => new ConnectionPool({ proxy }));
 * ```
 */
export function lazyTransport(make: () => Promise<Transport>): Transport {
  let made: Promise<Transport> | null = null;
  return {
    send(request: Request): Promise<Response> {
      made ??= make();
      return made.then((transport) => transport.send(request));
    },
    async close(): Promise<void> {
      if (made === null) return;
      const transport = await made.catch(() => null);
      await transport?.close();
    },
  };
}
