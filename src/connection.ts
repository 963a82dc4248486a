/**
 * `Connection`: one HTTP/1.1 connection, requests strictly one after another.
 *
 * ## Theory of operation
 *
 * A connection owns one network stream and one response parser. An exchange holds the
 * connection's turn from the moment its request starts until its response body has been
 * read to the end or closed; callers that arrive meanwhile wait in order. States:
 *
 * ```
 * NEW ──request──▶ ACTIVE ──body ended, keep-alive──▶ IDLE ──request──▶ ACTIVE …
 *                    │                                   │
 *                    └──error, close, no keep-alive──────┴──server closed, expired──▶ CLOSED
 *                    └──101 / 2xx to CONNECT──▶ UPGRADED (the stream is the caller's)
 * ```
 *
 * Stale connections: a connection that stays idle (100 to 200 ms: one shared ticker)
 * issues the read for the *next* response ("armed read"). If the server closes the idle
 * connection, that read returns end-of-input and the connection closes itself (and leaves
 * its pool) before anyone tries to reuse it. When the next request comes, the armed read
 * is simply the first read of its response, so noticing costs no extra read. A connection
 * reused at once is not armed (that would cost a few microseconds per request for nothing);
 * a request that meets a connection closed in that window is retried on a fresh one by the
 * pool when it is safe to.
 *
 * The per-request path allocates no timer, no `AbortController`, no stream and no
 * generator: per-phase limits are passed down to the network stream (which shares one
 * deadline queue), the exchange's state lives in fields of the connection (an exchange
 * never overlaps another), and a response whose body came with its head is handed up as
 * bytes.
 *
 * Borrowed body reads (the opt-in request extension `borrowBodyChunks`): with a stream that
 * has `readInto()`, body reads go into one 256 KiB buffer per connection, and the parser's
 * `data` views into it are handed up as they are (the body source says `borrowed`), void
 * once the next chunk is asked for. Reusing the buffer is safe for the parser: when it asks
 * for more input it has consumed all it was fed (a line cut by a read is copied into its
 * scratch). This saves the allocation, zeroing and collection of fresh memory per read,
 * which otherwise costs a large download about half of a raw socket loop's speed. Without
 * the extension every read returns fresh bytes that belong to the caller.
 *
 * @module
 */

import {
  ConnectError,
  ConnectTimeout,
  LocalProtocolError,
  ProxyError,
  ReadError,
  RemoteProtocolError,
  TimeoutException,
  TransportError,
  UnsupportedProtocol,
  WriteError,
} from "./errors.ts";
import { Headers, type HeadersInit } from "./models/headers.ts";
import {
  parseUrl,
  phaseLimit,
  Request,
  type RequestExtensions,
  type Timeouts,
} from "./models/request.ts";
import type { TraceCallback } from "./models/request.ts";
import { Response, type ResponseExtensions } from "./models/response.ts";
import { type BodySource, concatBytes, type RequestContent } from "./models/body.ts";
import {
  DEFAULT_READ_SIZE,
  type NetworkBackendInterface,
  type NetworkStreamInterface,
  type TlsOptions,
} from "./network/types.ts";
import { NetworkBackend } from "./network/backend.ts";
import { type ResponseEvent, ResponseParser } from "./http11/parser.ts";
import { serializeRequest } from "./http11/writer.ts";
import { withDeadline } from "./timeout.ts";
import { traced } from "./_trace.ts";
import { defaultPort, type Origin, originOf, originString } from "./_origin.ts";

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * The life cycle of a {@linkcode Connection}; see the module documentation.
 *
 * @example
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * console.log(connection.state); // "NEW"
 * ```
 */
export type ConnectionState = "NEW" | "ACTIVE" | "IDLE" | "CLOSED" | "UPGRADED";

/** Default per-phase limit, in milliseconds, for each of connect, read, write and pool. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Default time an idle connection is kept, in milliseconds. */
export const DEFAULT_KEEPALIVE_EXPIRY_MS = 5000;

/**
 * TLS settings of a connection or pool (the hostname comes from the URL or `sniHostname`).
 *
 * @example Trust a private CA
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * const pool = new ConnectionPool({ tls: { caCerts: [await Deno.readTextFile("ca.pem")] } });
 * ```
 */
export interface TlsSettings {
  /** Extra CA certificates (PEM) to trust besides the system's. */
  caCerts?: string[];
  /** A client certificate chain (PEM). */
  cert?: string;
  /** The private key (PEM) of `cert`. */
  key?: string;
  /** Whether to verify the server's certificate; on by default. */
  verify?: boolean;
}

/**
 * The TLS options for talking to `origin` itself (directly or through a proxy's tunnel):
 * the name to send in SNI and check the certificate against (the `sniHostname` extension,
 * else the URL's host), ALPN `http/1.1`, and the connection's or pool's settings.
 */
export function targetTlsOptions(
  origin: Origin,
  extensions: RequestExtensions | null | undefined,
  tls: TlsSettings = {},
): TlsOptions & { hostname: string } {
  return {
    hostname: extensions?.sniHostname ??
      (extensions?.["sni_hostname"] as string | undefined) ?? origin.host,
    alpnProtocols: ["http/1.1"],
    caCerts: tls.caCerts,
    cert: tls.cert,
    key: tls.key,
    verify: tls.verify,
  };
}

/**
 * How to open the network stream of a connection.
 *
 * @example Through a UNIX socket, retrying a failed connect twice
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry";
 * await using connection = await openConnection("http://localhost/", {
 *   uds: "/run/docker.sock",
 *   retries: 2,
 * });
 * ```
 */
