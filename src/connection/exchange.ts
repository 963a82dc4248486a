/**
 * The state of the exchange in progress on a connection (its request and how far its
 * response got). Exchanges on one connection never overlap, so each connection has one
 * record, reset when a request starts: a request allocates no state of its own.
 *
 * @module
 */

import type { Request, TraceCallback } from "../models/request.ts";

/** One connection's exchange in progress; see the module documentation. */
export class Exchange {
  /** The request being answered; `null` once the exchange ended. */
  request: Request | null = null;
  /** The request's trace callback. */
  trace: TraceCallback | undefined = undefined;
  /** The request's abort signal. */
  signal: AbortSignal | undefined = undefined;
  /** Whether the connection's abort listener is on `signal`. */
  listening = false;
  /** The read limit for this request, milliseconds (`null`: none). */
  readMs: number | null = null;
  /** Whether the connection may be kept after this exchange (both sides agree). */
  keepAlive = true;
  /** A `Keep-Alive: timeout=N` hint from the response, milliseconds. */
  hintMs = Infinity;
  /**
   * The response can have no body (`HEAD`, `204`, `304`): bytes after its head are a
   * broken server's, so the idle connection reads at once to notice them (see `core.ts`).
   */
  bodiless = false;
  /** Whether `receive_response_body.started` was traced. */
  bodyStarted = false;
  /** Whether the parser reached the end of the body. */
  bodyDone = false;
  /** Body bytes still to come when the length is known, else `null`. */
  remaining: number | null = null;
  /** Body reads go into the connection's reused buffer (`borrowBodyChunks`). */
  borrow = false;
  /** Body chunks that came with the head, handed out before reading on. */
  pending: Uint8Array[] | null = null;
  /** The stream was open before this request (it may have gone stale meanwhile). */
  reused = false;
  /** Whether writing the request head began. */
  headSent = false;
  /** Whether any byte of the response came. */
  gotBytes = false;
  /** A failed write of the request body, reported if no response can be read. */
  writeFailure: unknown = null;

  /** Resets the record for `request`. */
  start(
    request: Request,
    trace: TraceCallback | undefined,
    signal: AbortSignal | undefined,
    readMs: number | null,
  ): void {
    this.request = request;
    this.trace = trace;
    this.signal = signal;
    this.listening = false;
    this.readMs = readMs;
    this.keepAlive = true;
    this.hintMs = Infinity;
    this.bodiless = false;
    this.bodyStarted = false;
    this.bodyDone = false;
    this.remaining = null;
    this.borrow = false;
    this.pending = null;
    this.reused = false;
    this.headSent = false;
    this.gotBytes = false;
    this.writeFailure = null;
  }
}
