/**
 * One error hierarchy for every layer, with httpx's names and meaning.
 *
 * ```
 * HTTPError
 * ├── RequestError
 * │   ├── TransportError
 * │   │   ├── TimeoutException
 * │   │   │   ├── ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
 * │   │   ├── NetworkError
 * │   │   │   ├── ConnectError, ReadError, WriteError, CloseError
 * │   │   ├── ProtocolError
 * │   │   │   ├── LocalProtocolError, RemoteProtocolError
 * │   │   ├── ProxyError
 * │   │   └── UnsupportedProtocol
 * │   ├── DecodingError
 * │   └── TooManyRedirects
 * └── HTTPStatusError (in models/response.ts, beside the Response it carries)
 * InvalidURL
 * CookieConflict
 * StreamError
 * ├── StreamConsumed, StreamClosed, ResponseNotRead, RequestNotRead
 * ```
 *
 * Runtime errors (refused connections, resets, TLS failures) are mapped into this
 * hierarchy by the network backends and never leak raw; the original is kept as `cause`.
 *
 * @module
 */

import { hideCredentials } from "./_redact.ts";

/**
 * What an error knows of the request it concerns: a `Request` in practice (`instanceof
 * Request` gives the rest of its API). Typed by these two fields so that the errors depend
 * on nothing above them.
 *
 * @example
 * ```ts
 * import { ConnectError } from "@ferry/ferry";
 * const error = new ConnectError("Could not connect", {
 *   request: { method: "GET", url: new URL("http://127.0.0.1:1/") },
 * });
 * console.log(error.request?.method, error.request?.url.href);
 * ```
 */
export interface ErrorRequest {
  /** The request's method. */
  readonly method: string;
  /** The request's URL. */
  readonly url: URL;
}

/** Options shared by the errors that concern a request. */
export interface ErrorOptions {
  /** The request the error concerns, when there is one. */
  request?: ErrorRequest | null;
  /** The underlying error, such as the runtime's own. */
  cause?: unknown;
}

const PLAIN_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Base class of every error that sending a request or checking a response can raise.
 *
 * @example Catch every Ferry error
 * ```ts
 * import { HTTPError } from "@ferry/ferry";
 * try {
 *   throw new HTTPError("Something went wrong");
 * } catch (error) {
 *   if (error instanceof HTTPError) console.log(error.message);
 * }
 * ```
 */
export class HTTPError extends Error {
  #request: ErrorRequest | null = null;
  #described = false;

  /** Creates the error with a message and, optionally, the request and cause. */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.request = options.request ?? null;
  }

  /** The request this error concerns, or `null` when it is not known. */
  get request(): ErrorRequest | null {
    return this.#request;
  }

  /**
   * Attaches the request once a higher layer knows it (lower layers may not). A
   * {@linkcode RequestError}'s message then ends with the method and URL (without
   * credentials), once: `Read timed out after 1000 ms (GET http://example.com/a)`.
   */
  set request(request: ErrorRequest | null) {
    this.#request = request;
    if (request === null || this.#described || !(this instanceof RequestError)) return;
    this.#described = true;
    const before = this.message;
    // The stack's first line is written with the message of the moment it is first read:
    // read it now, then show the new message there too.
    const stack = this.stack;
    // A method changed by hand after the request was made may hold anything: shown quoted.
    const method = PLAIN_METHOD.test(request.method)
      ? request.method
      : JSON.stringify(request.method);
    this.message = `${before} (${method} ${hideCredentials(request.url)})`;
    if (typeof stack === "string" && stack.includes(before)) {
      this.stack = stack.replace(before, this.message);
    }
  }
}

/**
 * An error that happened while a request was being sent or its response received.
 *
 * @example
 * ```ts
 * import { RequestError } from "@ferry/ferry";
 * const error = new RequestError("No route");
 * console.log(error instanceof Error); // true
 * ```
 */
export class RequestError extends HTTPError {}

