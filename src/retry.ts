/**
 * Retries: sending a request again after a failure that is likely to pass, in the spirit
 * of ky, got and urllib3.
 *
 * ## What is retried
 *
 * - Only requests whose method is in `methods` (the idempotent ones by default: GET,
 *   HEAD, OPTIONS, PUT, DELETE, TRACE) and whose body can be sent again (none, bytes,
 *   text, a `Blob`, a form): a streamed body is never resent.
 * - A response whose status is in `statusCodes` (408, 429, 500, 502, 503, 504 by default):
 *   it is closed (its connection drained or dropped) and the request sent again.
 * - An error before any byte of the response arrived: a connect error or connect
 *   timeout, and a reset or close while the request was sent or its answer awaited. Not a
 *   read timeout (the server may be working on it), not an error midway through a
 *   response.
 *
 * ## How long it waits
 *
 * Retry `n` (1, 2, …) waits a random time between 0 and
 * `min(maxDelay, baseDelay × 2^(n−1))` ("full jitter": clients that failed together do
 * not come back together). A `Retry-After` header (seconds or an HTTP date) on a retried
 * status is obeyed as given, when it is at most `maxRetryAfter`; a longer one ends the
 * retries and the response is returned (the server asked for more patience than allowed).
 *
 * ## When it stops
 *
 * After `limit` retries; when the request's signal aborts (the wait ends at once with the
 * signal's reason); and when the next attempt could not start before the deadline of the
 * enclosing `timeout()` scope: the last response is returned, or the last error thrown.
 * Each attempt calls the `trace` extension with `"client.attempt"`, each retry calls
 * `onRetry`; the response carries the number of attempts in `extensions.attempts`.
 *
 * @module
 */

import type { Request } from "./models/request.ts";
import type { Response } from "./models/response.ts";
import type { Transport } from "./models/transport.ts";
import { ConnectError, ConnectTimeout, NetworkError, RemoteProtocolError } from "./errors.ts";
import { currentDeadline } from "./timeout.ts";
import { failedBeforeResponse } from "./connection/pool_connection.ts";

/**
 * What `onRetry` is told before each retry: the attempt about to start, the wait, and the
 * response's status or the error that caused it.
 *
 * @example Log each retry
 * ```ts ignore
 * import { Client, type RetryEvent } from "@ferry/ferry";
 * const log = ({ attempt, delay, response, error }: RetryEvent) =>
 *   console.log(`attempt ${attempt} in ${delay} ms:`, response?.status ?? error);
 * await using client = new Client({ retry: { onRetry: log } });
 * ```
 */
export interface RetryEvent {
  /** The request being retried. */
  request: Request;
  /** The attempt about to start: 2 for the first retry. */
  attempt: number;
  /** Milliseconds waited before it. */
  delay: number;
  /** The response that is retried (closed), when a status caused the retry. */
  response?: Response;
  /** The error that is retried, when one caused the retry. */
  error?: unknown;
}

/**
 * The clock retries wait on: the real one by default; tests give their own.
 *
 * @example A clock that records the waits instead of sleeping
 * ```ts
 * import { Client, type RetryClock } from "@ferry/ferry";
 * const waits: number[] = [];
 * const clock: RetryClock = {
 *   sleep: (ms) => (waits.push(ms), Promise.resolve()),
 *   now: () => Date.now(),
 *   random: () => 0.5,
 * };
 * await using client = new Client({ retry: { limit: 3, clock } });
 * ```
 */
export interface RetryClock {
  /** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** The time now, in milliseconds since the epoch (for `Retry-After` dates). */
  now(): number;
  /** A number in `[0, 1)`, for the jitter. */
  random(): number;
}

/**
 * How requests are retried (every field optional).
 *
 * @example Three retries, POST included, short waits
 * ```ts
 * import { Client, type RetryOptions } from "@ferry/ferry";
 * const retry: RetryOptions = { limit: 3, methods: ["GET", "POST"], baseDelay: 100 };
 * await using client = new Client({ retry });
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 2. */
  limit?: number;
  /** Methods that are retried. Default: the idempotent ones (GET, HEAD, OPTIONS, PUT, DELETE, TRACE). */
  methods?: readonly string[];
  /** Response statuses that are retried. Default 408, 429, 500, 502, 503, 504. */
  statusCodes?: readonly number[];
  /** The first retry's longest wait, in milliseconds (doubled per retry). Default 300. */
  baseDelay?: number;
  /** The longest wait between attempts, in milliseconds. Default 10000. */
  maxDelay?: number;
  /** The longest `Retry-After` obeyed, in milliseconds; a longer one ends the retries. Default 60000. */
  maxRetryAfter?: number;
  /** Called before each retry's wait; may return a promise; throwing ends the retries with that error. */
  onRetry?: (event: RetryEvent) => void | Promise<void>;
  /** The clock to wait on (tests give a fake one). */
  clock?: RetryClock;
}

/**
 * The `retry` option: a number of retries (with the defaults of {@linkcode RetryOptions}),
 * the options, or `0`/`false`/`null` for none.
 *
 * @example Two retries with the defaults
 * ```ts
 * import { Client } from "@ferry/ferry";
 * await using client = new Client({ retry: 2 });
 * ```
 */
export type RetryInit = number | RetryOptions | false | null;

const DEFAULT_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];
const DEFAULT_STATUS_CODES = [408, 429, 500, 502, 503, 504];

