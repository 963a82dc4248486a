/**
 * The root `fetch`: the fetch adapter over a module-level default {@linkcode Client},
 * made on first use. It behaves like the runtime's `fetch` where code can tell: no cookie
 * jar (cookies a server sets are not kept), undici's limits (10 s to connect, 300 s
 * between reads) instead of the client's 5 s, and up to 100 idle connections kept (not
 * 20). Its idle connections are unref'd, so they never keep a process alive.
 *
 * @module
 */

import { Client } from "./client.ts";
import { Cookies } from "./cookies.ts";
import type { Response as FerryResponse } from "./models/response.ts";
import type { Fetch, FetchInit } from "./client_fetch.ts";

/** A jar that keeps nothing: the runtime's `fetch` has no cookie store. */
class NoCookieJar extends Cookies {
  /** Keeps nothing. */
  override extract(_response: FerryResponse): void {}
}

let defaultClient: Client | null = null;

function getDefaultClient(): Client {
  if (defaultClient === null || defaultClient.isClosed) {
    defaultClient = new Client({
      timeout: { connect: 10_000, read: 300_000, write: 300_000, pool: 300_000 },
      // The runtime's fetch keeps every connection it opened; keep as many as may open.
      limits: { maxConnections: 100, maxKeepaliveConnections: 100 },
    });
    defaultClient.cookies = new NoCookieJar();
  }
  return defaultClient;
}

/**
 * Closes the default client's connections (a later `fetch` opens a new one). Programs
 * need not call it: idle connections do not keep the process alive. Tests do, to leave
 * no socket behind.
 */
export async function closeDefaultFetchClient(): Promise<void> {
  const client = defaultClient;
  defaultClient = null;
  await client?.close();
}

/**
 * `fetch` through Ferry: the runtime's `fetch` signature and semantics, sent through a
 * default {@linkcode Client} (see `Client.fetch` to choose the settings).
 *
 * @example Fetch JSON
 * ```ts ignore
 * import { fetch } from "@ferry/ferry";
 * const response = await fetch("https://example.com/data.json");
 * console.log(response.status, await response.json());
 * ```
 */
export const fetch: Fetch = Object.defineProperty(
  (input: string | URL | Request, init?: FetchInit): Promise<Response> =>
    getDefaultClient().fetch(input, init),
  "Response",
  { value: globalThis.Response, enumerable: true },
) as Fetch;
