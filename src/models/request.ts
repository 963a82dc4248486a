/**
 * `Request`: what is sent, with its extensions (per-phase timeouts, trace, SNI, target).
 *
 * @module
 */

import { Headers, type HeadersInit } from "./headers.ts";
import type { RequestContent } from "./body.ts";
import { InvalidURL } from "../errors.ts";

/** Per-phase limits in milliseconds; `null` means no limit for that phase. */
export interface Timeouts {
  /** Establishing the connection (TCP, TLS, proxy handshake). */
  connect?: number | null;
  /** Waiting for each chunk of the response. */
  read?: number | null;
  /** Sending each chunk of the request. */
  write?: number | null;
  /** Waiting for a connection from the pool. */
  pool?: number | null;
}

/**
 * A trace callback: called with `"connection.connect_tcp.started"` and the like, and a
 * dictionary of details. It may return a promise, which is awaited.
 */
export type TraceCallback = (event: string, info: Record<string, unknown>) => void | Promise<void>;

/** Request extensions, as in httpcore (with camelCase names). */
export interface RequestExtensions {
  /** Per-phase limits for this request. */
  timeout?: Timeouts;
  /** Receives the internal events of sending this request. */
  trace?: TraceCallback;
  /** The name to send in SNI and check the certificate against, instead of the URL's host. */
  sniHostname?: string;
  /** The request target to send instead of the URL's path and query (`*`, an absolute URL, `host:port`). */
  target?: string;
  /** Cancels the request when aborted. */
  signal?: AbortSignal;
  /** Any other extension a custom transport understands. */
  [key: string]: unknown;
}

/** Options of a {@linkcode Request}. */
export interface RequestInit {
  /** Headers, in wire order. */
  headers?: HeadersInit | null;
  /** The body. */
  content?: RequestContent | null;
  /** Extensions for the transport. */
  extensions?: RequestExtensions;
}

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Parses a URL, raising {@linkcode InvalidURL} with the offending value quoted. */
export function parseUrl(url: string | URL, base?: string | URL): URL {
  if (url instanceof URL && base === undefined) return url;
  try {
    return new URL(url, base);
  } catch (cause) {
    throw new InvalidURL(`Invalid URL ${JSON.stringify(String(url))}`, { cause });
  }
}

/**
 * An HTTP request.
 *
 * @example Build a request
 * ```ts
 * import { Request } from "@ferry/ferry";
 * const request = new Request("POST", "https://example.com/items", {
 *   headers: { "Content-Type": "application/json" },
 *   content: '{"name":"ferry"}',
 * });
 * console.log(String(request)); // <Request [POST]>
 * ```
 */
export class Request {
  /** The method, upper case as given (`"GET"`). */
  method: string;
  /** The URL. */
  url: URL;
  /** The headers, in wire order. */
  headers: Headers;
  /** The body, or `null` for none. */
  content: RequestContent | null;
  /** Extensions for the transport. */
  extensions: RequestExtensions;

  /** Creates a request for `method` and `url`. */
  constructor(method: string, url: string | URL, init: RequestInit = {}) {
    this.method = method;
    this.url = parseUrl(url);
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.content = init.content ?? null;
    this.extensions = init.extensions ?? {};
  }

  /** `<Request [GET]>` */
  toString(): string {
    return `<Request [${this.method}]>`;
  }

  /** Shown by `Deno.inspect`. */
  [INSPECT](): string {
    return this.toString();
  }

  /** Shown by Node's `util.inspect`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }
}
