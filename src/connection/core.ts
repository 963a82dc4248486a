/**
 * The state one HTTP/1.1 connection shares between its parts (the request exchange, the
 * body readers, the idle probe), and the steps that change it: taking and passing the
 * turn, ending an exchange (keep or close), reading, closing. The public
 * {@linkcode Connection} wraps one of these; nothing outside `src/connection/` sees it.
 *
 * Fields are plain (not `#private`) because the files of this folder share them; every
 * change of `state` goes through {@linkcode ConnectionCore.setState} and the table in
 * `state.ts`.
 *
 * @module
 */

import { TransportError } from "../errors.ts";
import { phaseLimit, type Request, type TraceCallback } from "../models/request.ts";
import { DEFAULT_READ_SIZE, type NetworkStreamInterface } from "../network/types.ts";
import { ResponseParser, shareUnfrozenPairs } from "../http11/parser.ts";
import { withDeadline } from "../timeout.ts";
import { type Origin, originString } from "../_origin.ts";
import { type ConnectionState, nextState } from "./state.ts";
import { Exchange } from "./exchange.ts";
import { RequestHeads } from "./request_head.ts";
import { forgetProbe, type Probed, scheduleProbe, setRef } from "./idle_probe.ts";
import { openStream, type StreamOpener } from "./open.ts";
import {
  type ConnectionOptions,
  DEFAULT_KEEPALIVE_EXPIRY_MS,
  DEFAULT_TIMEOUT_MS,
} from "./options.ts";
import type { ConnectionHooks, PoolConnection } from "./pool_connection.ts";

/** One connection's shared state and its steps; see the module documentation. */
export class ConnectionCore implements Probed {
  /** The public connection this is the core of (what hooks report). */
  readonly owner: PoolConnection;
  origin: Origin;
  originText: string;
  stream: NetworkStreamInterface | null;
  /** Opens the stream on first use (a pool's connection); `null` once used. */
  opener: StreamOpener | null = null;
  readonly openOptions: ConnectionOptions;
  /** Its heads go only to `Headers`, which never changes a pair: shared pairs stay unfrozen. */
  readonly parser: ResponseParser = shareUnfrozenPairs(new ResponseParser());
  state: ConnectionState = "NEW";
  hooks: ConnectionHooks | null = null;
  /** Whether an exchange holds the turn (from request start to body end or close). */
  busy = false;
  /** Callers waiting for the turn, first first. */
  turns: (() => void)[] = [];
  /** Exchanges completed. */
  exchanges = 0;
  /** Counts exchanges and closes: a body reader whose number is past is void. */
  exchangeId = 0;
  /** The idle probe's read, until a response takes it. */
  armed: Promise<Uint8Array> | null = null;
  /** For `idle_probe.ts`: when the connection turned idle, and whether it is listed. */
  probeStamp = 0;
  probeListed = false;
  keepaliveMs: number;
  expiresAt = Infinity;
  closing: Promise<void> | null = null;
  /** For the repr of an upgraded connection: `"CONNECT"` or the protocol, and the URL. */
  upgradeLabel = "";
  upgradeUrl = "";
  // Defaults, milliseconds.
  readonly connectMs: number | null;
  readonly readMs: number | null;
  readonly writeMs: number | null;
  /** The exchange in progress. */
  readonly x: Exchange = new Exchange();
  readonly heads: RequestHeads = new RequestHeads();
  /** The read buffer reused by borrowed body reads; made on first use, kept while open. */
  borrowBuffer: Uint8Array | null = null;
  /**
   * Body reads grow from 64 KiB to 256 KiB while they come back full (a download on a
   * fast link: a quarter of the reads, about twice the throughput on loopback) and
   * shrink again when they do not.
   */
  bodyReadSize = DEFAULT_READ_SIZE;

  constructor(
    owner: PoolConnection,
    stream: NetworkStreamInterface | null,
    origin: Origin,
    options: ConnectionOptions,
  ) {
    this.owner = owner;
    this.origin = origin;
    this.originText = originString(origin);
    this.stream = stream;
    this.openOptions = options;
    const timeouts = options.timeout ?? {};
    this.connectMs = phaseLimit(timeouts, "connect", DEFAULT_TIMEOUT_MS);
    this.readMs = phaseLimit(timeouts, "read", DEFAULT_TIMEOUT_MS);
    this.writeMs = phaseLimit(timeouts, "write", DEFAULT_TIMEOUT_MS);
    this.keepaliveMs = options.keepaliveExpiry ?? DEFAULT_KEEPALIVE_EXPIRY_MS;
  }

  /** Changes state, as the table in `state.ts` allows. */
  setState(to: ConnectionState): void {
    this.state = nextState(this.state, to);
  }

  // -- Turns --------------------------------------------------------------------------

  /** Waits for the turn (the caller saw `busy`). */
  takeTurn(): Promise<void> {
    return new Promise((resolve) => this.turns.push(resolve));
  }

  /** Gives the turn to the next waiting caller, or tells the pool the connection is free. */
  release(): void {
    if (this.turns.length > 0) {
      this.turns.shift()!();
      return;
    }
    this.busy = false;
    this.hooks?.idle(this.owner);
  }

  /** Gives the turn on without telling the pool (the connection did not become free). */
  passTurn(): void {
    if (this.turns.length > 0) this.turns.shift()!();
    else this.busy = false;
  }

  // -- Opening and reading --------------------------------------------------------------

