/**
 * `MockTransport`: answers requests with a function, for tests and for mocking services.
 *
 * @module
 */

import type { Request } from "../models/request.ts";
import { Response } from "../models/response.ts";
import type { Transport } from "../models/transport.ts";

/** Answers one request. */
export type MockHandler = (request: Request) => Response | Promise<Response>;

/**
 * A transport that calls `handler` for every request. The request body is read first, so
 * the handler finds it in `request.content` as bytes.
 *
 * @example Mock a JSON API
 * ```ts
 * import { Client, MockTransport, Response } from "@ferry/ferry";
 * const transport = new MockTransport((request) =>
 *   new Response(200, { content: JSON.stringify({ path: request.url.pathname }) })
 * );
 * await using client = new Client({ transport });
 * const response = await client.get("https://api.example.com/items");
 * console.log(await response.json()); // { path: "/items" }
 * ```
 */
export class MockTransport implements Transport {
  #handler: MockHandler;
  #closed = false;

  /** Wraps `handler`. */
  constructor(handler: MockHandler) {
    this.#handler = handler;
  }

  /** Whether {@linkcode MockTransport.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Reads the request body, then asks the handler. */
  async send(request: Request): Promise<Response> {
    // Handlers see the body in memory (bytes or text), whatever it was given as.
    const content = request.content;
    if (content !== null && typeof content !== "string" && !(content instanceof Uint8Array)) {
      await request.bytes();
    }
    const response = await this.#handler(request);
    if (!(response instanceof Response)) {
      throw new TypeError(
        `Invalid mock response ${JSON.stringify(String(response))}: expected a Response`,
      );
    }
    if (response.request === null) response.request = request;
    return response;
  }

  /** Marks the transport closed. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
