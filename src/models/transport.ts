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
 * Internal: a transport that can read the body before it resolves implements
 * `[SEND_WHOLE](request)` (`ConnectionPool` does). The client uses it when it would read
 * the body anyway: the connection is free as soon as the body is in, and no body stream
 * is set up and pulled.
 */
export const SEND_WHOLE: unique symbol = Symbol("ferry.sendWhole");

/** A transport with {@linkcode SEND_WHOLE}. Not public API. */
export interface WholeTransport extends Transport {
  [SEND_WHOLE](request: Request): Promise<Response>;
}
