/**
 * `Http2Connection`: one HTTP/2 connection to one origin, many requests at once, each on its
 * own stream.
 *
 * ## Theory of operation
 *
 * The connection owns one network stream and one engine session (see `engine.ts`); the
 * engine speaks the protocol, the connection decides everything else. States, as for
 * HTTP/1.1:
 *
 * ```
 * NEW ──first request──▶ ACTIVE (1..n streams) ◀──request── IDLE (0 streams)
 *                          │      └──last stream ends──────▶ │
 *                          └──GOAWAY, error, close, expired──┴──▶ CLOSED
 * ```
 *
 * A request takes a stream slot (up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS`;
 * beyond that it waits for one under the `pool` limit) from the moment it starts until its
 * response body has ended or was closed.
 *
 * Deadlines: the engine's streams know nothing of Ferry's deadline scopes, so every wait of
 * an exchange (for the server's window when writing, for the head, for each body chunk)
 * goes through `withDeadline` with the request's per-phase limit, in the caller's scope.
 * When one passes, that stream alone is reset with RST_STREAM CANCEL and the caller gets
 * the phase's timeout error; the other streams go on. The shared reads and writes of the
 * network stream run outside every scope (`_stream_duplex.ts`).
 *
 * Failures: RST_STREAM from the server fails that request with {@linkcode StreamReset}
 * naming the code. GOAWAY stops new streams at once; streams above its last stream id were
 * not processed and fail with an error the pool retries on a new connection (when the body
 * can be sent again), the rest finish. A protocol violation closes the connection, and
 * every open stream fails with {@linkcode RemoteProtocolError}.
 *
 * @module
 */

import {
  LocalProtocolError,
  ReadError,
  RemoteProtocolError,
  StreamReset,
  TransportError,
} from "../errors.ts";
import { Headers } from "../models/headers.ts";
import {
  parseUrl,
  Request,
  type RequestInit,
  type Timeouts,
  type TraceCallback,
} from "../models/request.ts";
import { Response, type ResponseExtensions } from "../models/response.ts";
import type { BodySource } from "../models/body.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { withDeadline } from "../timeout.ts";
import { traced } from "../_trace.ts";
import { type Origin, originOf, originString } from "../_origin.ts";
import {
  CANCEL,
  errorCodeName,
  type Http2Engine,
  type Http2EngineError,
  type Http2EngineSession,
  type Http2EngineStream,
  type Http2StreamListener,
  REFUSED_STREAM,
} from "./engine.ts";
import { ferryHttp2Engine } from "./ferry_engine.ts";
import {
  type ConnectionHooks,
  exchangeCount,
  expiresAt,
  handleRequest,
  handOverRetry,
  IDEMPOTENT_METHODS,
  markRetryable,
  READ_ALL,
  READ_NONE,
  type ReadMode,
} from "../connection/pool_connection.ts";
import { http2RequestHead } from "./_request_head.ts";

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_KEEPALIVE_EXPIRY_MS = 5000;
/** Receive window of each stream: 4 MiB (node:http2's default is 64 KiB, slow for downloads). */
export const DEFAULT_STREAM_WINDOW = 4 * 1024 * 1024;
/** Receive window of the connection, all streams together: 16 MiB. */
export const DEFAULT_CONNECTION_WINDOW = 16 * 1024 * 1024;
/** The largest response head accepted (`SETTINGS_MAX_HEADER_LIST_SIZE`). */
const MAX_HEADER_LIST_SIZE = 65536;
/** Body bytes buffered for a reader before the stream is paused (and its window with it). */
const PAUSE_AT = 1024 * 1024;
/** Streams assumed until the server's SETTINGS say otherwise. */
const INITIAL_MAX_STREAMS = 100;

/** The life cycle of an {@linkcode Http2Connection}; see the module documentation. */
export type Http2ConnectionState = "NEW" | "ACTIVE" | "IDLE" | "CLOSED";

/**
 * Options of an {@linkcode Http2Connection}.
 *
 * @example Smaller windows, a shorter read limit
 * ```ts ignore
 * import { Http2Connection } from "@ferry/ferry/advanced";
 * const options = { timeout: { read: 1000 }, streamWindowSize: 1 << 20 };
 * console.log(options.timeout.read);
 * ```
 */