export interface OpenOptions {
  /** Opens the streams; the default picks the runtime's. */
  backend?: NetworkBackendInterface;
  /** TLS settings for `https` origins. */
  tls?: TlsSettings;
  /** A local address to bind to. */
  localAddress?: string;
  /** Connect through this UNIX domain socket instead of TCP. */
  uds?: string;
  /** Connect attempts to retry after a failure, with exponential backoff. Default 0. */
  retries?: number;
}

/**
 * Options of {@linkcode openConnection} and the {@linkcode Connection} constructor.
 *
 * @example Shorter limits and idle expiry
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry";
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
 * import { openConnection } from "@ferry/ferry";
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

/** Hooks a pool installs on its connections. Not public API. */
export interface ConnectionHooks {
  /** The connection finished an exchange and is idle (or ready for the next caller). */
  idle(connection: Connection): void;
  /** The connection closed. Called once. */
  closed(connection: Connection): void;
}

/** Opens a network stream to an origin: the step a proxy replaces. */
export type StreamOpener = (
  origin: Origin,
  request: Request | null,
) => Promise<NetworkStreamInterface>;

const MAX_BODY_READ_SIZE = 262144;
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);
const EMPTY = new Uint8Array(0);

/** Errors after which a pool may retry the request on a fresh connection. */
const retryable = new WeakSet<object>();

/**
 * Whether `error` says a reused connection turned out closed before any byte of the
 * response arrived, with the request safe to send again. Not public API.
 */
export function isRetryableError(error: unknown): boolean {
  return typeof error === "object" && error !== null && retryable.has(error);
}

let defaultBackend: NetworkBackendInterface | null = null;

/** The backend used when none is given (made once). */
export function getDefaultBackend(): NetworkBackendInterface {
  return defaultBackend ??= new NetworkBackend();
}

/**
 * Refs or unrefs the runtime's socket under `stream` (`Deno.Conn` and Node's `net.Socket`
 * both have `ref()` and `unref()`), when the backend exposes it as `"socket"`.
 */
