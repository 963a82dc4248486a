/**
 * `AppTransport`: sends requests to a web-standard fetch handler in the same process, as
 * httpx's WSGI/ASGI transports do for Python apps. The handler is what `Deno.serve`, Hono,
 * Oak or any `(Request) => Response` server takes.
 *
 * @module
 */

import type { Request } from "../models/request.ts";
import { Response } from "../models/response.ts";
import type { BodySource } from "../models/body.ts";
import type { Transport } from "../models/transport.ts";
import { Headers } from "../models/headers.ts";
import { RequestError } from "../errors.ts";

/** What `Deno.serve` passes as a handler's second argument; the app transport's share of it. */
export interface AppConnectionInfo {
  /** The client's address, as the app sees it. */
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
}

/**
 * A web-standard fetch handler. The second argument is what `Deno.serve` passes (the
 * client's address); handlers that take only the request ignore it.
 */
export type FetchHandler = (
  request: globalThis.Request,
  info: AppConnectionInfo,
) => globalThis.Response | Promise<globalThis.Response>;

/** Options of {@linkcode AppTransport}. */
export interface AppTransportOptions {
  /**
   * Whether an exception thrown by the app propagates (default) or becomes a `500`
   * response (`false`), as httpx's `raise_app_exceptions`.
   */
  raiseAppExceptions?: boolean;
  /** The client address the app sees (`info.remoteAddr`). Default `127.0.0.1:123`. */
  clientAddr?: { hostname: string; port: number };
}

function sourceOf(body: ReadableStream<Uint8Array> | null): BodySource {
  if (body === null) {
    return { read: () => Promise.resolve(null), close: () => Promise.resolve() };
  }
  const reader = body.getReader();
  let done = false;
  return {
    async read(): Promise<Uint8Array | null> {
      if (done) return null;
      const next = await reader.read();
      if (next.done) {
        done = true;
        return null;
      }
      return next.value;
    },
    async close(): Promise<void> {
      if (done) return;
      done = true;
      await reader.cancel().catch(() => {});
    },
  };
}

/**
 * A transport that calls a fetch handler in process: no sockets, no ports.
 *
 * @example Test a handler without a server
 * ```ts
 * import { AppTransport, Client } from "@ferry/ferry";
 * const app = (request: Request) => new Response(`Hello ${new URL(request.url).pathname}`);
 * await using client = new Client({ transport: new AppTransport(app), baseUrl: "http://app" });
 * const response = await client.get("/world");
 * console.log(await response.text()); // "Hello /world"
 * ```
 */
export class AppTransport implements Transport {
  #handler: FetchHandler;
  #raise: boolean;
  #info: AppConnectionInfo;

  /** Wraps `handler`. */
  constructor(handler: FetchHandler, options: AppTransportOptions = {}) {
    this.#handler = handler;
    this.#raise = options.raiseAppExceptions ?? true;
    const addr = options.clientAddr ?? { hostname: "127.0.0.1", port: 123 };
    this.#info = { remoteAddr: { transport: "tcp", hostname: addr.hostname, port: addr.port } };
  }

  /** Builds a web `Request`, calls the handler, and wraps its web `Response`. */
  async send(request: Request): Promise<Response> {
    const bytes = request.content === null ? null : await request.bytes();
    const headers = new globalThis.Headers();
    for (const [name, value] of request.headers) headers.append(name, value);
    if (!headers.has("host")) headers.set("host", request.url.host);
    const init: RequestInit = { method: request.method, headers };
    if (bytes !== null && bytes.length > 0) init.body = bytes as BodyInit;
    if (request.extensions.signal) init.signal = request.extensions.signal;
    let webRequest: globalThis.Request;
    try {
      webRequest = new globalThis.Request(request.url.href, init);
    } catch (cause) {
      throw new RequestError(
        `Cannot build a fetch Request for ${JSON.stringify(request.url.href)}`,
        {
          request,
          cause,
        },
      );
    }
    let webResponse: globalThis.Response;
    try {
      webResponse = await this.#handler(webRequest, this.#info);
    } catch (error) {
      if (this.#raise) throw error;
      return new Response(500, { request, content: "" });
    }
    const pairs: [string, string][] = [];
    webResponse.headers.forEach((value, name) => {
      if (name !== "set-cookie") pairs.push([name, value]);
    });
    for (const cookie of webResponse.headers.getSetCookie?.() ?? []) {
      pairs.push(["set-cookie", cookie]);
    }
    const body = request.method === "HEAD" ? null : webResponse.body;
    if (body === null) await webResponse.body?.cancel().catch(() => {});
    return new Response(webResponse.status, {
      headers: Headers.fromPairs(pairs),
      content: sourceOf(body),
      request,
      extensions: {
        httpVersion: "HTTP/1.1",
        ...(webResponse.statusText ? { reasonPhrase: webResponse.statusText } : {}),
      },
    });
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