  /** Opens the stream of a connection made without one (a pool's). */
  async open(request: Request): Promise<void> {
    const extensions = request.extensions;
    const connectMs = phaseLimit(extensions.timeout, "connect", this.connectMs);
    const opener = this.opener;
    this.opener = null;
    const open = opener !== null
      ? opener(this.origin, request)
      : openStream(this.origin, this.openOptions, connectMs, extensions);
    const stream = await open;
    if (this.state === "CLOSED") {
      // Closed while connecting (pool closed, request aborted): the stream is not wanted.
      await stream.close().catch(() => {});
      throw new TransportError(`Connection to ${JSON.stringify(this.originText)} was closed`);
    }
    this.stream = stream;
  }

  /** Reads the next chunk for the exchange: the armed read first, if there is one. */
  readChunk(stream: NetworkStreamInterface, size = DEFAULT_READ_SIZE): Promise<Uint8Array> {
    const armed = this.armed;
    if (armed !== null) {
      this.armed = null;
      setRef(stream, true);
      return withDeadline("read", this.x.readMs, () => armed, () => {
        stream.close().catch(() => {});
      });
    }
    return stream.read(size, this.x.readMs);
  }

  /** The idle probe's tick: issue the read for the next response now. */
  probe(): void {
    if (this.state !== "IDLE" || this.armed !== null) return;
    const stream = this.stream!;
    const armed = stream.read();
    this.armed = armed;
    armed.then(this.#onIdleRead, this.#onIdleRead);
    // An idle connection must not keep the process alive (a program that forgets to
    // close its pool still exits), so its pending read is unref'd until it is used.
    setRef(stream, false);
  }

  /**
   * The armed read settled. While idle that means the server closed (or sent bytes
   * nobody asked for): close. An armed read taken by a request settles while the
   * connection is active (its handler runs before the request's), so this does nothing.
   */
  #onIdleRead = (): void => {
    if (this.state === "IDLE" && this.armed !== null) this.close();
  };

  // -- Aborts and failures -------------------------------------------------------------

  /** Closes the connection when the exchange's signal aborts (one listener, reused). */
  listen(signal: AbortSignal): void {
    this.x.listening = true;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  #onAbort = (): void => {
    this.x.listening = false;
    this.close();
  };

  detachSignal(): void {
    const x = this.x;
    if (x.listening) {
      x.signal!.removeEventListener("abort", this.#onAbort);
      x.listening = false;
    }
  }

  /** Maps a failure of the exchange: an abort becomes the signal's reason. */
  failure(error: unknown, request: Request): unknown {
    const signal = this.x.signal;
    if (signal?.aborted) return signal.reason;
    // deno-lint-ignore no-explicit-any
    if (error instanceof Error && "request" in error && (error as any).request === null) {
      // deno-lint-ignore no-explicit-any
      (error as any).request = request;
    }
    return error;
  }

  // -- Ending ---------------------------------------------------------------------------

  /**
   * The exchange is over: keep the connection for the next one, or close it. Returns a
   * promise only when there is something to wait for (tracing, closing).
   */
  endExchange(exchange: number): Promise<void> | undefined {
    if (exchange !== this.exchangeId || this.state !== "ACTIVE") return undefined;
    this.exchangeId++;
    this.exchanges++;
    const x = this.x;
    x.pending = null;
    this.detachSignal();
    const trace = x.trace;
    x.request = null;
    if (trace) return this.#endTraced(trace);
    return this.#keepOrClose();
  }

  async #endTraced(trace: TraceCallback): Promise<void> {
    // The exchange is over whatever the callback does: a trace that throws must not leave
    // the connection ACTIVE (and its pool slot taken) for good.
    try {
      await trace("http11.response_closed.started", {});
    } finally {
      await this.#keepOrClose();
    }
    await trace("http11.response_closed.complete", { return_value: null });
  }

  #keepOrClose(): Promise<void> | undefined {
    if (!this.x.keepAlive || this.parser.takeBuffered().length > 0) return this.close();
    const hintMs = this.x.hintMs;
    const keep = hintMs < this.keepaliveMs ? hintMs : this.keepaliveMs;
    this.expiresAt = keep === Infinity ? Infinity : Date.now() + keep;
    this.setState("IDLE");
    // A body sent after a bodiless response (a `HEAD` answered with its body, say) would
    // be read as the next request's response: read at once, so that such bytes close the
    // connection before it is reused. Other responses arm lazily (see `idle_probe.ts`).
    if (this.x.bodiless) this.probe();
    else scheduleProbe(this);
    this.release();
    return undefined;
  }

  /**
   * A request was refused before a byte of it was written: the connection is as good as
   * before. One opened for this request goes back to `NEW` (it served nothing) but
   * expires like an idle one.
   */
  unwind(): void {
    this.exchangeId++;
    this.detachSignal();
    if (this.exchanges > 0) {
      this.setState("IDLE");
      if (this.armed === null) scheduleProbe(this);
    } else {
      this.setState("NEW");
      if (this.stream !== null) this.expiresAt = Date.now() + this.keepaliveMs;
    }
    this.release();
  }

  /** Closes the connection (once), tells the pool and wakes the callers waiting. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    forgetProbe(this);
    this.setState("CLOSED");
    this.exchangeId++;
    this.armed = null;
    this.x.pending = null;
    this.borrowBuffer = null;
    this.detachSignal();
    const stream = this.stream;
    this.closing = stream === null ? Promise.resolve() : stream.close().catch(() => {
      // Closing a broken stream fails the way it broke; there is nothing left to do.
    });
    // The pool and the callers waiting for their turn learn of it at once.
    this.hooks?.closed(this.owner);
    const turns = this.turns;
    this.turns = [];
    this.busy = false;
    for (const turn of turns) turn();
    return this.closing;
  }
}
