/**
 * The options of a connection and of its requests, and their defaults.
 *
 * @module
 */

import type { HeadersInit } from "../models/headers.ts";
import type { RequestExtensions, Timeouts, TraceCallback } from "../models/request.ts";
import type { RequestContent } from "../models/body.ts";
import type { OpenOptions } from "./open.ts";

/** Default per-phase limit, in milliseconds, for each of connect, read, write and pool. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Default time an idle connection is kept, in milliseconds. */
export const DEFAULT_KEEPALIVE_EXPIRY_MS = 5000;

/**
 * Options of {@linkcode openConnection} and the {@linkcode Connection} constructor.
 *
 * @example Shorter limits and idle expiry
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("https://example.com", {
 *   timeout: { connect: 2000, read: 10_000 },
 *   keepaliveExpiry: 30_000,
 * });
 * ```
 */
export interface ConnectionOptions extends OpenOptions {
  /** Default per-phase limits in milliseconds (each 5000 unless given; `null`: none). */
  timeout?: Timeouts;
  /** How long an idle connection is kept, in milliseconds. Default 5000. */
  keepaliveExpiry?: number;
  /** Trace callback for opening the connection (requests bring their own). */
  trace?: TraceCallback;
  /** The server name for SNI, instead of the URL's host. */
  sniHostname?: string;
  /** Abandons opening the connection when aborted. */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode Connection.request} and {@linkcode Connection.stream}.
 *
 * @example A POST with a per-request read limit and a trace
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * await connection.request("POST", "/items", {
 *   headers: { "Content-Type": "application/json" },
 *   content: '{"name":"ferry"}',
 *   extensions: { timeout: { read: 1000 }, trace: (event) => console.log(event) },
 * });
 * ```
 */
export interface ConnectionRequestInit {
  /** Request headers; `Host` is added when absent. */
  headers?: HeadersInit | null;
  /** The request body. */
  content?: RequestContent | null;
  /**
   * Request extensions: `timeout`, `trace`, `sniHostname`, `target`, `signal`,
   * `borrowBodyChunks`.
   */
  extensions?: RequestExtensions;
}