export interface Http2ConnectionOptions {
  /** Default per-phase limits in milliseconds (each 5000 unless given; `null`: none). */
  timeout?: Timeouts;
  /** How long an idle connection is kept, in milliseconds. Default 5000. */
  keepaliveExpiry?: number;
  /** Receive window of each stream, in bytes. Default 4 MiB. */
  streamWindowSize?: number;
  /** Receive window of the connection, in bytes. Default 16 MiB. */
  connectionWindowSize?: number;
  /** Trace callback for the connection preface (requests bring their own). */
  trace?: TraceCallback;
}

/**
 * {@linkcode Http2ConnectionOptions} plus the engine that speaks the protocol: Ferry's own
 * (`ferryHttp2Engine`, the default) or `nodeHttp2Engine` (`node:http2` over the same network
 * stream). Not public API (yet): for tests and benchmarks that compare the engines, and a way
 * back should one of them need replacing.
 */
export interface Http2ConnectionEngineOptions extends Http2ConnectionOptions {
  /** The engine; the default is {@linkcode setDefaultHttp2Engine}'s (Ferry's own). */
  engine?: Http2Engine;
}

let defaultEngine: Http2Engine = ferryHttp2Engine;

/**
 * Sets the engine connections use when their options name none (pools create connections
 * with no engine option) and returns the previous one. Not public API: for tests and
 * benchmarks that compare engines.
 */
export function setDefaultHttp2Engine(engine: Http2Engine): Http2Engine {
  const previous = defaultEngine;
  defaultEngine = engine;
  return previous;
}

/**
 * Installs a pool's hooks on `connection`: `idle` when a stream slot frees (or the server
 * allows more streams), `closed` once, when the connection closes or takes no new streams
 * (GOAWAY). Not public API.
 */
export function installPoolHooks(connection: Http2Connection, hooks: ConnectionHooks): void {
  setHooks(connection, hooks);
}

let setHooks: (connection: Http2Connection, hooks: ConnectionHooks) => void;

/** One request/response exchange on one stream: the engine's listener and the body. */
class Exchange implements Http2StreamListener, BodySource {
  readonly connection: Http2Connection;
  readonly request: Request;
  readonly readMs: number | null;
  readonly signal: AbortSignal | undefined;
  readonly trace: TraceCallback | undefined;
  stream: Http2EngineStream | null = null;
  status = 0;
  headers: [string, string][] | null = null;
  trailers: [string, string][] | null = null;
  chunks: Uint8Array[] = [];
  head = 0;
  queued = 0;
  paused = false;
  ended = false;
  error: unknown = null;
  /** The slot is given back (ended, failed, closed). */
  done = false;
  bodyStarted = false;
  /** The request went out whole (END_STREAM sent or queued). */
  sent = false;
  wake: (() => void) | null = null;
  onAbort: (() => void) | null = null;
  extensions: ResponseExtensions | null = null;
  /** The connection had served requests before this one (it may have gone stale). */
  readonly reused: boolean;

  constructor(
    connection: Http2Connection,
    request: Request,
    readMs: number | null,
    reused: boolean,
  ) {
    this.connection = connection;
    this.request = request;
    this.readMs = readMs;
    this.reused = reused;
    this.signal = request.extensions.signal;
    this.trace = request.extensions.trace;
  }

  get id(): number {
    return this.stream?.id ?? 0;
  }

  #notify(): void {
    const wake = this.wake;
    if (wake !== null) {
      this.wake = null;
      wake();
    }
  }

  onInformational(): void {}

  onHeaders(status: number, headers: [string, string][]): void {
    this.status = status;
    this.headers = headers;
    this.#notify();
  }

  onData(chunk: Uint8Array): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= PAUSE_AT && !this.paused) {
      this.paused = true;
      this.stream?.pause();
    }
    this.#notify();
  }

  onTrailers(headers: [string, string][]): void {
    this.trailers = headers;
    if (this.extensions !== null) this.extensions.trailers = Headers.fromPairs(headers);
  }

  onEnd(): void {
    this.ended = true;
    this.#notify();
  }

  onError(error: Http2EngineError): void {
    if (this.error === null) this.error = failureOf(this, error);
    this.#notify();
  }

  /** Fails the exchange from outside (abort, connection closed). */
  fail(error: unknown): void {
    if (this.error === null && !this.ended) this.error = error;
    this.#notify();
  }

  read(): Promise<Uint8Array | null> {
    return readBody(this.connection, this);
  }

  close(): Promise<void> {
    finish(this.connection, this, !this.ended);
    return Promise.resolve();
  }
}

