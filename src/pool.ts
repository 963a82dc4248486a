/**
 * `ConnectionPool`: reuses connections per origin, within limits.
 *
 * ## Theory of operation
 *
 * The pool's bookkeeping is changed only in synchronous sections (JavaScript's
 * single thread is the lock): taking an idle connection, creating one, queueing a waiter,
 * handing a freed connection to a waiter. I/O (connecting, requests, closing) happens
 * outside them, in the connections themselves, which report back through two hooks:
 * `idle` (an exchange ended with the connection kept) and `closed`.
 *
 * - Every connection counts against `maxConnections` from the moment it is created (still
 *   unopened, `NEW`) until it reports `closed`.
 * - An idle connection is filed under its pool key and reused last-in first-out. Idle
 *   connections past their expiry are closed.
 * - Idle connections beyond `maxKeepaliveConnections` are closed once they *stay* idle,
 *   not when they are released: when a batch of responses completes in one turn of the
 *   event loop, more connections than that are idle for an instant, and the requests that
 *   follow at once would reuse them (closing them made every such batch reconnect). A
 *   shared tick (every {@linkcode TRIM_TICK_MS}, running only while there is a surplus)
 *   closes the surplus among the connections that were idle at the previous tick and have
 *   not been used since (idle 100 to 200 ms), least recently used first.
 * - A request that finds no idle connection and no room waits in a FIFO queue. A freed
 *   connection goes to the first waiter for its key; failing that, when the pool is full,
 *   an idle connection of another origin is closed to make room for the first waiter.
 *   Waiting ends with `PoolTimeout` when the `pool` limit (or an enclosing `timeout()`
 *   scope) runs out. A waiting request is one small object (its own deadline and signal
 *   listener) and its promise, with no suspended async frame: at 1000 requests for 100
 *   connections, what 900 waiters keep alive is what the garbage collector pays for.
 * - A request whose reused connection turns out to be closed before any byte of the
 *   response came is sent again once (never twice), on a fresh connection, when it can be
 *   sent again: see {@linkcode MAX_RETRIES}.
 *
 * Proxies plug in at two seams: {@linkcode poolKey} (which connections are
 * interchangeable) and `#openStream` (how a connection's stream is opened).
 *
 * @module
 */

import { PoolTimeout, TransportError, UnsupportedProtocol } from "./errors.ts";
import {
  phaseLimit,
  type Request,
  requestHref,
  type RequestInit,
  type Timeouts,
  UrlReadings,
} from "./models/request.ts";
import type { Response } from "./models/response.ts";
import type { NetworkStreamInterface } from "./network/types.ts";
import { SEND_WHOLE, type Transport } from "./models/transport.ts";
import {
  Connection,
  DEFAULT_KEEPALIVE_EXPIRY_MS,
  DEFAULT_TIMEOUT_MS,
  exchangeCount,
  expiresAt,
  forPool,
  getDefaultBackend,
  handleRequest,
  isRetryableError,
  type OpenOptions,
  openStream,
  type PoolConnection,
  READ_ALL,
  READ_NONE,
  READ_READY,
  type ReadMode,
  retryRequest,
  type StreamOptions,
} from "./connection/mod.ts";
import { type Origin, originOf, poolKey } from "./_origin.ts";
import { Deadline, inScope } from "./timeout.ts";
// HTTP/2 (issue 15): connections that negotiate their protocol and carry many requests.
import type { Http2Connection } from "./http2/connection.ts";
import {
  alpnProtocols,
  mayMultiplex,
  NegotiatedConnection,
  type ProtocolChoice,
} from "./http2/negotiated_connection.ts";
// Proxies (issue 6): the key, stream and request seams below call into src/proxy/.
import { Proxy, type ProxyLike } from "./proxy/proxy.ts";
import {
  finishForwarded,
  forwardedRequest,
  openProxiedStream,
  proxyPoolKey,
} from "./proxy/pool_seams.ts";
import { inspectAsRepr } from "./_inspect.ts";

/**
 * Options of a {@linkcode ConnectionPool}.
 *
 * @example Limits
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * await using pool = new ConnectionPool({
 *   maxConnections: 10,
 *   maxKeepaliveConnections: 5,
 *   keepaliveExpiry: 30_000,
 *   timeout: { pool: 1000 },
 * });
 * ```
 */
