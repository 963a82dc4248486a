/**
 * The transport contract: what a `Client` sends requests through. `ConnectionPool`,
 * `MockTransport` and the in-process app transport all implement it.
 *
 * @module
 */

import type { Request } from "./request.ts";
import type { Response } from "./response.ts";

/**
 * Sends a request and returns its response with the body unread (the caller reads or
 * closes it).
 *
 * @example A transport that answers every request itself
 * ```ts
 * import { Response, type Transport } from "@ferry/ferry";
 * const transport: Transport = {
 *   send: (request) => Promise.resolve(new Response(200, { content: "hi", request })),
 *   close: () => Promise.resolve(),
 * };
 * console.log(String(await transport.send(new (await import("@ferry/ferry")).Request("GET", "http://x/"))));
 * ```
 */
export interface Transport {
  /** Sends `request`; the response's body is unread. */
  send(request: Request): Promise<Response>;
  /** Releases every connection. */
  close(): Promise<void>;
}

/**
 * Internal: a transport that can hand over a small body in memory implements
 * `[SEND_WHOLE](request)` (`ConnectionPool` does): a body that came whole with the
 * response head is in memory (needing no stream, its connection free at once), any other
 * is left unread as by `send`. The client uses it when it will read the body anyway; it
 * keeps the cookies and reads the rest itself, with its own decoding limits.
 */
export const SEND_WHOLE: unique symbol = Symbol("ferry.sendWhole");

/** A transport with {@linkcode SEND_WHOLE}. Not public API. */
export interface WholeTransport extends Transport {
  [SEND_WHOLE](request: Request): Promise<Response>;
}