/** Maps an engine failure of `exchange`'s stream to Ferry's error tree. */
function failureOf(exchange: Exchange, error: Http2EngineError): unknown {
  const request = exchange.request;
  const origin = JSON.stringify(exchange.connection.origin);
  const id = exchange.id;
  switch (error.kind) {
    case "reset": {
      const code = error.code ?? 0;
      return new StreamReset(
        `Stream ${id} to ${origin} was reset by the server: ${errorCodeName(code)}`,
        { errorCode: code, streamId: id, request },
      );
    }
    case "goaway": {
      const failure = new RemoteProtocolError(
        error.code === REFUSED_STREAM
          ? `Stream ${id} to ${origin} was refused by the server (REFUSED_STREAM): not processed`
          : `Stream ${id} to ${origin} was not processed: ${error.message} (${
            errorCodeName(error.code ?? 0)
          })`,
        { request },
      );
      // Not processed, the server says; but a stream whose response head came was (a server
      // that says otherwise is wrong): only one without a response is sent again.
      if (request.isReplayable && exchange.status === 0) markRetryable(failure);
      return failure;
    }
    case "protocol":
      return new RemoteProtocolError(
        `${
          error.stream
            ? `Stream ${id} to ${origin} was reset`
            : `HTTP/2 connection to ${origin} failed`
        }: ${error.message}${error.code === null ? "" : ` (${errorCodeName(error.code)})`}`,
        { request, cause: error.cause },
      );
    case "local":
      return new LocalProtocolError(`Cannot send the request over HTTP/2: ${error.message}`, {
        request,
        cause: error.cause,
      });
    default: {
      const cause = error.cause;
      let failure: TransportError;
      if (cause instanceof TransportError) {
        if (cause.request === null) cause.request = request;
        failure = cause;
      } else {
        failure = new ReadError(`Connection to ${origin} was lost: ${error.message}`, {
          request,
          cause,
        });
      }
      // As on HTTP/1.1: a reused connection lost before any of the response came is most
      // likely one the server had closed while it sat idle (the engine notices that only
      // when it next reads): an idempotent request that can be sent again is retried once
      // on a new connection by the pool.
      if (
        exchange.reused && exchange.status === 0 && IDEMPOTENT_METHODS.has(request.method) &&
        request.isReplayable && !(exchange.signal?.aborted ?? false)
      ) markRetryable(failure);
      return failure;
    }
  }
}

// Idle connections, looked at by one shared ticker (running only while there are some).
const IDLE_TICK_MS = 100;
const idleConnections = new Set<Http2Connection>();
let idleTicker: ReturnType<typeof setInterval> | null = null;
let idleTickOf: (connection: Http2Connection, now: number) => boolean;

function idleTick(): void {
  const now = Date.now();
  for (const connection of idleConnections) {
    if (idleTickOf(connection, now)) idleConnections.delete(connection);
  }
  if (idleConnections.size === 0 && idleTicker !== null) {
    clearInterval(idleTicker);
    idleTicker = null;
  }
}

/** A closed connection leaves the ticker at once; the ticker stops when none is left. */
function forgetIdle(connection: Http2Connection): void {
  idleConnections.delete(connection);
  if (idleConnections.size === 0 && idleTicker !== null) {
    clearInterval(idleTicker);
    idleTicker = null;
  }
}

let readBody: (connection: Http2Connection, exchange: Exchange) => Promise<Uint8Array | null>;
let finish: (connection: Http2Connection, exchange: Exchange, reset: boolean) => void;

/**
 * One HTTP/2 connection to one origin, carrying concurrent requests on streams. Usually made
 * by a `ConnectionPool` with `http2: true`; made by hand, it takes a network stream that has
 * already negotiated `h2` (ALPN) or speaks it by prior knowledge (h2c).
 *
 * @example Three requests at once over one connection (h2c)
 * ```ts ignore
 * import { Http2Connection, NetworkBackend } from "@ferry/ferry/advanced";
 * const stream = await new NetworkBackend().connect("127.0.0.1", 8080);
 * await using connection = new Http2Connection(stream, "http://127.0.0.1:8080");
 * const responses = await Promise.all(["/a", "/b", "/c"].map((path) => connection.request("GET", path)));
 * console.log(responses.map((response) => response.extensions.streamId)); // [1, 3, 5]
 * ```
 */