export interface ConnectionPoolOptions extends OpenOptions {
  /** The most connections open at once, all origins together. Default 100. */
  maxConnections?: number;
  /** The most idle connections kept. Default 20. */
  maxKeepaliveConnections?: number;
  /** How long an idle connection is kept, in milliseconds. Default 5000. */
  keepaliveExpiry?: number;
  /** Default per-phase limits in milliseconds (each 5000 unless given; `null`: none). */
  timeout?: Timeouts;
  /**
   * Send every request through this proxy: a URL (`http://`, `https://`, `socks5://`,
   * `socks5h://`, credentials allowed) or a `Proxy`. Connections are keyed by proxy and
   * target, so a tunnel is never reused for another origin.
   */
  proxy?: ProxyLike | null;
  /** Speak HTTP/1.1 (as httpx's `http1`). Default `true`. */
  http1?: boolean;
  /**
   * Speak HTTP/2 (as httpx's `http2`). Default `false`. With it, TLS offers `h2` and
   * `http/1.1` by ALPN and the server's pick is used; with `http1: false` too, `http://`
   * origins get HTTP/2 by prior knowledge (h2c). One HTTP/2 connection per origin carries
   * concurrent requests up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS`.
   */
  http2?: boolean;
}

/**
 * Options of {@linkcode ConnectionPool.request} and {@linkcode ConnectionPool.stream}.
 *
 * @example Headers and an abort signal
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * await using pool = new ConnectionPool();
 * await pool.request("GET", "https://example.com/", {
 *   headers: { Accept: "text/html" },
 *   extensions: { signal: AbortSignal.timeout(3000) },
 * });
 * ```
 */
export type PoolRequestInit = RequestInit;

/** What a waiter's abort listener is added with (one object for all of them). */
const ONCE = { once: true };

/**
 * Served waiters start their exchanges in a reaction to this (Node's `queueMicrotask` makes an
 * async resource per call: three times dearer).
 */
const RESOLVED = Promise.resolve();

/** `Deadline` cuts nothing short itself: the waiter's `expire()` does. */
function nothing(): void {}

/**
 * A request waiting in line for a connection. It is itself the `Deadline` that ends its wait
 * (the `pool` limit, or an enclosing `timeout()` scope) and the listener on its request's
 * signal: waiting costs this object and its promise, with no closure, so that a long line
 * (1000 requests for 100 connections) stays cheap to make and to keep. Getting a connection
 * stops both at once, so a waiter either gets a connection or gives up, never both.
 */
class Waiter extends Deadline {
  readonly key: string;
  /** The pool's own reading of the URL the key was made from (connections are made for it). */
  readonly url: URL;
  /** The caller's request, and what is sent (a proxy's copy of it, or the same). */
  readonly request: Request;
  readonly sent: Request;
  readonly readAll: ReadMode;
  /** 0, or 1 for a retry (see {@linkcode MAX_RETRIES}). */
  readonly attempt: number;
  /** Settle the caller's promise (of the response). */
  /**
   * Settle the caller's promise: of the response, or, for a waiter that hands its connection
   * over (`handOver`), of the connection.
   */
  resolve: (value: Response | Promise<Response> | PoolConnection) => void = nothing;
  reject: (error: unknown) => void = nothing;
  /** Set once the waiter got a connection or gave up; it is then skipped. */
  done = false;
  /** The connection it got, until its exchange starts. */
  connection: PoolConnection | null = null;
  /**
   * The deadline scope it waited in (a `timeout()` around the request), kept when it got a
   * connection: its exchange runs in it, not in the scope of the request that freed it.
   */
  servedScope: unknown = undefined;
  /**
   * Whether the connection is handed to a frame suspended in the caller's async context
   * rather than served by the pool (see `#wait`).
   */
  handOver = false;
  /** Whether it listens to its request's signal. */
  #listening = false;

  constructor(
    key: string,
    url: URL,
    request: Request,
    sent: Request,
    readAll: ReadMode,
    attempt: number,
  ) {
    super("pool", nothing);
    this.key = key;
    this.url = url;
    this.request = request;
    this.sent = sent;
    this.readAll = readAll;
    this.attempt = attempt;
  }

