/**
 * `Request`: what is sent, with its extensions (per-phase timeouts, trace, SNI, target).
 *
 * @module
 */

import { Headers, type HeadersInit } from "./headers.ts";
import { concatBytes, ReplayableBody, type RequestContent, utf8 } from "./body.ts";
import { InvalidURL, LocalProtocolError, StreamConsumed, UnsupportedProtocol } from "../errors.ts";
import { inspectAsRepr } from "../_inspect.ts";
import { parseRequestUrl, plainRequestUrl, urlTarget, withoutCredentials } from "./url.ts";

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
 * The limit of one phase: the per-request value when it sets one (`null` included: no
 * limit), else `fallback` (by default 5000 ms). The one place the rule "the request's
 * value, else the default" is written for timeouts.
 *
 * @example
 * ```ts ignore
 * phaseLimit({ read: null }, "read", 1000); // null: the request asked for no limit
 * phaseLimit({ read: 250 }, "connect", 1000); // 1000: the request set none for connect
 * ```
 */
export function phaseLimit(
  timeouts: Timeouts | null | undefined,
  phase: keyof Timeouts,
  fallback: number | null,
): number | null {
  if (timeouts == null) return fallback;
  // One named access per phase, not `timeouts[phase]`: a look-up keyed by four names is a
  // site V8 handles on its slow (megamorphic) path, taken several times a request.
  const value = phase === "read"
    ? timeouts.read
    : phase === "write"
    ? timeouts.write
    : phase === "connect"
    ? timeouts.connect
    : timeouts.pool;
  return value === undefined ? fallback : value;
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
  /**
   * Opt-in, for large downloads: the response body is read into one buffer that the
   * connection reuses, and `iterBytes()` / `iterRaw()` yield views into it that are valid
   * **only until the next chunk is asked for** (copy what you keep). This saves allocating
   * (and the runtime zeroing and collecting) fresh memory for every read. `bytes()`,
   * `text()`, `json()`, `body` and content decoding copy as needed, so they stay safe.
   * Needs a network stream with `readInto()` (the Deno, Node and in-memory ones have it);
   * otherwise it changes nothing. Default `false`.
   *
   * @example Count the bytes of a large download
   * ```ts ignore
   * import { ConnectionPool } from "@ferry/ferry";
   * await using pool = new ConnectionPool();
   * await using response = await pool.stream("GET", "http://127.0.0.1:8080/large.bin", {
   *   extensions: { borrowBodyChunks: true },
   * });
   * let total = 0;
   * for await (const chunk of response.iterBytes()) total += chunk.length; // chunk: a view
   * ```
   */
  borrowBodyChunks?: boolean;
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

/** A web URL whose host is empty: `http:///x`, `https://user@/x`, `http://:80/`. */
const HOSTLESS = /^(?:https?|wss?):\/\/(?:[^/?#@]*@)?(?::\d*)?(?:[/?#]|$)/i;

/** Parses a URL, raising {@linkcode InvalidURL} with the offending value quoted. */
export function parseUrl(url: string | URL, base?: string | URL): URL {
  if (url instanceof URL && base === undefined) return url;
  // `http:///api` would reach a host named "api" through the URL parser: httpx refuses it.
  // Messages never repeat credentials (a proxy URL from the environment, say).
  const shown = withoutCredentials(String(url));
  if (typeof url === "string" && HOSTLESS.test(url)) {
    throw new UnsupportedProtocol(
      `Request URL is missing an 'http://' or 'https://' protocol. (${shown})`,
    );
  }
  try {
    return new URL(url, base);
  } catch (cause) {
    throw new InvalidURL(
      `Invalid URL ${JSON.stringify(shown)}`,
      shown === String(url) ? { cause } : {},
    );
  }
}

/**
 * A plain request URL (see `plainRequestUrl`) read once and shared by the requests made
 * from the same text (a client or pool sending to one URL again): the send path reads its
 * parts here, and a request makes its own `URL` only when something asks for
 * `request.url`. Immutable. Not public API.
 */
export class SharedUrl {
  /** The URL's `href`. */
  readonly href: string;
  /** The URL's `host`. */
  readonly host: string;
  /** The request target: the path and query. */
  readonly target: string;

  /** Reads `url` (not kept). */
  constructor(url: URL) {
    this.href = url.href;
    this.host = url.host;
    this.target = urlTarget(url);
  }
}

/**
 * Makes requests, reading a plain URL text given for the last request only once (a client
 * or pool polling one URL): the requests share that reading ({@linkcode SharedUrl}) and each
 * makes its own `URL` only when asked for `request.url`. Not public API.
 */
export class UrlReadings {
  #lastText = "";
  #lastShared: SharedUrl | null = null;

  /** `new Request(method, url, init)`, without parsing a URL text read last time again. */
  request(method: string, url: string | URL, init?: RequestInit): Request {
    if (typeof url === "string") {
      let shared = this.#lastText === url ? this.#lastShared : null;
      if (shared === null) {
        const parsed = plainRequestUrl(url);
        if (parsed !== null) {
          shared = new SharedUrl(parsed);
          this.#lastText = url;
          this.#lastShared = shared;
        }
      }
      if (shared !== null) return requestFromShared(method, shared, init);
    }
    return new Request(method, url, init);
  }
}

/** The URL the next `new Request` takes as read already (see {@linkcode requestFromShared}). */
let sharing: SharedUrl | null = null;

/**
 * A request for a URL read already (see {@linkcode SharedUrl}): what `new Request(method,
 * shared.href, init)` makes, without parsing the text again.
 */
function requestFromShared(
  method: string,
  shared: SharedUrl,
  init?: RequestInit,
): Request {
  sharing = shared;
  try {
    return new Request(method, shared.href, init);
  } finally {
    sharing = null;
  }
}

/** `request.url.href`, without making the request's `URL`. Not public API. */
export let requestHref: (request: Request) => string;
/** `request.url.host`, without making the request's `URL`. Not public API. */
export let requestHost: (request: Request) => string;
/** Whether `request.url` carries a user name or password. Not public API. */
export let hasUrlCredentials: (request: Request) => boolean;

/** The init of a request given none: one frozen object, not a new `{}` per request. */
const NO_INIT: RequestInit = Object.freeze({});

/** A method as RFC 9110 has it: a token. */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

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
  /** The method, upper-cased as httpx does (`"GET"`). */
  method: string;
  /** The headers, in wire order. */
  headers: Headers;
  /** The body, or `null` for none. */
  content: RequestContent | null;
  /** Extensions for the transport. */
  extensions: RequestExtensions;

  /**
   * The path and query as the caller wrote them (when they differ from `url`'s), with
   * the `pathname + search` of `url` they were read with: a changed URL drops them.
   */
  #written: string | null = null;
  #writtenFor = "";
  /** The request's `URL`, made on first use when the request has a shared reading. */
  #url: URL | null = null;
  /** The shared reading of the URL text (while `#url` is not made), else `null`. */
  #shared: SharedUrl | null = null;

  static {
    requestHref = (request) => {
      const url = request.#url;
      return url !== null ? url.href : request.#shared!.href;
    };
    requestHost = (request) => {
      const url = request.#url;
      return url !== null ? url.host : request.#shared!.host;
    };
    hasUrlCredentials = (request) => {
      // A shared reading is of a plain URL, which has no user information.
      const url = request.#url;
      return url !== null && (url.username !== "" || url.password !== "");
    };
  }

  /**
   * Creates a request for `method` and `url`. A URL given as text keeps its path and
   * query as written (see {@linkcode Request.target}); a URL without a host is
   * `UnsupportedProtocol`, as in httpx. A method that is not a token (RFC 9110: letters,
   * digits and ``!#$%&'*+-.^_`|~``) is `LocalProtocolError`, before any connection is made.
   */
  constructor(method: string, url: string | URL, init: RequestInit = NO_INIT) {
    if (method !== "GET" && method !== "POST") {
      if (!METHOD.test(method)) {
        throw new LocalProtocolError(
          `Invalid method ${
            JSON.stringify(method)
          }: a method is a token (letters, digits and !#$%&'*+-.^_\`|~)`,
        );
      }
      method = method.toUpperCase();
    }
    this.method = method;
    if (sharing !== null) {
      this.#shared = sharing;
      sharing = null;
    } else if (typeof url === "string") {
      const parsed = parseRequestUrl(url, this.method);
      this.url = parsed.url;
      if (parsed.target !== null) {
        this.#written = parsed.target;
        this.#writtenFor = parsed.url.pathname + parsed.url.search;
      }
    } else this.url = url;
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.content = init.content ?? null;
    this.extensions = init.extensions ?? {};
  }

  /**
   * The request target sent on the wire: the path and query (httpx's `url.raw_path`).
   * For a URL given as text it is what the caller wrote, normalised only as httpx does
   * (`.` and `..` segments removed, unsafe characters percent-encoded), not as the
   * WHATWG URL parser rewrites paths for browsers: `/a\b`, `%2e%2e` segments, `~`, `'`
   * and a bare `?` are sent as written. Otherwise (or once `url` is changed) it is the
   * URL's path and query.
   *
   * @example
   * ```ts
   * import { Request } from "@ferry/ferry";
   * const request = new Request("GET", "http://example.com/files/..%2f/a\\b?");
   * console.log(request.url.pathname); // "/files/..%2f/a/b" (the WHATWG reading)
   * console.log(request.target); // "/files/..%2f/a\\b?" (what is sent)
   * ```
   */
  get target(): string {
    if (this.#url === null) return this.#shared!.target;
    const url = this.#url;
    if (this.#written !== null && url.pathname + url.search === this.#writtenFor) {
      return this.#written;
    }
    return urlTarget(url);
  }

  /** The URL. */
  get url(): URL {
    // A request made from a shared reading makes its own URL on first use: changing it
    // changes this request only.
    return this.#url ??= new URL(this.#shared!.href);
  }

  set url(url: URL) {
    this.#url = url;
    this.#shared = null;
  }

  /**
   * Whether the body can be sent again (bytes, text, or none): needed for redirects that
   * keep the body and for auth flows that resend the request.
   */
  get isReplayable(): boolean {
    const content = this.content;
    return content === null || typeof content === "string" || content instanceof Uint8Array ||
      content instanceof ReplayableBody;
  }

  /**
   * Reads a streamed body into memory (once) and returns it; the body becomes those bytes,
   * so the request can be sent again. Bytes and text are returned as they are.
   */
  async bytes(): Promise<Uint8Array> {
    const content = this.content;
    if (content === null) return new Uint8Array(0);
    if (content instanceof Uint8Array) return content;
    if (typeof content === "string") {
      const bytes = utf8(content);
      this.content = bytes;
      return bytes;
    }
    if (this.#consumed && !(content instanceof ReplayableBody)) throw new StreamConsumed();
    this.#consumed = true;
    const chunks: Uint8Array[] = [];
    if (content instanceof ReadableStream) {
      const reader = content.getReader();
      try {
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          chunks.push(next.value);
        }
      } finally {
        reader.releaseLock();
      }
    } else if (Symbol.asyncIterator in content) {
      for await (const chunk of content as AsyncIterable<Uint8Array>) chunks.push(chunk);
    } else {
      for (const chunk of content as Iterable<Uint8Array>) chunks.push(chunk);
    }
    const bytes = concatBytes(chunks.length === 0 ? [new Uint8Array(0)] : chunks);
    this.content = bytes;
    return bytes;
  }

  #consumed = false;

  /** `<Request [GET]>` */
  toString(): string {
    return `<Request [${this.method}]>`;
  }
}

inspectAsRepr(Request);