/**
 * An error in the transport: the network, the protocol, timeouts or proxies.
 *
 * @example
 * ```ts
 * import { TransportError } from "@ferry/ferry";
 * console.log(new TransportError("broken").name); // "TransportError"
 * ```
 */
export class TransportError extends RequestError {}

/** The phases that a timeout can end. */
export type TimeoutPhase = "connect" | "read" | "write" | "pool";

/** Options of a {@linkcode TimeoutException}. */
export interface TimeoutErrorOptions extends ErrorOptions {
  /** The limit that ran out, in milliseconds. */
  timeoutMs?: number | null;
}

/**
 * A deadline passed. The subclass names the phase that was cut short.
 *
 * @example
 * ```ts
 * import { ReadTimeout, TimeoutException } from "@ferry/ferry";
 * const error = new ReadTimeout("Read timed out after 5000 ms", { timeoutMs: 5000 });
 * console.log(error instanceof TimeoutException, error.phase, error.timeoutMs); // true "read" 5000
 * ```
 */
export class TimeoutException extends TransportError {
  /** How long the limit that ran out was, in milliseconds, when known. */
  readonly timeoutMs: number | null;

  /** Creates the error; `timeoutMs` records the limit that ran out. */
  constructor(message: string, options: TimeoutErrorOptions = {}) {
    super(message, options);
    this.timeoutMs = options.timeoutMs ?? null;
  }

  /** The phase that timed out. */
  get phase(): TimeoutPhase | null {
    return null;
  }
}

/**
 * Connecting (TCP, TLS handshake, proxy handshake) took too long.
 *
 * @example
 * ```ts
 * import { ConnectTimeout } from "@ferry/ferry";
 * console.log(new ConnectTimeout("Connect timed out").phase); // "connect"
 * ```
 */
export class ConnectTimeout extends TimeoutException {
  /** Always `"connect"`. */
  override get phase(): TimeoutPhase {
    return "connect";
  }
}

/**
 * Waiting for bytes from the server took too long.
 *
 * @example
 * ```ts
 * import { ReadTimeout } from "@ferry/ferry";
 * console.log(new ReadTimeout("Read timed out").phase); // "read"
 * ```
 */
export class ReadTimeout extends TimeoutException {
  /** Always `"read"`. */
  override get phase(): TimeoutPhase {
    return "read";
  }
}

/**
 * Sending bytes to the server took too long.
 *
 * @example
 * ```ts
 * import { WriteTimeout } from "@ferry/ferry";
 * console.log(new WriteTimeout("Write timed out").phase); // "write"
 * ```
 */
export class WriteTimeout extends TimeoutException {
  /** Always `"write"`. */
  override get phase(): TimeoutPhase {
    return "write";
  }
}

/**
 * Waiting for a connection from the pool took too long.
 *
 * @example
 * ```ts
 * import { PoolTimeout } from "@ferry/ferry";
 * console.log(new PoolTimeout("Pool timed out").phase); // "pool"
 * ```
 */
export class PoolTimeout extends TimeoutException {
  /** Always `"pool"`. */
  override get phase(): TimeoutPhase {
    return "pool";
  }
}

/**
 * A network operation failed (refused, reset, unreachable, TLS failure).
 *
 * @example
 * ```ts
 * import { NetworkError } from "@ferry/ferry";
 * console.log(new NetworkError("reset").name); // "NetworkError"
 * ```
 */
export class NetworkError extends TransportError {}

/**
 * Opening a connection failed: DNS, refusal, TLS handshake or certificate checks.
 *
 * @example
 * ```ts
 * import { ConnectError, NetworkError } from "@ferry/ferry";
 * console.log(new ConnectError("Connection refused") instanceof NetworkError); // true
 * ```
 */
export class ConnectError extends NetworkError {}

/**
 * Receiving data failed.
 *
 * @example
 * ```ts
 * import { ReadError } from "@ferry/ferry";
 * console.log(new ReadError("Connection reset").name); // "ReadError"
 * ```
 */
export class ReadError extends NetworkError {}