  /** Listens to `signal` (the request's) until the wait ends. */
  listen(signal: AbortSignal): void {
    this.#listening = true;
    signal.addEventListener("abort", this, ONCE);
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.giveUp(this.request.extensions.signal!.reason);
  }

  /** The deadline passed. */
  override expire(): void {
    super.expire();
    this.giveUp(this.error);
  }

  /** Leaves the line and fails with `reason` (once; nothing after it got a connection). */
  giveUp(reason: unknown): void {
    if (this.done) return;
    this.leave();
    if (reason instanceof PoolTimeout && reason.request === null) reason.request = this.request;
    this.reject(reason);
  }

  /** Marks the waiter done and stops what could end its wait. */
  leave(): void {
    this.done = true;
    this.stop();
    if (this.#listening) {
      this.#listening = false;
      this.request.extensions.signal!.removeEventListener("abort", this);
    }
  }
}

/**
 * How many times a request is sent again after it met a stale connection: once. The
 * retry takes a fresh connection, which cannot be stale; should it have to wait and be
 * handed another reused one that is stale too, the failure is reported rather than the
 * request sent a third time (a server may act on every copy it received). httpcore resends
 * nothing after a stale failure and retries only requests no connection took.
 */
const MAX_RETRIES = 1;

/** How often surplus idle connections are looked at while there are some, in ms. */
const TRIM_TICK_MS = 100;

/**
 * A pool of HTTP/1.1 connections, reused per origin. Implements the `Transport` that a
 * `Client` sends through.
 *
 * @example Requests through a pool
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * await using pool = new ConnectionPool({ maxConnections: 10 });
 * const response = await pool.request("GET", "https://www.example.com/");
 * console.log(String(response), String(pool)); // <Response [200 OK]> <ConnectionPool [1 idle]>
 * ```
 */