function setRef(stream: NetworkStreamInterface, ref: boolean): void {
  try {
    const socket = stream.getExtraInfo("socket") as
      | { ref?: () => void; unref?: () => void }
      | null
      | undefined;
    if (ref) socket?.ref?.();
    else socket?.unref?.();
  } catch {
    // A socket that cannot be (un)ref'd only changes when the process may exit.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens the network stream for `origin`: TCP (or a UNIX socket), then TLS for `https`,
 * retrying failed connects `retries` times with exponential backoff. Emits the
 * `connection.*` trace events. Not public API: connections and pools call it.
 */
export async function openStream(
  origin: Origin,
  options: OpenOptions,
  connectMs: number | null | undefined,
  extensions: RequestExtensions | null,
): Promise<NetworkStreamInterface> {
  const backend = options.backend ?? getDefaultBackend();
  const trace = extensions?.trace;
  const signal = extensions?.signal;
  const retries = options.retries ?? 0;
  let stream: NetworkStreamInterface;
  for (let attempt = 0;; attempt++) {
    try {
      if (options.uds !== undefined) {
        if (backend.connectUnix === undefined) {
          throw new UnsupportedProtocol("The network backend does not support UNIX sockets");
        }
        const connectUnix = (): Promise<NetworkStreamInterface> =>
          backend.connectUnix!(options.uds!, { timeoutMs: connectMs, signal });
        stream = trace
          ? await traced(trace, "connection.connect_unix_socket", {
            path: options.uds,
            timeout: connectMs ?? null,
          }, connectUnix)
          : await connectUnix();
      } else {
        const connect = (): Promise<NetworkStreamInterface> =>
          backend.connect(origin.host, origin.port, {
            timeoutMs: connectMs,
            localAddress: options.localAddress,
            signal,
          });
        stream = trace
          ? await traced(trace, "connection.connect_tcp", {
            host: origin.host,
            port: origin.port,
            local_address: options.localAddress ?? null,
            timeout: connectMs ?? null,
          }, connect)
          : await connect();
      }
      break;
    } catch (error) {
      if (
        attempt >= retries || !(error instanceof ConnectError) ||
        error instanceof ConnectTimeout || signal?.aborted
      ) throw error;
      // 0, 500, 1000, 2000 … ms, as httpcore's backoff factor of 0.5 s.
      if (attempt > 0) await sleep(500 * 2 ** (attempt - 1));
    }
  }
  if (origin.scheme === "https") {
    const tlsOptions = targetTlsOptions(origin, extensions, options.tls);
    const hostname = tlsOptions.hostname;
    const plain = stream;
    try {
      const startTls = (): Promise<NetworkStreamInterface> => plain.startTls(tlsOptions, connectMs);
      stream = trace
        ? await traced(trace, "connection.start_tls", {
          ssl_context: tlsOptions,
          server_hostname: hostname,
          timeout: connectMs ?? null,
        }, startTls)
        : await startTls();
    } catch (error) {
      await plain.close().catch(() => {});
      throw error;
    }
  }
  return stream;
}

/** A stream that returns some bytes already read before reading from the one it wraps. */
class PrefixedStream implements NetworkStreamInterface {
  #inner: NetworkStreamInterface;
  #prefix: Uint8Array;
  #onClose: () => Promise<void>;

  constructor(inner: NetworkStreamInterface, prefix: Uint8Array, onClose: () => Promise<void>) {
    this.#inner = inner;
    this.#prefix = prefix;
    this.#onClose = onClose;
  }

  read(maxBytes?: number, timeoutMs?: number | null): Promise<Uint8Array> {
    const prefix = this.#prefix;
    if (prefix.length === 0) return this.#inner.read(maxBytes, timeoutMs);
    const size = maxBytes === undefined ? prefix.length : Math.min(maxBytes, prefix.length);
    this.#prefix = prefix.subarray(size);
    return Promise.resolve(prefix.subarray(0, size));
  }

  write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    return this.#inner.write(data, timeoutMs);
  }

  startTls(options?: TlsOptions, timeoutMs?: number | null): Promise<NetworkStreamInterface> {
    if (this.#prefix.length > 0) {
      return Promise.reject(
        new RemoteProtocolError(
          `Cannot start TLS: the server sent ${this.#prefix.length} bytes before the handshake`,
        ),
      );
    }
    return this.#inner.startTls(options, timeoutMs);
  }

  getExtraInfo(key: string): unknown {
    return this.#inner.getExtraInfo(key);
  }

  close(): Promise<void> {
    this.#prefix = EMPTY;
    return this.#onClose();
  }

  get closed(): boolean | undefined {
    return this.#inner.closed;
  }

  toString(): string {
    return String(this.#inner);
  }

  [INSPECT](): string {
    return this.toString();
  }

  [NODE_INSPECT](): string {
    return this.toString();
  }
}

/** The body of a response on a connection: pulls from the connection's parser. */
class ConnectionBody implements BodySource {
  #connection: Connection;
  #exchange: number;
  /** Chunks are views into the connection's reused read buffer (`borrowBodyChunks`). */
  readonly borrowed: boolean;
  constructor(connection: Connection, exchange: number, borrowed: boolean) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.borrowed = borrowed;
  }
  read(): Promise<Uint8Array | null> {
    return readBody(this.#connection, this.#exchange);
  }
  close(): Promise<void> {
    return closeBody(this.#connection, this.#exchange);
  }
}

/** A body that arrived whole with its head; ending or closing it releases the connection. */
class BufferedBody implements BodySource {
  #connection: Connection;
  #exchange: number;
  #bytes: Uint8Array | null;
  constructor(connection: Connection, exchange: number, bytes: Uint8Array) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.#bytes = bytes.length === 0 ? null : bytes;
  }
  read(): Promise<Uint8Array | null> {
    const bytes = this.#bytes;
    if (bytes !== null) {
      this.#bytes = null;
      return Promise.resolve(bytes);
    }
    return closeBody(this.#connection, this.#exchange).then(() => null);
  }
  close(): Promise<void> {
    this.#bytes = null;
    return closeBody(this.#connection, this.#exchange);
  }
}

let readBody: (connection: Connection, exchange: number) => Promise<Uint8Array | null>;
let closeBody: (connection: Connection, exchange: number) => Promise<void>;
let handle: (
  connection: Connection,
  request: Request,
  readAll: boolean,
) => Promise<Response>;
let installHooks: (connection: Connection, hooks: ConnectionHooks) => void;
let lazyConnection: (
  origin: Origin,
  opener: StreamOpener,
  options: ConnectionOptions,
) => Connection;
let expiresAt: (connection: Connection) => number;
let exchangeCount: (connection: Connection) => number;
let armIdle: (connection: Connection) => void;

// Stale-connection detection, armed lazily. Issuing the idle read costs a few
// microseconds per request, which a connection reused at once (a busy pool) does not
// need: a server closes an idle keep-alive connection after seconds, not microseconds (and
// a request that meets one anyway is retried on a fresh connection when it can be). So a
// connection that turns idle waits in `young`; a shared ticker moves it to `old` and, one
// tick later, arms it: every connection idle for 100 to 200 ms has its read armed. The
// ticker runs only while connections wait.

const ARM_TICK_MS = 100;
let young = new Set<Connection>();
let old = new Set<Connection>();
let ticker: unknown = null;

function scheduleArm(connection: Connection): void {
  young.add(connection);
  if (ticker === null) {
    ticker = setInterval(armTick, ARM_TICK_MS);
    // deno-lint-ignore no-explicit-any
    (ticker as any)?.unref?.();
  }
}

function unscheduleArm(connection: Connection): void {
  if (!young.delete(connection)) old.delete(connection);
}

/** A connection closed: the ticker stops at once when nothing waits (reuse leaves it). */
function forgetArm(connection: Connection): void {
  unscheduleArm(connection);
  if (young.size === 0 && old.size === 0 && ticker !== null) {
    clearInterval(ticker as number);
    ticker = null;
  }
}

function armTick(): void {
  for (const connection of old) armIdle(connection);
  old.clear();
  const swap = old;
  old = young;
  young = swap;
  if (old.size === 0 && ticker !== null) {
    clearInterval(ticker as number);
    ticker = null;
  }
}

/**
 * One HTTP/1.1 connection to one origin. Requests on it run strictly one after another:
 * concurrent callers wait in order. Usually made by {@linkcode openConnection} or by a
 * `ConnectionPool`.
 *
 * @example Two requests over one connection
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * const first = await connection.request("GET", "/");
 * const second = await connection.request("GET", "/other");
 * console.log(first.status, second.status, String(connection));
 * // 200 200 <Connection "http://127.0.0.1:8080/" IDLE>
 * ```
 */
export class Connection {
  #origin: Origin;
  #originText: string;
  #stream: NetworkStreamInterface | null;
  #opener: StreamOpener | null;
  #openOptions: ConnectionOptions;
  #parser: ResponseParser = new ResponseParser();
  #state: ConnectionState = "NEW";
  #hooks: ConnectionHooks | null = null;
  /** Whether an exchange holds the turn (from request start to body end or close). */
  #busy = false;
  #turns: (() => void)[] = [];
  #exchanges = 0;
  #exchangeId = 0;
  #armed: Promise<Uint8Array> | null = null;
  #keepaliveMs: number;
  #expiresAt = Infinity;
  #closing: Promise<void> | null = null;
  #upgradeLabel = "";
  #upgradeUrl = "";
  // Defaults, milliseconds.
  #connectMs: number | null;
  #readMs: number | null;
  #writeMs: number | null;
  // The exchange in progress (exchanges never overlap).
  #xReadMs: number | null = null;
  #xTrace: TraceCallback | undefined = undefined;
  #xRequest: Request | null = null;
  #xSignal: AbortSignal | undefined = undefined;
  #xOnAbort: (() => void) | null = null;
  #xKeepAlive = true;
  #xHintMs = Infinity;
  #xBodyStarted = false;
  #xBodyDone = false;
  /** Body bytes still to come when the length is known, else `null`. */
  #xRemaining: number | null = null;
  /** Body reads go into `#borrowBuffer` (the `borrowBodyChunks` extension). */
  #xBorrow = false;
  /** The read buffer reused by borrowed body reads; made on first use, kept while open. */
  #borrowBuffer: Uint8Array | null = null;

  static {
    readBody = (connection, exchange) => connection.#readBody(exchange);
    closeBody = (connection, exchange) => connection.#closeBody(exchange);
    handle = (connection, request, readAll) => connection.#handle(request, readAll);
    installHooks = (connection, hooks) => {
      connection.#hooks = hooks;
    };
    lazyConnection = (origin, opener, options) => {
      const connection = new Connection(null, originString(origin), options);
      connection.#origin = origin;
      connection.#opener = opener;
      return connection;
    };
    expiresAt = (connection) => connection.#expiresAt;
    exchangeCount = (connection) => connection.#exchanges;
    armIdle = (connection) => {
      if (connection.#state === "IDLE" && connection.#armed === null) connection.#arm();
    };
  }

  /**
   * Wraps an open network stream to `origin` (`"https://www.example.com"`). The
   * connection owns the stream from now on.
   */
  constructor(
    stream: NetworkStreamInterface | null,
    origin: string | URL,
    options: ConnectionOptions = {},
  ) {
    const url = parseUrl(origin);
    this.#origin = originOf(url);
    this.#originText = originString(this.#origin);
    this.#stream = stream;
    this.#opener = null;
    this.#openOptions = options;
    const timeouts = options.timeout ?? {};
    this.#connectMs = phaseLimit(timeouts, "connect", DEFAULT_TIMEOUT_MS);
    this.#readMs = phaseLimit(timeouts, "read", DEFAULT_TIMEOUT_MS);
    this.#writeMs = phaseLimit(timeouts, "write", DEFAULT_TIMEOUT_MS);
    this.#keepaliveMs = options.keepaliveExpiry ?? DEFAULT_KEEPALIVE_EXPIRY_MS;
  }

  /** The connection's state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The origin, as `"https://www.example.com"`. */
  get origin(): string {
    return this.#originText;
  }

  /** Whether the connection is idle and may take a request now. */
  get isIdle(): boolean {
    return this.#state === "IDLE";
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.#state === "CLOSED";
  }

  /** The network stream, once open. */
  get networkStream(): NetworkStreamInterface | null {
    return this.#stream;
  }

  /**
   * Sends a request and reads the whole response body. `url` may be a path, resolved
   * against the connection's origin.
   */
  async request(
    method: string,
    url: string | URL,
    init: ConnectionRequestInit = {},
  ): Promise<Response> {
    const request = new Request(method, parseUrl(url, this.#originText + "/"), init);
    return await this.#handle(request, true);
  }

  /**
   * Sends a request and returns the response with its body unread: read it or close it
   * (`await using`), or the connection stays busy.
   */
  stream(method: string, url: string | URL, init: ConnectionRequestInit = {}): Promise<Response> {
    let request: Request;
    try {
      request = new Request(method, parseUrl(url, this.#originText + "/"), init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#handle(request, false);
  }

  /** Sends `request` and returns the response with its body unread. */
  send(request: Request): Promise<Response> {
    return this.#handle(request, false);
  }

  /**
   * Sends an `Upgrade` request (`GET` with `Upgrade: websocket`, say) or a `CONNECT`, and
   * hands back the raw stream once the server switched protocols (`101`) or accepted the
   * tunnel (`2xx`). Bytes the server sent right after its head come first from the
   * returned stream. The connection is the stream's from then on; closing the stream
   * closes the connection.
   *
   * For `CONNECT`, `target` is the authority (`"www.example.com:443"`); otherwise it is a
   * path. A refused `CONNECT` raises {@linkcode ProxyError}; a refused upgrade raises
   * {@linkcode RemoteProtocolError}.
   */
  async upgrade(
    method: string,
    target: string,
    headers?: HeadersInit | null,
  ): Promise<NetworkStreamInterface> {
    const isConnect = method.toUpperCase() === "CONNECT";
    const url = isConnect ? this.#originText + "/" : parseUrl(target, this.#originText + "/");
    const request = new Request(method, url, {
      headers,
      extensions: { target: isConnect ? target : undefined },
    });
    const response = await this.#handle(request, false);
    const stream = response.extensions.networkStream;
    if (this.#state === "UPGRADED" && stream !== undefined) return stream;
    await response.close();
    const reason = response.reasonPhrase;
    const message = `${isConnect ? "Proxy refused" : "Server refused to switch protocols for"} ${
      JSON.stringify(`${method} ${target}`)
    }: ${response.status}${reason ? ` ${reason}` : ""}`;
    if (isConnect) throw new ProxyError(message, { status: response.status, reasonPhrase: reason });
    throw new RemoteProtocolError(message, { request });
  }

  /** Closes the connection (and any response being read on it). */
  close(): Promise<void> {
    return this.#close();
  }

  /** Closes the connection when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<Connection "https://www.example.com/" IDLE>` */
  toString(): string {
    if (this.#state === "UPGRADED") {
      if (this.#upgradeLabel === "CONNECT") {
        return `<Connection ${JSON.stringify(this.#upgradeUrl)} VIA ${
          JSON.stringify(this.#originText)
        } CONNECT>`;
      }
      return `<Connection ${JSON.stringify(this.#upgradeUrl)} ${this.#upgradeLabel}>`;
    }
    return `<Connection ${JSON.stringify(this.#originText + "/")} ${this.#state}>`;
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

  #takeTurn(): Promise<void> {
    return new Promise((resolve) => this.#turns.push(resolve));
  }

  async #open(request: Request): Promise<void> {
    const extensions = request.extensions;
    const connectMs = extensions.timeout?.connect !== undefined
      ? extensions.timeout.connect
      : this.#connectMs;
    const opener = this.#opener;
    this.#opener = null;
    const open = opener !== null
      ? opener(this.#origin, request)
      : openStream(this.#origin, this.#openOptions, connectMs, extensions);
    const stream = await open;
    if (this.#state === "CLOSED") {
      // Closed while connecting (pool closed, request aborted): the stream is not wanted.
      await stream.close().catch(() => {});
      throw new TransportError(`Connection to ${JSON.stringify(this.#originText)} was closed`);
    }
    this.#stream = stream;
  }

  async #handle(request: Request, readAll: boolean): Promise<Response> {
    if (this.#busy) await this.#takeTurn();
    this.#busy = true;
    const extensions = request.extensions;
    const signal = extensions.signal;
    if (this.#state === "CLOSED" || this.#state === "UPGRADED" || signal?.aborted) {
      if (signal?.aborted && this.#state !== "CLOSED" && this.#state !== "UPGRADED") {
        // Aborted before anything was sent: the connection goes back as it was (a pool's
        // unopened connection is simply dropped).
        if (this.#stream === null) this.#close();
        else this.#release();
        throw signal.reason;
      }
      this.#passTurn();
      const error = new RemoteProtocolError(
        `Connection to ${JSON.stringify(this.#originText)} is closed`,
        { request },
      );
      retryable.add(error);
      throw error;
    }
    const trace = extensions.trace;
    const timeouts = extensions.timeout;
    const method = request.method;
    // Reused: the stream was open before this request (it may have gone stale meanwhile).
    const reused = this.#exchanges > 0 || this.#stream !== null;
    if (this.#state === "IDLE" && this.#armed === null) unscheduleArm(this);
    this.#state = "ACTIVE";
    this.#xRequest = request;
    this.#xTrace = trace;
    this.#xSignal = signal;
    this.#xReadMs = phaseLimit(timeouts, "read", this.#readMs);
    this.#xKeepAlive = true;
    this.#xHintMs = Infinity;
    this.#xBodyStarted = false;
    this.#xBodyDone = false;
    this.#xBorrow = false;
    const exchange = ++this.#exchangeId;
    let headSent = false;
    let gotBytes = false;
    try {
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#abort();
        };
        this.#xOnAbort = onAbort;
        signal.addEventListener("abort", onAbort, { once: true });
      }
      if (this.#stream === null) await this.#open(request);
      const stream = this.#stream!;
      const writeMs = phaseLimit(timeouts, "write", this.#writeMs);

      // -- Request head (and a body given as bytes) --
      const url = request.url;
      const target = (extensions.target as string | undefined) ?? request.target;
      const pairs = this.#headerPairs(request.headers, url);
      const content = request.content;
      let wire: Uint8Array;
      let body: AsyncIterable<Uint8Array> | null = null;
      if (content === null && this.#sameHead(method, target, pairs)) {
        wire = this.#lastHead!;
      } else {
        const serialized = serializeRequest(method, target, pairs, content);
        wire = serialized.head;
        body = serialized.body;
        if (content === null) {
          this.#lastMethod = method;
          this.#lastTarget = target;
          this.#lastPairs = pairs;
          this.#lastHead = wire;
        }
      }
      headSent = true;
      if (trace) {
        await traced(
          trace,
          "http11.send_request_headers",
          { request },
          () => stream.write(wire, writeMs).then(() => null),
        );
      } else {
        await stream.write(wire, writeMs);
      }
      // A server may answer early (413, 401) and close while the body is still being
      // sent: the write then fails, and the answer is read anyway (as httpcore does). If
      // no answer can be read, the write error is what is reported.
      let writeFailure: WriteError | null = null;
      try {
        if (trace) {
          await traced(trace, "http11.send_request_body", { request }, async () => {
            if (body !== null) {
              for await (const chunk of body) await stream.write(chunk, writeMs);
            }
            return null;
          });
        } else if (body !== null) {
          for await (const chunk of body) await stream.write(chunk, writeMs);
        }
      } catch (error) {
        if (!(error instanceof WriteError) || signal?.aborted) throw error;
        writeFailure = error;
        this.#xKeepAlive = false;
      }

      // -- Response head --
      const parser = this.#parser;
      parser.startResponse(method);
      if (trace) await trace("http11.receive_response_headers.started", { request });
      let event: ResponseEvent | null;
      try {
        event = parser.next();
        while (event === null || event.type === "informational") {
          if (event === null) {
            const bytes = await this.#readChunk(stream);
            if (bytes.length === 0) parser.feedEnd();
            else {
              gotBytes = true;
              parser.feed(bytes);
            }
          }
          event = parser.next();
        }
      } catch (error) {
        throw writeFailure ?? error;
      }
      if (event.type !== "head") {
        throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} before the head`);
      }
      const head = event;
      const status = head.status;
      if (trace) {
        await trace("http11.receive_response_headers.complete", {
          return_value: [head.version, status, head.reason, head.headers],
        });
      }
      const headers = Headers.fromWire(head.headers);
      const extensionsOut: ResponseExtensions = {
        httpVersion: head.version,
        reasonPhrase: head.reason,
        networkStream: stream,
      };
      this.#readKeepAliveHint(head.headers);

      // -- Upgrades: 101, or 2xx to CONNECT --
      if (status === 101 || (method === "CONNECT" && status >= 200 && status < 300)) {
        const next = parser.next();
        const rest = next !== null && next.type === "upgrade" ? next.rest : parser.takeBuffered();
        extensionsOut.networkStream = this.#upgraded(request, headers, rest);
        return new Response(status, { headers, extensions: extensionsOut, request });
      }

      // -- Body: whole already, or pulled on demand --
      let first: Uint8Array | null = null;
      let more: Uint8Array[] | null = null;
      let size = 0;
      for (event = parser.next(); event !== null && event.type === "data"; event = parser.next()) {
        if (first === null) first = event.data;
        else (more ??= [first]).push(event.data);
        size += event.data.length;
      }
      if (event !== null && event.type === "end") {
        const content = more !== null ? concatBytes(more, size) : first ?? EMPTY;
        this.#xKeepAlive &&= event.keepAlive;
        if (trace) {
          await trace("http11.receive_response_body.started", { request });
          await trace("http11.receive_response_body.complete", { return_value: null });
        }
        this.#xBodyDone = true;
        if (readAll) {
          const ending = this.#endExchange(exchange);
          if (ending !== undefined) await ending;
          return new Response(status, { headers, content, extensions: extensionsOut, request });
        }
        return new Response(status, {
          headers,
          content: new BufferedBody(this, exchange, content),
          extensions: extensionsOut,
          request,
        });
      }
      if (event !== null) {
        throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} in the body`);
      }
      this.#xBorrow = extensions.borrowBodyChunks === true && stream.readInto !== undefined;
      const source = new ConnectionBody(this, exchange, this.#xBorrow);
      if (first !== null) this.#pushBack(more ?? [first]);
      this.#xRemaining = head.bodyLength === null ? null : head.bodyLength - size;
      const response = new Response(status, {
        headers,
        content: source,
        extensions: extensionsOut,
        request,
      });
      if (readAll) {
        try {
          await response.bytes();
        } catch (error) {
          throw this.#failure(error, request);
        }
      }
      return response;
    } catch (error) {
      const failure = this.#failure(error, request);
      // Retry on a fresh connection only what a stale keep-alive connection explains: the
      // peer closed or reset it before any response byte. Not a timeout (the server may be
      // working on it), and never a body that cannot be sent again.
      if (
        reused && !gotBytes &&
        (!headSent || (IDEMPOTENT.has(method) && request.isReplayable)) &&
        !(failure instanceof LocalProtocolError) && !(failure instanceof TimeoutException) &&
        !signal?.aborted
      ) retryable.add(failure as object);
      if (failure instanceof LocalProtocolError && !headSent) {
        // Nothing was written: the connection is as good as before. One opened for this
        // request stays NEW (it served nothing) but expires like an idle one.
        this.#exchangeId++;
        this.#detachSignal();
        this.#state = this.#exchanges > 0 ? "IDLE" : "NEW";
        if (this.#exchanges > 0 && this.#armed === null) scheduleArm(this);
        if (this.#exchanges === 0 && this.#stream !== null) {
          this.#expiresAt = Date.now() + this.#keepaliveMs;
        }
        this.#release();
      } else {
        await this.#close();
      }
      throw failure;
    }
  }

  /**
   * Whether a bodiless request serialises to the same bytes as the last one did: same
   * method, target and header pairs (compared one by one, never through a joined key, so
   * a value that smuggles a line break cannot match a valid request). Repeated requests
   * (polling, benchmarks, a client's default headers) then skip serialising.
   */
  #sameHead(method: string, target: string, pairs: [string, string][]): boolean {
    const last = this.#lastPairs;
    if (
      last === null || method !== this.#lastMethod || target !== this.#lastTarget ||
      last.length !== pairs.length
    ) return false;
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i][0] !== last[i][0] || pairs[i][1] !== last[i][1]) return false;
    }
    return true;
  }

  #lastMethod = "";
  #lastTarget = "";
  #lastPairs: [string, string][] | null = null;
  #lastHead: Uint8Array | null = null;

  #hostOnly: [string, string][] | null = null;

  /** Headers for the wire: the request's, with `Host` first when absent. */
  #headerPairs(headers: Headers, url: URL): [string, string][] {
    if (headers.size === 0) {
      // The common case, with no allocation when the host is the last one's.
      const host = url.host;
      if (this.#hostOnly === null || this.#hostOnly[0][1] !== host) {
        this.#hostOnly = [["Host", host]];
      }
      return this.#hostOnly;
    }
    let hasHost = false;
    const pairs = headers.pairs();
    for (let i = 0; i < pairs.length; i++) {
      const name = pairs[i][0];
      if (name.length === 4 && name.toLowerCase() === "host") hasHost = true;
      else if (name.length === 10 && name.toLowerCase() === "connection") {
        if (/(^|,)\s*close\s*(,|$)/i.test(pairs[i][1])) this.#xKeepAlive = false;
      }
    }
    if (!hasHost) pairs.unshift(["Host", url.host]);
    return pairs;
  }

  /** `Keep-Alive: timeout=N` shortens this connection's idle expiry. */
  #readKeepAliveHint(pairs: [string, string][]): void {
    for (let i = 0; i < pairs.length; i++) {
      const name = pairs[i][0];
      if (
        name.length === 10 && (name.charCodeAt(0) | 0x20) === 107 /* k */ &&
        name.toLowerCase() === "keep-alive"
      ) {
        const match = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(pairs[i][1]);
        if (match !== null) this.#xHintMs = Number(match[1]) * 1000;
      }
    }
  }

  /** Maps a failure of the exchange: an abort becomes the signal's reason. */
  #failure(error: unknown, request: Request): unknown {
    const signal = this.#xSignal;
    if (signal?.aborted) return signal.reason;
    // deno-lint-ignore no-explicit-any
    if (error instanceof Error && "request" in error && (error as any).request === null) {
      // deno-lint-ignore no-explicit-any
      (error as any).request = request;
    }
    return error;
  }

  #pending: Uint8Array[] | null = null;

  #pushBack(chunks: Uint8Array[]): void {
    this.#pending = chunks;
  }

  /** Reads the next chunk for the exchange: the armed read first, if there is one. */
  #readChunk(stream: NetworkStreamInterface, size = DEFAULT_READ_SIZE): Promise<Uint8Array> {
    const armed = this.#armed;
    if (armed !== null) {
      this.#armed = null;
      setRef(stream, true);
      return withDeadline("read", this.#xReadMs, () => armed, () => {
        stream.close().catch(() => {});
      });
    }
    return stream.read(size, this.#xReadMs);
  }

  /**
   * Body reads grow from 64 KiB to 256 KiB while they come back full (a download on a
   * fast link: a quarter of the reads, about twice the throughput on loopback) and
   * shrink again when they do not.
   */
  #bodyReadSize = DEFAULT_READ_SIZE;

  async #readBody(exchange: number): Promise<Uint8Array | null> {
    if (exchange !== this.#exchangeId) throw this.#bodyLost();
    if (this.#xBodyDone) return null;
    const pending = this.#pending;
    if (pending !== null) {
      const chunk = pending.shift()!;
      if (pending.length === 0) this.#pending = null;
      return chunk;
    }
    const trace = this.#xTrace;
    try {
      if (trace && !this.#xBodyStarted) {
        this.#xBodyStarted = true;
        await trace("http11.receive_response_body.started", { request: this.#xRequest });
      }
      const parser = this.#parser;
      const stream = this.#stream!;
      for (;;) {
        const event = parser.next();
        if (event === null) {
          if (this.#xBorrow && this.#armed === null) {
            // Borrowed: every read lands in the same buffer. The parser has consumed all
            // it was fed (it returned null; a partial line is copied into its scratch),
            // and the caller was told that the last chunk is void once it reads again.
            const buffer = this.#borrowBuffer ??= new Uint8Array(MAX_BODY_READ_SIZE);
            const count = await stream.readInto!(buffer, this.#xReadMs);
            if (exchange !== this.#exchangeId) throw this.#bodyLost();
            if (count === 0) parser.feedEnd();
            else parser.feed(buffer.subarray(0, count));
            continue;
          }
          const size = this.#bodyReadSize;
          const bytes = await this.#readChunk(stream, size);
          if (exchange !== this.#exchangeId) throw this.#bodyLost();
          if (bytes.length === size) {
            if (size < MAX_BODY_READ_SIZE) this.#bodyReadSize = size * 2;
          } else if (bytes.length < size >> 1 && size > DEFAULT_READ_SIZE) {
            this.#bodyReadSize = size >> 1;
          }
          if (bytes.length === 0) parser.feedEnd();
          else parser.feed(bytes);
        } else if (event.type === "data") {
          if (this.#xRemaining !== null) this.#xRemaining -= event.data.length;
          return event.data;
        } else if (event.type === "end") {
          this.#xKeepAlive &&= event.keepAlive;
          this.#xBodyDone = true;
          if (trace) await trace("http11.receive_response_body.complete", { return_value: null });
          const ending = this.#endExchange(exchange);
          if (ending !== undefined) await ending;
          return null;
        } else {
          throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} in the body`);
        }
      }
    } catch (error) {
      const failure = this.#failure(error, this.#xRequest!);
      if (trace) {
        await Promise.resolve(trace("http11.receive_response_body.failed", { exception: failure }))
          .catch(() => {});
      }
      if (exchange === this.#exchangeId) await this.#close();
      throw failure;
    }
  }

  /** Why a body cannot be read on: the exchange was aborted or the connection closed. */
  #bodyLost(): unknown {
    const signal = this.#xSignal;
    if (signal?.aborted) return signal.reason;
    return new ReadError(
      `Connection to ${JSON.stringify(this.#originText)} was closed while the body was read`,
      { request: this.#xRequest },
    );
  }

  /** The response was closed: drain a small remainder to keep the connection, or close it. */
  async #closeBody(exchange: number): Promise<void> {
    if (exchange !== this.#exchangeId) return;
    if (this.#xBodyDone) {
      const ending = this.#endExchange(exchange);
      if (ending !== undefined) await ending;
      return;
    }
    // What is buffered is drained; more is read only when the length is known and the
    // rest is at most 64 KiB. Otherwise closing is cheaper than reading on.
    this.#pending = null;
    try {
      const parser = this.#parser;
      const stream = this.#stream!;
      for (;;) {
        const event = parser.next();
        if (event === null) {
          const remaining = this.#xRemaining;
          if (remaining === null || remaining > 65536 || this.#xSignal?.aborted) break;
          const bytes = await this.#readChunk(stream);
          if (exchange !== this.#exchangeId) return;
          if (bytes.length === 0) parser.feedEnd();
          else parser.feed(bytes);
        } else if (event.type === "data") {
          if (this.#xRemaining !== null) this.#xRemaining -= event.data.length;
        } else if (event.type === "end") {
          this.#xKeepAlive &&= event.keepAlive;
          this.#xBodyDone = true;
          const ending = this.#endExchange(exchange);
          if (ending !== undefined) await ending;
          return;
        } else break;
      }
    } catch {
      // Falls through to closing: the connection cannot be saved.
    }
    if (exchange === this.#exchangeId) await this.#close();
  }

  /**
   * The exchange is over: keep the connection for the next one, or close it. Returns a
   * promise only when there is something to wait for (tracing, closing).
   */
  #endExchange(exchange: number): Promise<void> | undefined {
    if (exchange !== this.#exchangeId || this.#state !== "ACTIVE") return undefined;
    this.#exchangeId++;
    this.#exchanges++;
    this.#pending = null;
    this.#detachSignal();
    const trace = this.#xTrace;
    this.#xRequest = null;
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
    if (!this.#xKeepAlive || this.#parser.takeBuffered().length > 0) return this.#close();
    const keep = this.#xHintMs < this.#keepaliveMs ? this.#xHintMs : this.#keepaliveMs;
    this.#expiresAt = keep === Infinity ? Infinity : Date.now() + keep;
    this.#state = "IDLE";
    scheduleArm(this);
    this.#release();
    return undefined;
  }

  /** Gives the turn to the next waiting caller, or tells the pool the connection is free. */
  #release(): void {
    if (this.#turns.length > 0) {
      this.#turns.shift()!();
      return;
    }
    this.#busy = false;
    this.#hooks?.idle(this);
  }

  #passTurn(): void {
    if (this.#turns.length > 0) this.#turns.shift()!();
    else this.#busy = false;
  }

  /** Issues the read for the next response now: end-of-input while idle closes. */
  #arm(): void {
    const stream = this.#stream!;
    const armed = stream.read();
    this.#armed = armed;
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
    if (this.#state === "IDLE" && this.#armed !== null) this.#close();
  };

  #detachSignal(): void {
    const onAbort = this.#xOnAbort;
    if (onAbort !== null) {
      this.#xSignal!.removeEventListener("abort", onAbort);
      this.#xOnAbort = null;
    }
  }

  #abort(): void {
    this.#xOnAbort = null;
    this.#close();
  }

  #upgraded(request: Request, headers: Headers, rest: Uint8Array): NetworkStreamInterface {
    const isConnect = request.method === "CONNECT";
    this.#exchangeId++;
    this.#detachSignal();
    this.#state = "UPGRADED";
    if (isConnect) {
      const target = (request.extensions.target as string | undefined) ?? request.url.host;
      const colon = target.lastIndexOf(":");
      const port = colon === -1 ? 443 : Number(target.slice(colon + 1));
      const host = colon === -1 ? target : target.slice(0, colon);
      const scheme = port === 443 ? "https" : "http";
      this.#upgradeLabel = "CONNECT";
      this.#upgradeUrl = port === defaultPort(scheme)
        ? `${scheme}://${host}`
        : `${scheme}://${host}:${port}`;
    } else {
      this.#upgradeLabel = (headers.get("upgrade") ?? "UPGRADED").toUpperCase();
      this.#upgradeUrl = request.url.href;
    }
    return new PrefixedStream(this.#stream!, rest, () => this.#close());
  }

  #close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    forgetArm(this);
    this.#state = "CLOSED";
    this.#exchangeId++;
    this.#armed = null;
    this.#pending = null;
    this.#borrowBuffer = null;
    this.#detachSignal();
    const stream = this.#stream;
    this.#closing = stream === null ? Promise.resolve() : stream.close().catch(() => {
      // Closing a broken stream fails the way it broke; there is nothing left to do.
    });
    // The pool and the callers waiting for their turn learn of it at once.
    this.#hooks?.closed(this);
    const turns = this.#turns;
    this.#turns = [];
    this.#busy = false;
    for (const turn of turns) turn();
    return this.#closing;
  }
}

/**
 * Opens a connection to `url`'s origin (TCP, then TLS for `https`).
 *
 * @example Open a connection and send a request
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry";
 * await using connection = await openConnection("https://www.example.com/");
 * const response = await connection.request("GET", "/");
 * console.log(response.status, String(connection));
 * // 200 <Connection "https://www.example.com/" IDLE>
 * ```
 */
export async function openConnection(
  url: string | URL,
  options: ConnectionOptions = {},
): Promise<Connection> {
  const parsed = parseUrl(url);
  const origin = originOf(parsed);
  const timeouts = options.timeout ?? {};
  const connectMs = phaseLimit(timeouts, "connect", DEFAULT_TIMEOUT_MS);
  const stream = await openStream(origin, options, connectMs, {
    trace: options.trace,
    sniHostname: options.sniHostname,
    signal: options.signal,
  });
  return new Connection(stream, parsed, options);
}

/** Pool plumbing, not public API. */
export const _internal: {
  readonly handle: typeof handle;
  readonly installHooks: typeof installHooks;
  readonly lazyConnection: typeof lazyConnection;
  readonly expiresAt: typeof expiresAt;
  readonly exchangeCount: typeof exchangeCount;
} = { handle, installHooks, lazyConnection, expiresAt, exchangeCount };
