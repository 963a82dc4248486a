/**
 * What a pool needs of a connection, whatever its protocol: the seam where an HTTP/2
 * connection sits beside the HTTP/1.1 {@linkcode Connection}. The pool files connections
 * by key, hands requests to them, and learns through two hooks when one can take another
 * request (`idle`) or is gone (`closed`).
 *
 * The members a pool calls but a user should not are keyed by the symbols below, so the
 * public classes keep their public API and no `_internal` object is needed.
 *
 * @module
 */

import type { Request } from "../models/request.ts";
import type { Response } from "../models/response.ts";
import type { ConnectionState } from "./state.ts";

/** Key of {@linkcode PoolConnection}'s request entry point. Not public API. */
export const handleRequest: unique symbol = Symbol("ferry.handleRequest");
/** Key of {@linkcode RetryTarget}'s entry point. Not public API. */
export const retryRequest: unique symbol = Symbol("ferry.retryRequest");
/** Key of {@linkcode PoolConnection}'s expiry. Not public API. */
export const expiresAt: unique symbol = Symbol("ferry.expiresAt");
/** Key of {@linkcode PoolConnection}'s count of finished exchanges. Not public API. */
export const exchangeCount: unique symbol = Symbol("ferry.exchangeCount");

/** Hooks a pool gives its connections when it makes them. */
export interface ConnectionHooks {
  /** The connection finished an exchange and can take another request now. */
  idle(connection: PoolConnection): void;
  /** The connection closed. Called once. */
  closed(connection: PoolConnection): void;
}

/**
 * How much of the body a request reads before its response is handed over:
 * {@linkcode READ_NONE}, {@linkcode READ_ALL} or {@linkcode READ_READY}. Not public API.
 */
export type ReadMode = 0 | 1 | 2;
/** The body is left unread: the caller reads it (`pool.stream`, `pool.send`). */
export const READ_NONE = 0 as const;
/** The body is read whole before the response is handed over (`pool.request`). */
export const READ_ALL = 1 as const;
/**
 * A body that came whole with the head is handed over in memory (its connection free at
 * once); any other is left unread. For a client, which reads the body itself after it
 * kept the response's cookies, with its own decoding limits, outside the pool's retries.
 */
export const READ_READY = 2 as const;

/**
 * A connection as its pool sees it.
 *
 * - `state` is the connection's {@linkcode ConnectionState}; a pool treats `NEW` (never
 *   opened, or opened and served nothing) and `IDLE` as reusable, `CLOSED` as gone.
 * - `[expiresAt]` is when an idle connection should be closed (`Date.now()` scale,
 *   `Infinity` for never); only meaningful while idle.
 * - `[exchangeCount]` counts the exchanges finished (requests answered): a pool that sees
 *   the same count twice knows the connection stayed idle in between.
 * - `[handleRequest](request, readAll, retry)` sends the request, waiting for the
 *   connection's turn if need be, and returns the response with as much of its body read
 *   as {@linkcode ReadMode} `readAll` says. A failure that {@linkcode isRetryableError}
 *   says is safe to retry leaves the request unanswered: with a `retry` target, the
 *   connection hands the failure to it (the pool sends the request again on another
 *   connection) and settles as that attempt does; without one it rejects with it.
 */
export interface PoolConnection {
  /** The connection's state. */
  readonly state: ConnectionState;
  /** When an idle connection expires (milliseconds since the epoch). */
  readonly [expiresAt]: number;
  /** How many exchanges the connection finished. */
  readonly [exchangeCount]: number;
  /** Sends a request; see the interface's documentation. */
  [handleRequest](
    request: Request,
    readAll: ReadMode,
    retry?: RetryTarget | null,
  ): Promise<Response>;
  /** Closes the connection (and any response being read on it). */
  close(): Promise<void>;
}

/**
 * Where a connection hands a request that failed in a way that is safe to retry (see
 * {@linkcode isRetryableError}): a pool, which sends it again on another connection. The
 * connection's promise for the request then settles as the new attempt does, without a
 * promise reaction of the pool's on every request that did not fail.
 */
export interface RetryTarget {
  /** Sends `request` again after `error`; see the interface's documentation. */
  [retryRequest](error: unknown, request: Request, readAll: ReadMode): Promise<Response>;
}

/**
 * `sending`, with a retryable failure handed to `retry` (for connections that do not
 * hand it over themselves, off the HTTP/1.1 path).
 */
export function handOverRetry(
  sending: Promise<Response>,
  retry: object | null | undefined,
  request: Request,
  readAll: ReadMode,
): Promise<Response> {
  // A RetryTarget; loosely typed as the public classes pass it on (it is not public API).
  const target = retry as RetryTarget | null | undefined;
  if (target == null) return sending;
  return sending.then(undefined, (error) => {
    if (!isRetryableError(error)) throw error;
    return target[retryRequest](error, request, readAll);
  });
}

/**
 * Methods that may be sent twice (RFC 9110 §9.2.2): what a connection, HTTP/1.1 or HTTP/2,
 * resends after finding a reused connection closed before any of the response came.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "TRACE",
]);

/** Errors after which a pool may retry the request on a fresh connection. */
const retryable = new WeakSet<object>();

/** Marks `error` as safe to retry on another connection (see {@linkcode isRetryableError}). */
export function markRetryable(error: object): void {
  retryable.add(error);
}

/**
 * Whether `error` says a reused connection turned out closed before any byte of the
 * response arrived, with the request safe to send again.
 */
export function isRetryableError(error: unknown): boolean {
  return typeof error === "object" && error !== null && retryable.has(error);
}

/** Errors of a request that failed before any byte of its response arrived. */
const beforeResponse = new WeakSet<object>();

/** Marks `error` as raised before any byte of the response arrived. */
export function markBeforeResponse(error: object): void {
  beforeResponse.add(error);
}

/**
 * Whether `error` ended a request before any byte of its response arrived (connect
 * failures, and a reset or close while sending or waiting): what a client may retry.
 */
export function failedBeforeResponse(error: unknown): boolean {
  return typeof error === "object" && error !== null && beforeResponse.has(error);
}