export class ConnectionPool implements Transport {
  #openOptions: StreamOptions;
  #connectionOptions: {
    timeout: Timeouts;
    keepaliveExpiry: number;
    backend: OpenOptions["backend"];
  };
  #maxConnections: number;
  #maxKeepalive: number;
  #poolMs: number | null;
  #connectMs: number | null;
  /** Every connection counted against the limit, with its key. */
  #keys = new Map<PoolConnection, string>();
  /** Idle connections by key, most recently used last. */
  #idle = new Map<string, PoolConnection[]>();
  #idleCount = 0;
  /** The earliest expiry among idle connections (a hint: may be early, never late). */
  #nextExpiry = Infinity;
  /** The trim tick, pending while idle connections exceed `maxKeepaliveConnections`. */
  #trimTimer: ReturnType<typeof setTimeout> | null = null;
  /** Idle connections seen by the last trim tick, with their exchange count then. */
  #trimSeen = new Map<PoolConnection, number>();
  #waiters: Waiter[] = [];
  #waitersHead = 0;
  #closed = false;
  /** The proxy every request goes through, or `null`. */
  #proxy: Proxy | null;
  #hooks = {
    idle: (connection: PoolConnection): void => this.#onIdle(connection),
    closed: (connection: PoolConnection): void => this.#onClosed(connection),
  };
  #opener = (origin: Origin, request: Request | null): Promise<NetworkStreamInterface> =>
    this.#openStream(origin, request);
  /** The protocols when HTTP/2 is on, else `null` (every connection is HTTP/1.1). */
  #protocols: ProtocolChoice | null = null;
  /** Connections that are (or may become) HTTP/2, by key: shared, never filed as idle. */
  #shared = new Map<string, NegotiatedConnection[]>();

  /** Creates an empty pool; connections are opened on demand. */
  constructor(options: ConnectionPoolOptions = {}) {
    const maxConnections = options.maxConnections ?? 100;
    if (!(maxConnections >= 1)) {
      throw new RangeError(`Invalid maxConnections "${maxConnections}": expected at least 1`);
    }
    this.#maxConnections = maxConnections;
    this.#proxy = options.proxy == null ? null : Proxy.from(options.proxy);
    this.#maxKeepalive = Math.min(options.maxKeepaliveConnections ?? 20, maxConnections);
    const timeouts = options.timeout ?? {};
    this.#poolMs = phaseLimit(timeouts, "pool", DEFAULT_TIMEOUT_MS);
    this.#connectMs = phaseLimit(timeouts, "connect", DEFAULT_TIMEOUT_MS);
    const http1 = options.http1 ?? true;
    const http2 = options.http2 ?? false;
    if (!http1 && !http2) {
      throw new RangeError("Invalid protocols: http1 and http2 are both false");
    }
    if (http2) this.#protocols = { http1, http2 };
    this.#openOptions = {
      backend: options.backend,
      tls: options.tls,
      localAddress: options.localAddress,
      uds: options.uds,
      retries: options.retries,
      alpnProtocols: http2 ? alpnProtocols({ http1, http2 }) : undefined,
    };
    this.#connectionOptions = {
      timeout: timeouts,
      keepaliveExpiry: options.keepaliveExpiry ?? DEFAULT_KEEPALIVE_EXPIRY_MS,
      backend: options.backend,
    };
  }

  /**
   * A snapshot of the pool's connections (idle, active and opening): HTTP/1.1
   * `Connection`s, `Http2Connection`s, and (with `http2: true`) connections still
   * negotiating their protocol.
   */
  get connections(): (Connection | Http2Connection | NegotiatedConnection)[] {
    return [...this.#keys.keys()].map((connection) =>
      connection instanceof NegotiatedConnection
        ? connection.connection ?? connection
        : connection as Connection
    );
  }

  /** Sends a request and reads the whole response body. */
  request(method: string, url: string | URL, init?: PoolRequestInit): Promise<Response> {
    let request: Request;
    try {
      request = this.#urls.request(method, url, init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(request, READ_ALL);
  }

  #urls = new UrlReadings();

  /**
   * Sends a request and returns the response with its body unread: read it or close it
   * (`await using`), or its connection stays busy.
   */
  stream(method: string, url: string | URL, init?: PoolRequestInit): Promise<Response> {
    let request: Request;
    try {
      request = this.#urls.request(method, url, init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(request, READ_NONE);
  }

  /** Sends `request`; the response's body is unread (read it or close it). */
  send(request: Request): Promise<Response> {
    return this.#send(request, READ_NONE);
  }

  /**
   * Internal (see `SEND_WHOLE`): sends `request`; a body that came whole with the head is
   * handed over in memory and its connection freed, any other is left unread.
   */
  [SEND_WHOLE](request: Request): Promise<Response> {
    return this.#send(request, READ_READY);
  }

  /** Closes every connection and fails the requests waiting for one. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#trimTimer !== null) {
      clearTimeout(this.#trimTimer);
      this.#trimTimer = null;
    }
    this.#trimSeen.clear();
    const waiters = this.#waiters.slice(this.#waitersHead);
    this.#waiters = [];
    this.#waitersHead = 0;
    for (const waiter of waiters) {
      if (waiter.done) continue;
      waiter.leave();
      waiter.reject(new TransportError("The connection pool was closed"));
    }
    const connections = [...this.#keys.keys()];
    await Promise.all(connections.map((connection) => connection.close()));
  }

  /** Closes the pool when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<ConnectionPool [1 active, 2 idle]>` */
  toString(): string {
    let idle = this.#idleCount;
    for (const list of this.#shared.values()) {
      for (const connection of list) {
        if (connection.isMultiplexed && connection.state === "IDLE") idle++;
      }
    }
    const active = this.#keys.size - idle;
    const parts: string[] = [];
    if (active > 0 || idle === 0) parts.push(`${active} active`);
    if (idle > 0) parts.push(`${idle} idle`);
    return `<ConnectionPool [${parts.join(", ")}]>`;
  }

  // ---------------------------------------------------------------------------------------

  /**
   * Sends `request`. Not an async function: a request that must wait for a connection keeps
   * no suspended frame while it waits, only its waiter (see {@linkcode Waiter}).
   */
  #send(request: Request, readAll: ReadMode): Promise<Response> {
    if (this.#closed) {
      return Promise.reject(new TransportError("The connection pool is closed", { request }));
    }
    try {
      const key = this.#keyOf(request);
      if (key === null) {
        throw new UnsupportedProtocol(
          `Request URL has an unsupported protocol '${request.url.protocol}//'.`,
          { request },
        );
      }
      // Proxy seam: a forwarded request is sent as a copy in absolute form with the
      // proxy's headers.
      const proxy = this.#proxy;
      const sent = proxy === null ? request : forwardedRequest(proxy, request);
      return this.#start(key, this.#keyUrl!, request, sent, readAll, 0);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #keyHref = "";
  #key = "";
  /** The pool's own `URL` for `#keyHref`: never handed out, so never changed. */
  #keyUrl: URL | null = null;

  /**
   * The pool key of `url` (proxy seam: by proxy and target), or `null` for a scheme other
   * than http and https. The last one is kept for the same `href`, which decides scheme,
   * host and port (a pool polling one URL, or a client sending to one URL again with a new
   * `URL` each time): building it reads `protocol` and `host`, new strings on every read.
   */
  #keyOf(request: Request): string | null {
    const href = requestHref(request);
    if (href === this.#keyHref) return this.#key;
    const url = request.url;
    const protocol = url.protocol;
    if (protocol !== "http:" && protocol !== "https:") return null;
    const proxy = this.#proxy;
    const key = proxy === null ? poolKey(url) : proxyPoolKey(proxy, url);
    this.#keyHref = href;
    this.#keyUrl = new URL(href);
    this.#key = key;
    return key;
  }

  /**
   * Takes a connection and sends, or joins the line. `attempt` 1 is the retry after a stale
   * connection: it takes a fresh connection, as the other idle ones may be just as stale.
   */
  #start(
    key: string,
    url: URL,
    request: Request,
    sent: Request,
    readAll: ReadMode,
    attempt: number,
  ): Promise<Response> {
    const connection = this.#acquire(key, url, attempt > 0);
    if (connection === null) return this.#wait(key, url, request, sent, readAll, attempt);
    return this.#exchange(connection, key, url, request, sent, readAll, attempt);
  }

  /**
   * Sends on `connection`. Not an async function. A first attempt hands a retryable
   * failure back to the pool itself (`[retryRequest]`), so the connection's promise is the
   * caller's: no promise reaction of the pool's per request.
   */
  #exchange(
    connection: PoolConnection,
    key: string,
    url: URL,
    request: Request,
    sent: Request,
    readAll: ReadMode,
    attempt: number,
  ): Promise<Response> {
    if (sent === request && attempt === 0) return connection[handleRequest](sent, readAll, this);
    const sending = connection[handleRequest](sent, readAll);
    // Proxy seam: the caller's request back on the response; a forwarded 407 throws.
    const answered = sent === request
      ? sending
      : sending.then((response) => finishForwarded(this.#proxy!, request, response));
    return answered.then(undefined, (error) => {
      if (!this.#mayRetry(error, attempt)) throw error;
      return this.#start(key, url, request, sent, readAll, attempt + 1);
    });
  }

  /**
   * The exchange of a waiter that got a connection: `#exchange` settling the waiter's
   * promise itself, so that the caller's promise settles as soon as the response is there.
   * Not an async function either (its frame and awaits were a third of what a served waiter
   * allocated): the response goes straight to the waiter's `resolve`.
   */
  #serve(waiter: Waiter, connection: PoolConnection): void {
    const { request, sent } = waiter;
    let sending: Promise<Response>;
    try {
      sending = connection[handleRequest](sent, waiter.readAll);
    } catch (error) {
      return waiter.reject(error);
    }
    // Proxy seam: the caller's request back on the response; a forwarded 407 throws.
    const answered = sent === request
      ? sending
      : sending.then((response) => finishForwarded(this.#proxy!, request, response));
    answered.then(waiter.resolve, (error) => {
      if (!this.#mayRetry(error, waiter.attempt)) return waiter.reject(error);
      try {
        waiter.resolve(
          this.#start(waiter.key, waiter.url, request, sent, waiter.readAll, waiter.attempt + 1),
        );
      } catch (error) {
        waiter.reject(error);
      }
    });
  }

  /**
   * A connection's first attempt at `request` failed with a retryable `error`: send it
   * again on a fresh connection (attempt 1), unless the pool was closed meanwhile. Not
   * public API (see {@linkcode RetryTarget}).
   */
  [retryRequest](error: unknown, request: Request, readAll: 0 | 1 | 2): Promise<Response> {
    const key = this.#closed ? null : this.#keyOf(request);
    if (key === null || MAX_RETRIES < 1) return Promise.reject(error);
    return this.#start(key, this.#keyUrl!, request, request, readAll, 1);
  }

  /** Whether a request that failed with `error` on attempt `attempt` is sent again. */
  #mayRetry(error: unknown, attempt: number): boolean {
    return attempt < MAX_RETRIES && isRetryableError(error) && !this.#closed;
  }

  /** Opens the stream of a new connection: the seam where proxies plug in. */
  #openStream(origin: Origin, request: Request | null): Promise<NetworkStreamInterface> {
    const extensions = request?.extensions ?? null;
    const timeout = extensions?.timeout;
    const connectMs = phaseLimit(timeout, "connect", this.#connectMs);
    if (this.#proxy !== null) {
      // Proxy seam: TCP (+TLS) to the proxy, then CONNECT or SOCKS5, then TLS to the target.
      const { backend, tls, localAddress, alpnProtocols } = this.#openOptions;
      const via = { backend: backend ?? getDefaultBackend(), tls, localAddress, alpnProtocols };
      return openProxiedStream(this.#proxy, origin, via, connectMs, extensions);
    }
    return openStream(origin, this.#openOptions, connectMs, extensions);
  }

  /**
   * An idle connection for `key` (unless `fresh`), or a new one when there is room (made
   * by closing another idle connection if need be); else `null`.
   */
  #acquire(key: string, url: URL, fresh = false): PoolConnection | null {
    if (this.#protocols !== null && !fresh) {
      // HTTP/2: a shared connection with a free stream slot (or still negotiating).
      const shared = this.#shared.get(key);
      if (shared !== undefined) {
        for (const connection of shared) if (connection.canTakeRequest) return connection;
      }
    }
    if (this.#idleCount > 0 && !fresh) {
      if (this.#nextExpiry !== Infinity) this.#sweep();
      const list = this.#idle.get(key);
      if (list !== undefined && list.length > 0) {
        this.#idleCount--;
        return list.pop()!;
      }
    }
    if (this.#keys.size < this.#maxConnections) return this.#create(key, url);
    if (this.#idleCount > 0) {
      this.#evictOne();
      return this.#create(key, url);
    }
    return null;
  }

  #create(key: string, url: URL): PoolConnection {
    const origin = originOf(url);
    const protocols = this.#protocols;
    if (protocols !== null && mayMultiplex(protocols, url)) {
      const connection = new NegotiatedConnection(
        origin,
        this.#opener,
        this.#connectionOptions,
        this.#hooks,
        protocols,
      );
      this.#keys.set(connection, key);
      let list = this.#shared.get(key);
      if (list === undefined) this.#shared.set(key, list = []);
      list.push(connection);
      return connection;
    }
    const connection = Connection[forPool](
      origin,
      this.#opener,
      this.#connectionOptions,
      this.#hooks,
    );
    this.#keys.set(connection, key);
    return connection;
  }

  /**
   * Waits in line for a connection, until the pool limit or the signal ends it; the
   * request is sent once a connection is assigned (`#assign`).
   */
  #wait(
    key: string,
    url: URL,
    request: Request,
    sent: Request,
    readAll: ReadMode,
    attempt: number,
  ): Promise<Response> {
    const extensions = request.extensions;
    const signal = extensions.signal;
    // A wait that ends before it starts (aborted signal, no time left) never joins the
    // line: a waiter left there would take the next free connection and never use it.
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waiter = new Waiter(key, url, request, sent, readAll, attempt);
    const refused = waiter.start(phaseLimit(extensions.timeout, "pool", this.#poolMs));
    if (refused !== null) {
      if (refused instanceof PoolTimeout) refused.request = request;
      return Promise.reject(refused);
    }
    const promise = new Promise<Response | PoolConnection>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    if (signal !== undefined) waiter.listen(signal);
    this.#waiters.push(waiter);
    // A served waiter's exchange runs in the context of whatever freed the connection, with
    // the caller's deadline scope put back (`#startReady`). Code of the caller's that runs
    // inside the exchange (a trace callback, a streamed body) may read its own
    // AsyncLocalStorage stores: such a request waits in a frame suspended in its context,
    // as every waiting request did before (AsyncLocalStorage.snapshot() per waiter costs
    // 8-40 us under Node).
    if (extensions.trace !== undefined || !sent.isReplayable) {
      waiter.handOver = true;
      return this.#exchangeWhenServed(promise as Promise<PoolConnection>, waiter);
    }
    return promise as Promise<Response>;
  }

  /** The exchange of a waiter that hands its connection over, in the caller's context. */
  async #exchangeWhenServed(
    served: Promise<PoolConnection>,
    waiter: Waiter,
  ): Promise<Response> {
    const connection = await served;
    const { key, url, request, sent, readAll, attempt } = waiter;
    return await this.#exchange(connection, key, url, request, sent, readAll, attempt);
  }

  /** The first waiter still waiting, for `key` when given. */
  #nextWaiter(key: string | null): Waiter | null {
    const waiters = this.#waiters;
    while (this.#waitersHead < waiters.length && waiters[this.#waitersHead].done) {
      this.#waitersHead++;
    }
    if (this.#waitersHead === waiters.length) {
      if (waiters.length > 0) {
        this.#waiters = [];
        this.#waitersHead = 0;
      }
      return null;
    }
    if (this.#waitersHead >= 1024 && this.#waitersHead * 2 >= waiters.length) {
      // A line that never empties (more requests than maxConnections, all the time) would
      // keep every waiter that ever stood in it: drop the served front now and then.
      this.#waiters = waiters.slice(this.#waitersHead);
      this.#waitersHead = 0;
      return this.#nextWaiter(key);
    }
    if (key === null) return waiters[this.#waitersHead];
    for (let i = this.#waitersHead; i < waiters.length; i++) {
      const waiter = waiters[i];
      if (!waiter.done && waiter.key === key) return waiter;
    }
    return null;
  }

  /**
   * Gives `connection` to `waiter`. Its exchange starts in a microtask (as an awaited
   * promise would resume), not inside the call that freed the connection; the waiters
   * served in one go start in the same microtask, in the order they were served.
   */
  #assign(waiter: Waiter, connection: PoolConnection): void {
    if (waiter.handOver) {
      waiter.leave();
      return waiter.resolve(connection);
    }
    waiter.servedScope = waiter.scope;
    waiter.leave();
    waiter.connection = connection;
    this.#ready.push(waiter);
    if (this.#ready.length === 1) RESOLVED.then(this.#startReady);
  }

  /** Waiters given a connection whose exchange has not started. */
  #ready: Waiter[] = [];

  #startReady = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    for (const waiter of ready) {
      const connection = waiter.connection!;
      waiter.connection = null;
      inScope(waiter.servedScope, this.#serveReady, waiter, connection);
    }
  };

  #serveReady = (waiter: Waiter, connection: PoolConnection): void =>
    this.#serve(waiter, connection);

  #onIdle(connection: PoolConnection): void {
    const key = this.#keys.get(connection);
    if (key === undefined) return;
    if (connection instanceof NegotiatedConnection && connection.isMultiplexed) {
      return this.#onStreamFree(connection, key);
    }
    if (this.#waitersHead < this.#waiters.length) {
      const same = this.#nextWaiter(key);
      if (same !== null) return this.#assign(same, connection);
      const first = this.#nextWaiter(null);
      if (first !== null) {
        // The pool is full of other origins' work: make room for the first waiter.
        this.#keys.delete(connection);
        connection.close();
        return this.#assign(first, this.#create(first.key, first.url));
      }
    }
    if (this.#closed) {
      connection.close();
      return;
    }
    let list = this.#idle.get(key);
    if (list === undefined) this.#idle.set(key, list = []);
    list.push(connection);
    // Kept even beyond maxKeepaliveConnections: the trim tick closes the surplus if it
    // stays idle (see the module documentation).
    if (++this.#idleCount > this.#maxKeepalive && this.#trimTimer === null) this.#startTrim();
    const expiry = connection[expiresAt];
    if (expiry < this.#nextExpiry) this.#nextExpiry = expiry;
  }

  #startTrim(): void {
    const timer = setTimeout(this.#trimTick, TRIM_TICK_MS);
    // Like the connections' idle reads, the tick must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#trimTimer = timer;
  }

  /**
   * Closes surplus idle connections that have stayed idle since the last tick (same
   * exchange count), least recently used first; ticks on while a surplus remains.
   */
  #trimTick = (): void => {
    this.#trimTimer = null;
    const surplus = this.#idleCount - this.#maxKeepalive;
    if (this.#closed || surplus <= 0) {
      this.#trimSeen.clear();
      return;
    }
    const seen = this.#trimSeen;
    const now = new Map<PoolConnection, number>();
    const stale: PoolConnection[] = [];
    for (const list of this.#idle.values()) {
      for (const connection of list) {
        const count = connection[exchangeCount];
        if (seen.get(connection) === count) stale.push(connection);
        now.set(connection, count);
      }
    }
    stale.sort((a, b) => a[expiresAt] - b[expiresAt]);
    for (let i = 0; i < surplus && i < stale.length; i++) {
      const connection = stale[i];
      now.delete(connection);
      this.#dropIdle(connection);
    }
    this.#trimSeen = now;
    if (this.#idleCount > this.#maxKeepalive) this.#startTrim();
  };

  /** Takes an idle connection out of the pool and closes it. */
  #dropIdle(connection: PoolConnection): void {
    const key = this.#keys.get(connection)!;
    const list = this.#idle.get(key)!;
    list.splice(list.indexOf(connection), 1);
    if (list.length === 0) this.#idle.delete(key);
    this.#idleCount--;
    this.#keys.delete(connection);
    connection.close();
  }

  /**
   * An HTTP/2 connection freed a stream slot: it goes to the first waiter for its origin;
   * once idle, it may make room for another origin's waiter. It is never filed as idle:
   * it stays shared, and closes itself after `keepaliveExpiry` without streams.
   */
  #onStreamFree(connection: NegotiatedConnection, key: string): void {
    if (this.#closed) {
      connection.close();
      return;
    }
    if (this.#waitersHead === this.#waiters.length) return;
    const same = this.#nextWaiter(key);
    if (same !== null) {
      if (connection.canTakeRequest) this.#assign(same, connection);
      return;
    }
    const first = this.#nextWaiter(null);
    if (first !== null && connection.state === "IDLE") {
      this.#keys.delete(connection);
      this.#unshare(connection, key);
      connection.close();
      this.#assign(first, this.#create(first.key, first.url));
    }
  }

  #unshare(connection: PoolConnection, key: string): void {
    const list = this.#shared.get(key);
    if (list === undefined) return;
    const index = list.indexOf(connection as NegotiatedConnection);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#shared.delete(key);
  }

  #onClosed(connection: PoolConnection): void {
    const key = this.#keys.get(connection);
    if (key === undefined) return;
    this.#keys.delete(connection);
    if (this.#protocols !== null) this.#unshare(connection, key);
    const list = this.#idle.get(key);
    if (list !== undefined) {
      const index = list.indexOf(connection);
      if (index !== -1) {
        list.splice(index, 1);
        this.#idleCount--;
        if (list.length === 0) this.#idle.delete(key);
      }
    }
    if (this.#closed) return;
    const first = this.#nextWaiter(null);
    if (first !== null && this.#keys.size < this.#maxConnections) {
      this.#assign(first, this.#create(first.key, first.url));
    }
  }

  /** Closes idle connections past their expiry. */
  #sweep(): void {
    const now = Date.now();
    if (now < this.#nextExpiry) return;
    let next = Infinity;
    for (const list of this.#idle.values()) {
      for (let i = list.length - 1; i >= 0; i--) {
        const connection = list[i];
        const expiry = connection[expiresAt];
        if (expiry <= now) {
          list.splice(i, 1);
          this.#idleCount--;
          this.#keys.delete(connection);
          connection.close();
        } else if (expiry < next) next = expiry;
      }
    }
    for (const [key, list] of this.#idle) if (list.length === 0) this.#idle.delete(key);
    this.#nextExpiry = next;
  }

  /** Closes the least recently used idle connection, of whichever origin. */
  #evictOne(): void {
    let victim: PoolConnection | null = null;
    let victimList: PoolConnection[] | null = null;
    let oldest = Infinity;
    for (const list of this.#idle.values()) {
      if (list.length > 0 && list[0][expiresAt] <= oldest) {
        oldest = list[0][expiresAt];
        victim = list[0];
        victimList = list;
      }
    }
    if (victim === null || victimList === null) return;
    victimList.shift();
    this.#idleCount--;
    this.#keys.delete(victim);
    victim.close();
  }
}

inspectAsRepr(ConnectionPool);