export class Http2Connection {
  #origin: Origin;
  #originText: string;
  #stream: NetworkStreamInterface | null;
  #engine: Http2Engine;
  #session: Http2EngineSession | null = null;
  #state: Http2ConnectionState = "NEW";
  #hooks: ConnectionHooks | null = null;
  /** Whether the session may keep the process alive (it does while streams are open). */
  #refd = false;
  /** When the connection last turned idle (`Date.now()`). */
  #idleSince = 0;
  #exchanges = new Set<Exchange>();
  #slotWaiters: (() => void)[] = [];
  #maxStreams = INITIAL_MAX_STREAMS;
  /** GOAWAY received or close() called: no new streams. */
  #draining = false;
  #goaway: { code: number; lastStreamId: number } | null = null;
  #closeError: Http2EngineError | null = null;
  #closing: Promise<void> | null = null;
  #expiresAt = Infinity;
  #keepaliveMs: number;
  #readMs: number | null;
  #writeMs: number | null;
  #poolMs: number | null;
  #streamWindow: number;
  #connectionWindow: number;
  #trace: TraceCallback | undefined;
  #requests = 0;

  static {
    readBody = (connection, exchange) => connection.#readBody(exchange);
    finish = (connection, exchange, reset) => connection.#finish(exchange, reset);
    idleTickOf = (connection, now) => connection.#onIdleTick(now);
    setHooks = (connection, hooks) => {
      connection.#hooks = hooks;
    };
  }

  /**
   * Wraps an open network stream to `origin` (`"https://www.example.com"`) that speaks
   * HTTP/2. The connection owns the stream from now on; the session starts at once.
   */
  constructor(
    stream: NetworkStreamInterface,
    origin: string | URL,
    options: Http2ConnectionOptions = {},
  ) {
    this.#origin = originOf(parseUrl(origin));
    this.#originText = originString(this.#origin);
    this.#stream = stream;
    this.#engine = (options as Http2ConnectionEngineOptions).engine ?? defaultEngine;
    const timeouts = options.timeout ?? {};
    this.#readMs = timeouts.read === undefined ? DEFAULT_TIMEOUT_MS : timeouts.read;
    this.#writeMs = timeouts.write === undefined ? DEFAULT_TIMEOUT_MS : timeouts.write;
    this.#poolMs = timeouts.pool === undefined ? DEFAULT_TIMEOUT_MS : timeouts.pool;
    this.#keepaliveMs = options.keepaliveExpiry ?? DEFAULT_KEEPALIVE_EXPIRY_MS;
    this.#streamWindow = checkWindow("streamWindowSize", options.streamWindowSize) ??
      DEFAULT_STREAM_WINDOW;
    this.#connectionWindow = checkWindow("connectionWindowSize", options.connectionWindowSize) ??
      DEFAULT_CONNECTION_WINDOW;
    this.#trace = options.trace;
    this.#start(stream);
  }

  /** The connection's state. */
  get state(): Http2ConnectionState {
    return this.#state;
  }

  /** The origin, as `"https://www.example.com"`. */
  get origin(): string {
    return this.#originText;
  }

  /** `"HTTP/2"`. */
  get httpVersion(): string {
    return "HTTP/2";
  }

  /** Whether the connection is open with no stream in use. */
  get isIdle(): boolean {
    return this.#state === "IDLE";
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.#state === "CLOSED";
  }

  /** Whether a new request can start a stream now (open, no GOAWAY, a free slot). */
  get isAvailable(): boolean {
    return this.#state !== "CLOSED" && !this.#draining &&
      this.#exchanges.size < this.#maxStreams;
  }

  /** Whether the connection takes new streams at all (not closed, no GOAWAY). */
  get isOpen(): boolean {
    return this.#state !== "CLOSED" && !this.#draining;
  }

  /** Streams in use now. */
  get streamCount(): number {
    return this.#exchanges.size;
  }

  /** The server's limit on concurrent streams (100 until its SETTINGS arrive). */
  get maxConcurrentStreams(): number {
    return this.#maxStreams;
  }