/** The real clock: `setTimeout` (it keeps the process alive: something waits on it). */
export const realClock: RetryClock = {
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
  now: () => Date.now(),
  random: () => Math.random(),
};

/** A checked, complete retry policy (what {@linkcode toRetryPolicy} makes). */
export class RetryPolicy {
  /** Retries after the first attempt. */
  readonly limit: number;
  readonly #methods: Set<string>;
  readonly #statusCodes: Set<number>;
  /** The first retry's longest wait, in milliseconds. */
  readonly baseDelay: number;
  /** The longest wait, in milliseconds. */
  readonly maxDelay: number;
  /** The longest `Retry-After` obeyed, in milliseconds. */
  readonly maxRetryAfter: number;
  readonly #onRetry: RetryOptions["onRetry"];
  readonly #clock: RetryClock;

  /** Checks `options` (a `RangeError` names a bad one) and fills in the defaults. */
  constructor(options: RetryOptions) {
    this.limit = checkCount("limit", options.limit ?? 2);
    this.baseDelay = checkMs("baseDelay", options.baseDelay ?? 300);
    this.maxDelay = checkMs("maxDelay", options.maxDelay ?? 10_000);
    this.maxRetryAfter = checkMs("maxRetryAfter", options.maxRetryAfter ?? 60_000);
    this.#methods = new Set((options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()));
    for (const code of options.statusCodes ?? DEFAULT_STATUS_CODES) {
      if (!Number.isInteger(code) || code < 100 || code > 599) {
        throw new RangeError(`Invalid retry statusCodes entry "${code}": expected 100 to 599`);
      }
    }
    this.#statusCodes = new Set(options.statusCodes ?? DEFAULT_STATUS_CODES);
    if (options.onRetry !== undefined && typeof options.onRetry !== "function") {
      throw new TypeError(`Invalid retry onRetry "${options.onRetry}": expected a function`);
    }
    this.#onRetry = options.onRetry;
    this.#clock = options.clock ?? realClock;
  }

  /**
   * Sends `request` through `transport`, again while the policy says so; the response
   * returned has `extensions.attempts`.
   */
  async send(request: Request, transport: Transport): Promise<Response> {
    const signal = request.extensions.signal;
    const trace = request.extensions.trace;
    const retryable = this.limit > 0 && this.#methods.has(request.method) &&
      request.isReplayable;
    for (let attempt = 1;; attempt++) {
      if (trace) await trace("client.attempt", { request, attempt });
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await transport.send(request);
      } catch (error) {
        failure = error;
      }
      const last = !retryable || attempt > this.limit || signal?.aborted === true;
      let delay: number | null = null;
      if (!last) {
        if (response !== undefined) {
          if (this.#statusCodes.has(response.status)) delay = this.#delayFor(response, attempt);
        } else if (isRetryableError(failure)) {
          delay = this.#backoff(attempt);
        }
      }
      // No attempt starts after the timeout() scope's deadline.
      if (delay !== null && performance.now() + delay >= currentDeadline()) delay = null;
      if (delay === null) {
        if (response === undefined) throw failure;
        response.extensions.attempts = attempt;
        return response;
      }
      if (response !== undefined) await response.close().catch(() => {});
      await this.#onRetry?.({
        request,
        attempt: attempt + 1,
        delay,
        ...(response !== undefined ? { response } : { error: failure }),
      });
      await this.#clock.sleep(delay, signal);
    }
  }

  /** The wait before retrying `response`: its `Retry-After`, else the backoff; null: stop. */
  #delayFor(response: Response, attempt: number): number | null {
    const header = response.headers.get("retry-after");
    if (header === null) return this.#backoff(attempt);
    const after = parseRetryAfter(header, this.#clock.now());
    if (after === null) return this.#backoff(attempt);
    return after <= this.maxRetryAfter ? after : null;
  }

  /** Full jitter: random in [0, min(maxDelay, baseDelay × 2^(attempt−1))). */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** (attempt - 1));
    return Math.floor(this.#clock.random() * ceiling);
  }
}

/** The policy for a `retry` option; `null` when it asks for no retries. */
export function toRetryPolicy(init: RetryInit | RetryPolicy | undefined): RetryPolicy | null {
  if (init === undefined || init === null || init === false || init === 0) return null;
  if (init instanceof RetryPolicy) return init.limit === 0 ? null : init;
  if (typeof init === "number") return new RetryPolicy({ limit: init });
  if (typeof init !== "object") {
    throw new TypeError(`Invalid retry "${String(init)}": expected a number, options or null`);
  }
  const policy = new RetryPolicy(init);
  return policy.limit === 0 ? null : policy;
}

/**
 * Milliseconds a `Retry-After` value asks to wait: whole seconds, or an HTTP date
 * (relative to `now`; a past date is 0). `null` when it is neither.
 */
export function parseRetryAfter(value: string, now: number): number | null {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An IMF-fixdate (or the obsolete forms Date.parse reads), with its day name.
  if (!/^[A-Za-z]{3},? /.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** Errors before any byte of a response: connect failures, and resets or closes. */
function isRetryableError(error: unknown): boolean {
  if (error instanceof ConnectError || error instanceof ConnectTimeout) return true;
  return (error instanceof NetworkError || error instanceof RemoteProtocolError) &&
    failedBeforeResponse(error);
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Invalid retry ${name} "${value}": expected a whole number, at least 0`);
  }
  return value;
}

function checkMs(name: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`Invalid retry ${name} "${value}": expected milliseconds, at least 0`);
  }
  return value;
}