/**
 * Sending data failed.
 *
 * @example
 * ```ts
 * import { WriteError } from "@ferry/ferry";
 * console.log(new WriteError("Broken pipe").name); // "WriteError"
 * ```
 */
export class WriteError extends NetworkError {}

/**
 * Closing a connection failed.
 *
 * @example
 * ```ts
 * import { CloseError } from "@ferry/ferry";
 * console.log(new CloseError("close failed").name); // "CloseError"
 * ```
 */
export class CloseError extends NetworkError {}

/**
 * The HTTP protocol was broken, by us or by the server.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@ferry/ferry";
 * console.log(new ProtocolError("bad").name); // "ProtocolError"
 * ```
 */
export class ProtocolError extends TransportError {}

/**
 * The request we were asked to send breaks HTTP (a bad header name or value). Nothing
 * was written when this is raised.
 *
 * @example
 * ```ts
 * import { LocalProtocolError } from "@ferry/ferry";
 * console.log(new LocalProtocolError('Invalid header name "a b"').name);
 * ```
 */
export class LocalProtocolError extends ProtocolError {}

/** Options of a {@linkcode RemoteProtocolError}. */
export interface RemoteProtocolErrorOptions extends ErrorOptions {
  /** Offset of the offending byte from the start of the response, when known. */
  offset?: number | null;
}

/**
 * The server sent bytes that are not valid HTTP/1.1. The message says what was wrong and
 * `offset` says where (counted from the start of the response that was being parsed).
 * The connection it came on is closed and never reused.
 *
 * @example
 * ```ts
 * import { RemoteProtocolError } from "@ferry/ferry";
 * const error = new RemoteProtocolError('Invalid status code "20x"', { offset: 9 });
 * console.log(error.offset); // 9
 * ```
 */
export class RemoteProtocolError extends ProtocolError {
  /** Offset of the offending byte, counted from the start of the response, when known. */
  readonly offset: number | null;

  /** Creates the error; `offset` is where in the response the problem is. */
  constructor(message: string, options: RemoteProtocolErrorOptions = {}) {
    super(message, options);
    this.offset = options.offset ?? null;
  }
}

/** Options of a {@linkcode StreamReset}. */
export interface StreamResetOptions extends ErrorOptions {
  /** The HTTP/2 error code of the RST_STREAM frame (RFC 9113 section 7). */
  errorCode: number;
  /** The stream that was reset. */
  streamId: number;
}

/**
 * The server reset an HTTP/2 stream (RST_STREAM): that request failed, the connection and
 * its other streams go on. `errorCode` is the frame's code; the message names it
 * (`"INTERNAL_ERROR (0x2)"`).
 *
 * @example
 * ```ts
 * import { StreamReset } from "@ferry/ferry";
 * const error = new StreamReset("Stream 3 was reset: INTERNAL_ERROR (0x2)", {
 *   errorCode: 2,
 *   streamId: 3,
 * });
 * console.log(error.errorCode, error.streamId); // 2 3
 * ```
 */
export class StreamReset extends RemoteProtocolError {
  /** The HTTP/2 error code of the RST_STREAM frame. */
  readonly errorCode: number;
  /** The stream that was reset. */
  readonly streamId: number;

  /** Creates the error with the frame's code and stream. */
  constructor(message: string, options: StreamResetOptions) {
    super(message, options);
    this.errorCode = options.errorCode;
    this.streamId = options.streamId;
  }
}

/** Options of a {@linkcode ProxyError}. */
export interface ProxyErrorOptions extends ErrorOptions {
  /** The status the proxy answered with, when it answered. */
  status?: number | null;
  /** The reason phrase the proxy answered with, when it answered. */
  reasonPhrase?: string | null;
}

/**
 * A proxy refused or broke the request (a refused `CONNECT`, a `407`, a failed SOCKS
 * handshake).
 *
 * @example
 * ```ts
 * import { ProxyError } from "@ferry/ferry";
 * const error = new ProxyError("Proxy refused CONNECT", { status: 407 });
 * console.log(error.status); // 407
 * ```
 */