  /** The network stream. */
  get networkStream(): NetworkStreamInterface | null {
    return this.#stream;
  }

  /** When the idle connection expires (it also closes itself then). Not public API. */
  get [expiresAt](): number {
    return this.#expiresAt;
  }

  /** Requests started on this connection. Not public API. */
  get [exchangeCount](): number {
    return this.#requests;
  }

  /** The pool's entry point. Not public API. */
  [handleRequest](
    request: Request,
    readAll: 0 | 1 | 2,
    retry?: object | null,
  ): Promise<Response> {
    return handOverRetry(this.#handle(request, readAll), retry, request, readAll);
  }

  /** Sends a request and reads the whole response body; `url` may be a path. */
  request(method: string, url: string | URL, init: RequestInit = {}): Promise<Response> {
    let request: Request;
    try {
      request = new Request(method, parseUrl(url, this.#originText + "/"), init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#handle(request, READ_ALL);
  }

  /** Sends a request and returns the response with its body unread (read it or close it). */
  stream(method: string, url: string | URL, init: RequestInit = {}): Promise<Response> {
    let request: Request;
    try {
      request = new Request(method, parseUrl(url, this.#originText + "/"), init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#handle(request, READ_NONE);
  }

  /** Sends `request` and returns the response with its body unread. */
  send(request: Request): Promise<Response> {
    return this.#handle(request, READ_NONE);
  }

  /**
   * Refused: HTTP/2 has no `Upgrade` and Ferry opens tunnels over HTTP/1.1. Throws
   * {@linkcode LocalProtocolError}.
   */
  upgrade(method: string, target: string): Promise<NetworkStreamInterface> {
    return Promise.reject(
      new LocalProtocolError(
        `Cannot ${JSON.stringify(`${method} ${target}`)} on an HTTP/2 connection: ${
          method.toUpperCase() === "CONNECT" ? "tunnels" : "upgrades"
        } need an HTTP/1.1 connection`,
      ),
    );
  }

  /**
   * Closes the connection: GOAWAY, then the network stream. Streams still open fail with
   * {@linkcode ReadError}.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#draining = true;
    forgetIdle(this);
    const session = this.#session;
    for (const exchange of this.#exchanges) {
      exchange.fail(
        new ReadError(
          `Connection to ${
            JSON.stringify(this.#originText)
          } was closed while the response was read`,
          { request: exchange.request },
        ),
      );
    }
    if (session !== null && this.#state !== "CLOSED") session.destroy(0);
    this.#closing = this.#closed(null);
    return this.#closing;
  }

  /** Closes the connection when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<Connection "https://example.com/" HTTP/2 ACTIVE, 3 streams>` */
  toString(): string {
    const count = this.#exchanges.size;
    const streams = this.#state === "ACTIVE" ? `, ${count} stream${count === 1 ? "" : "s"}` : "";
    const state = this.#draining && this.#state !== "CLOSED"
      ? `${this.#state} GOAWAY`
      : this.#state;
    return `<Connection ${JSON.stringify(this.#originText + "/")} HTTP/2 ${state}${streams}>`;
  }

  /** Shown by `Deno.inspect`. */
  [INSPECT](): string {
    return this.toString();
  }

  /** Shown by Node's `util.inspect`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------------------------------

  #start(stream: NetworkStreamInterface): void {
    const trace = this.#trace;
    if (trace) void trace("http2.send_connection_init.started", {});
    this.#session = this.#engine.open(stream, this.#originText, {
      streamWindowSize: this.#streamWindow,
      connectionWindowSize: this.#connectionWindow,
      maxHeaderListSize: MAX_HEADER_LIST_SIZE,
    }, {
      onRemoteSettings: (max) => {
        const grew = max > this.#maxStreams;
        this.#maxStreams = max;
        if (grew) this.#grantSlots();
      },
      onGoaway: (code, lastStreamId) => {
        this.#goaway = { code, lastStreamId };
        this.#stopTaking();
      },
      onClose: (error) => {
        this.#closeError = error;
        void this.#closed(error);
      },
    });
    if (trace) void trace("http2.send_connection_init.complete", { return_value: null });
    this.#session.setRef(false);
    this.#refd = false;
  }

  /** No new streams from now on; the pool forgets the connection for new requests. */
  #stopTaking(): void {
    if (this.#draining) return;
    this.#draining = true;
    // Requests waiting for a slot here will not get one: they fail, retryably.
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const waiter of waiters) waiter();
    this.#hooks?.closed(this);
    if (this.#exchanges.size === 0) this.close();
  }

  #closed(error: Http2EngineError | null): Promise<void> {
    if (this.#state === "CLOSED") return this.#closing ?? Promise.resolve();
    this.#state = "CLOSED";
    forgetIdle(this);
    const wasDraining = this.#draining;
    this.#draining = true;
    for (const exchange of this.#exchanges) {
      exchange.fail(failureOf(
        exchange,
        error ?? {
          kind: "network",
          code: null,
          message: "the connection closed",
        },
      ));
    }
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const waiter of waiters) waiter();
    if (!wasDraining) this.#hooks?.closed(this);
    const stream = this.#stream;
    return stream === null ? Promise.resolve() : stream.close().catch(() => {});
  }

  /**
   * The connection turned idle: it joins the shared idle ticker, which lets it stop keeping
   * the process alive after 100 to 200 ms, and closes it once `keepaliveExpiry` passes
   * with no new stream. (Unref'ing at once would cost every request of a busy connection
   * a ref and an unref of the session; so would a timer per idle period.)
   */
  #becameIdle(): void {
    this.#idleSince = Date.now();
    const ms = this.#keepaliveMs;
    this.#expiresAt = ms === Infinity ? Infinity : this.#idleSince + ms;
    idleConnections.add(this);
    if (idleTicker === null) {
      idleTicker = setInterval(idleTick, IDLE_TICK_MS);
      // deno-lint-ignore no-explicit-any
      (idleTicker as any)?.unref?.();
    }
  }

  /** Called by the idle ticker; returns whether the connection is done with the ticker. */
  #onIdleTick(now: number): boolean {
    if (this.#state !== "IDLE") return true;
    if (now >= this.#expiresAt) {
      this.close();
      return true;
    }
    if (this.#refd && now - this.#idleSince >= IDLE_TICK_MS) {
      this.#refd = false;
      this.#session?.setRef(false);
    }
    return false;
  }

  /** Wakes requests waiting for a slot, as many as there are free slots. */
  #grantSlots(): void {
    while (this.#slotWaiters.length > 0 && this.#exchanges.size < this.#maxStreams) {
      this.#slotWaiters.shift()!();
    }
    if (this.#exchanges.size < this.#maxStreams) this.#hooks?.idle(this);
  }

  /** An error for a request that found the connection closed or going away: retryable. */
  #unavailable(request: Request): RemoteProtocolError {
    const goaway = this.#goaway;
    const why = goaway !== null
      ? `received GOAWAY (${errorCodeName(goaway.code)}, last stream ${goaway.lastStreamId})`
      : "is closed";
    const error = new RemoteProtocolError(
      `HTTP/2 connection to ${JSON.stringify(this.#originText)} ${why}`,
      { request },
    );
    markRetryable(error);
    return error;
  }

  /** Waits for a stream slot under the `pool` limit. */
  async #takeSlot(request: Request): Promise<void> {
    while (this.#exchanges.size >= this.#maxStreams) {
      if (this.#draining) throw this.#unavailable(request);
      const timeouts = request.extensions.timeout;
      const poolMs = timeouts?.pool !== undefined ? timeouts.pool : this.#poolMs;
      let waiter: (() => void) | null = null;
      await withDeadline("pool", poolMs, () =>
        new Promise<void>((resolve) => {
          waiter = resolve;
          this.#slotWaiters.push(resolve);
        }), () => {
        const index = waiter === null ? -1 : this.#slotWaiters.indexOf(waiter);
        if (index !== -1) this.#slotWaiters.splice(index, 1);
      }, request.extensions.signal);
    }
    if (this.#draining || this.#state === "CLOSED") throw this.#unavailable(request);
  }

  /** Waits until the engine reports something for `exchange`, under `phase`'s limit. */
  #waitFor(exchange: Exchange, phase: "read" | "write", ms: number | null): Promise<void> {
    return withDeadline(phase, ms, () =>
      new Promise<void>((resolve) => {
        exchange.wake = resolve;
      }), () => {
      exchange.wake = null;
      this.#finish(exchange, true);
    }, exchange.signal);
  }

  async #handle(request: Request, readAll: ReadMode): Promise<Response> {
    const extensions = request.extensions;
    const signal = extensions.signal;
    if (signal?.aborted) throw signal.reason;
    if (this.#state === "CLOSED" || this.#draining) throw this.#unavailable(request);
    let head;
    try {
      head = http2RequestHead(request);
    } catch (error) {
      // deno-lint-ignore no-explicit-any
      if (error instanceof TransportError && (error as any).request === null) {
        error.request = request;
      }
      throw error;
    }
    if (this.#exchanges.size >= this.#maxStreams) await this.#takeSlot(request);
    const timeouts = extensions.timeout;
    const readMs = timeouts?.read !== undefined ? timeouts.read : this.#readMs;
    const writeMs = timeouts?.write !== undefined ? timeouts.write : this.#writeMs;
    const exchange = new Exchange(this, request, readMs, this.#requests > 0);
    this.#exchanges.add(exchange);
    this.#requests++;
    if (this.#state !== "ACTIVE") {
      this.#state = "ACTIVE";
      this.#expiresAt = Infinity;
      if (!this.#refd) {
        this.#refd = true;
        this.#session!.setRef(true);
      }
    }
    const trace = exchange.trace;
    try {
      if (signal !== undefined) {
        const onAbort = (): void => {
          exchange.fail(signal.reason);
          this.#finish(exchange, true);
        };
        exchange.onAbort = onAbort;
        signal.addEventListener("abort", onAbort, { once: true });
      }
      const session = this.#session!;
      const hasBody = head.bytes !== null || head.chunks !== null;
      const open = (): number => {
        exchange.stream = session.request(head.headers, !hasBody, exchange);
        exchange.sent = !hasBody;
        return exchange.stream.id;
      };
      if (trace) {
        await traced(trace, "http2.send_request_headers", { request, stream_id: 0 }, open);
      } else open();
      if (hasBody) {
        const send = async (): Promise<null> => {
          let sending = true;
          if (head.bytes !== null) sending = await this.#write(exchange, head.bytes, writeMs);
          else {
            for await (const chunk of head.chunks!) {
              if (exchange.error !== null || exchange.done) break;
              sending = await this.#write(exchange, chunk, writeMs);
              if (!sending) break;
            }
          }
          if (sending && exchange.error === null && !exchange.done) {
            exchange.stream!.end();
            exchange.sent = true;
          }
          return null;
        };
        if (trace) {
          await traced(trace, "http2.send_request_body", { request, stream_id: exchange.id }, send);
        } else await send();
      }

      // -- Response head --
      const receive = async (): Promise<null> => {
        while (exchange.headers === null) {
          if (exchange.error !== null) throw exchange.error;
          if (exchange.ended) {
            throw new RemoteProtocolError(
              `Stream ${exchange.id} to ${
                JSON.stringify(this.#originText)
              } ended without a response`,
              { request },
            );
          }
          await this.#waitFor(exchange, "read", readMs);
        }
        return null;
      };
      if (trace) {
        await traced(trace, "http2.receive_response_headers", {
          request,
          stream_id: exchange.id,
        }, receive);
      } else await receive();
      const extensionsOut: ResponseExtensions = {
        httpVersion: "HTTP/2",
        streamId: exchange.id,
        networkStream: this.#stream ?? undefined,
      };
      exchange.extensions = extensionsOut;
      if (exchange.trailers !== null) {
        extensionsOut.trailers = Headers.fromPairs(exchange.trailers);
      }
      const response = new Response(exchange.status, {
        headers: Headers.fromPairs(exchange.headers!),
        content: exchange,
        extensions: extensionsOut,
        request,
      });
      // READ_READY reads nothing here: the caller reads the body after the pool's retries.
      if (readAll === READ_ALL) await response.bytes();
      return response;
    } catch (error) {
      this.#finish(exchange, true);
      throw this.#failure(error, exchange);
    }
  }

  /**
   * Writes one body chunk, waiting for the server's window under the `write` limit. Returns
   * false when the server has already sent its whole response and then closed the stream
   * (RST_STREAM, usually NO_ERROR: "stop sending", RFC 9113 section 8.1): the rest of the body
   * is not sent and the response stands.
   */
  async #write(exchange: Exchange, chunk: Uint8Array, writeMs: number | null): Promise<boolean> {
    const stream = exchange.stream!;
    const written = stream.write(chunk);
    let settled = false;
    let failure: unknown = null;
    written.then(() => settled = true, (error) => {
      settled = true;
      failure = error;
    });
    await withDeadline("write", writeMs, () => written.catch(() => {}), () => {
      // Framed but not yet written: the network write has taken longer than the write
      // limit (the server stopped reading). Every stream's frames queue behind it, so the
      // connection is closed rather than left to time out every request given to it.
      const stuck = stream.waitingForWindow === false;
      this.#finish(exchange, true);
      if (stuck) this.close();
    }, exchange.signal);
    if (exchange.error !== null) throw exchange.error;
    if (settled && failure !== null) {
      if (exchange.ended && exchange.headers !== null) return false;
      throw new ReadError(
        `Stream ${exchange.id} to ${
          JSON.stringify(this.#originText)
        } closed while the body was sent`,
        { request: exchange.request, cause: failure },
      );
    }
    return true;
  }

  /** What the caller sees: the signal's reason when aborted, else the error, with its request. */
  #failure(error: unknown, exchange: Exchange): unknown {
    const signal = exchange.signal;
    if (signal?.aborted) return signal.reason;
    if (error instanceof TransportError && error.request === null) error.request = exchange.request;
    return error;
  }

  async #readBody(exchange: Exchange): Promise<Uint8Array | null> {
    const trace = exchange.trace;
    try {
      if (trace && !exchange.bodyStarted) {
        exchange.bodyStarted = true;
        await trace("http2.receive_response_body.started", {
          request: exchange.request,
          stream_id: exchange.id,
        });
      }
      for (;;) {
        const chunks = exchange.chunks;
        if (exchange.head < chunks.length) {
          const chunk = chunks[exchange.head++];
          if (exchange.head === chunks.length) {
            exchange.chunks = [];
            exchange.head = 0;
          }
          exchange.queued -= chunk.length;
          if (exchange.paused && exchange.queued < PAUSE_AT >> 1) {
            exchange.paused = false;
            exchange.stream?.resume();
          }
          return chunk;
        }
        if (exchange.error !== null) throw exchange.error;
        if (exchange.ended) {
          if (!exchange.done) {
            this.#finish(exchange, false);
            if (trace) {
              await trace("http2.receive_response_body.complete", { return_value: null });
              await trace("http2.response_closed.started", { stream_id: exchange.id });
              await trace("http2.response_closed.complete", { return_value: null });
            }
          }
          return null;
        }
        if (exchange.done) {
          throw new ReadError(
            `Stream ${exchange.id} to ${
              JSON.stringify(this.#originText)
            } was closed while the body was read`,
            { request: exchange.request },
          );
        }
        await this.#waitFor(exchange, "read", exchange.readMs);
      }
    } catch (error) {
      this.#finish(exchange, true);
      const failure = this.#failure(error, exchange);
      if (trace) {
        await Promise.resolve(trace("http2.receive_response_body.failed", { exception: failure }))
          .catch(() => {});
      }
      throw failure;
    }
  }

  /** The exchange gave its slot back; `reset` cancels the stream if it is still open. */
  #finish(exchange: Exchange, reset: boolean): void {
    if (exchange.done) return;
    exchange.done = true;
    if (exchange.onAbort !== null) {
      exchange.signal!.removeEventListener("abort", exchange.onAbort);
      exchange.onAbort = null;
    }
    // A stream whose response ended may still be sending its body: that stops, too.
    if (reset && (!exchange.ended || !exchange.sent)) exchange.stream?.reset(CANCEL);
    exchange.chunks = [];
    exchange.head = 0;
    exchange.queued = 0;
    if (!this.#exchanges.delete(exchange)) return;
    if (this.#state === "CLOSED") return;
    if (this.#exchanges.size === 0) {
      this.#state = "IDLE";
      if (this.#draining) {
        this.close();
        return;
      }
      this.#becameIdle();
    }
    if (this.#slotWaiters.length > 0) this.#slotWaiters.shift()!();
    else if (!this.#draining) this.#hooks?.idle(this);
  }
}

function checkWindow(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 65535 || value > 2 ** 31 - 1) {
    throw new RangeError(
      `Invalid ${name} "${value}": expected a whole number of bytes from 65535 to 2147483647`,
    );
  }
  return value;
}