export class ProxyError extends TransportError {
  /** The proxy's status, when it answered. */
  readonly status: number | null;
  /** The proxy's reason phrase, when it answered. */
  readonly reasonPhrase: string | null;

  /** Creates the error with the proxy's status and reason, when known. */
  constructor(message: string, options: ProxyErrorOptions = {}) {
    super(message, options);
    this.status = options.status ?? null;
    this.reasonPhrase = options.reasonPhrase ?? null;
  }
}

/**
 * The URL's scheme is not one we can send (only `http:` and `https:` are).
 *
 * @example
 * ```ts
 * import { UnsupportedProtocol } from "@ferry/ferry";
 * console.log(new UnsupportedProtocol('Unsupported scheme "ftp:"').name);
 * ```
 */
export class UnsupportedProtocol extends TransportError {}

/**
 * A response body could not be decoded (corrupt gzip, deflate, brotli, zstd, or a
 * decompressed size over the limit).
 *
 * @example
 * ```ts
 * import { DecodingError } from "@ferry/ferry";
 * console.log(new DecodingError("Invalid gzip data").name);
 * ```
 */
export class DecodingError extends RequestError {}

/**
 * A chain of redirects was longer than `maxRedirects`.
 *
 * @example
 * ```ts
 * import { TooManyRedirects } from "@ferry/ferry";
 * console.log(new TooManyRedirects("Exceeded maximum allowed redirects (20)").name);
 * ```
 */
export class TooManyRedirects extends RequestError {}

/**
 * A URL could not be parsed or is not usable for a request.
 *
 * @example
 * ```ts
 * import { InvalidURL } from "@ferry/ferry";
 * console.log(new InvalidURL('Invalid URL "http://"').name);
 * ```
 */
export class InvalidURL extends Error {
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidURL";
  }
}

/**
 * Two cookies of the same name matched where one was expected.
 *
 * @example
 * ```ts
 * import { CookieConflict } from "@ferry/ferry";
 * console.log(new CookieConflict('Multiple cookies exist with name "a"').name);
 * ```
 */
export class CookieConflict extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CookieConflict";
  }
}

/**
 * A request or response body was used in a way its state does not allow.
 *
 * @example
 * ```ts
 * import { StreamError } from "@ferry/ferry";
 * console.log(new StreamError("The stream is closed").name);
 * ```
 */
export class StreamError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The body was already read once and cannot be read again.
 *
 * @example
 * ```ts
 * import { StreamConsumed } from "@ferry/ferry";
 * console.log(new StreamConsumed().message);
 * ```
 */
export class StreamConsumed extends StreamError {
  /** Creates the error. */
  constructor(message = "The body has already been read and cannot be read again") {
    super(message);
  }
}

/**
 * The body's stream was closed before it was read.
 *
 * @example
 * ```ts
 * import { StreamClosed } from "@ferry/ferry";
 * console.log(new StreamClosed().message);
 * ```
 */
export class StreamClosed extends StreamError {
  /** Creates the error. */
  constructor(message = "The body's stream was closed before it was read") {
    super(message);
  }
}

/**
 * A property that needs the whole response body (`.content` and the like) was used before
 * the body was read.
 *
 * @example
 * ```ts
 * import { ResponseNotRead } from "@ferry/ferry";
 * console.log(new ResponseNotRead().message);
 * ```
 */
export class ResponseNotRead extends StreamError {
  /** Creates the error. */
  constructor(
    message = "The response body has not been read: call `await response.bytes()` first",
  ) {
    super(message);
  }
}

/**
 * A property that needs the whole request body was used before the body was read.
 *
 * @example
 * ```ts
 * import { RequestNotRead } from "@ferry/ferry";
 * console.log(new RequestNotRead().message);
 * ```
 */
export class RequestNotRead extends StreamError {
  /** Creates the error. */
  constructor(message = "The request body has not been read: call `await request.bytes()` first") {
    super(message);
  }
}
