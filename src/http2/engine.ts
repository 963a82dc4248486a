/**
 * The seam between Ferry's HTTP/2 connection and the code that speaks the protocol (frames,
 * HPACK, flow control). {@linkcode Http2Connection} drives an {@linkcode Http2Engine}; the
 * one shipped is `node:http2` over a Ferry network stream (`node_engine.ts`), and a
 * sans-IO engine of Ferry's own can replace it without touching the connection or the pool.
 *
 * The contract is push-based and callback-driven, as `node:http2` and python-hyper's `h2`
 * both are: the engine reports what the peer did (settings, headers, data, trailers, resets,
 * GOAWAY, close); the connection decides what to do about it (deadlines, errors, retries).
 * Engines own no timers and apply no deadlines.
 *
 * @module
 */

import type { NetworkStreamInterface } from "../network/types.ts";

/** Settings an engine advertises and windows it grants; see {@linkcode Http2Engine.open}. */
export interface Http2EngineOptions {
  /** `SETTINGS_INITIAL_WINDOW_SIZE`: bytes a stream may receive before a WINDOW_UPDATE. */
  streamWindowSize: number;
  /** The connection's receive window, all streams together. */
  connectionWindowSize: number;
  /** `SETTINGS_MAX_HEADER_LIST_SIZE`: the largest response head accepted, in bytes. */
  maxHeaderListSize: number;
}

/** What an {@linkcode Http2EngineSession} tells its connection. */
export interface Http2SessionListener {
  /** The peer's SETTINGS arrived (first or later): its stream limit. */
  onRemoteSettings(maxConcurrentStreams: number): void;
  /** The peer sent GOAWAY: streams above `lastStreamId` were not processed. */
  onGoaway(errorCode: number, lastStreamId: number): void;
  /**
   * The session ended: `error` is `null` after an orderly close, else what broke it (a
   * protocol violation by the peer, a network failure).
   */
  onClose(error: Http2EngineError | null): void;
}

/** What an {@linkcode Http2EngineStream} tells its exchange. */
export interface Http2StreamListener {
  /** A `1xx` head. */
  onInformational(status: number, headers: [string, string][]): void;
  /** The response head (pseudo-headers removed, names lower-case, in wire order). */
  onHeaders(status: number, headers: [string, string][]): void;
  /** A chunk of the response body; the chunk belongs to the listener. */
  onData(chunk: Uint8Array): void;
  /** Trailers after the body. */
  onTrailers(headers: [string, string][]): void;
  /** The response ended (END_STREAM). */
  onEnd(): void;
  /** The stream ended abnormally: reset by the peer, or broken by the session. */
  onError(error: Http2EngineError): void;
}

/**
 * A failure as an engine reports it: `kind` says whose fault, `code` the HTTP/2 error code
 * (RFC 9113 section 7) when there is one.
 */
export interface Http2EngineError {
  /**
   * - `"reset"`: the peer reset the stream (RST_STREAM).
   * - `"goaway"`: the stream was above the peer's GOAWAY last-stream-id: not processed.
   * - `"protocol"`: the peer broke the protocol (the session is closed; with `stream`, only
   *   this stream was, reset by us).
   * - `"network"`: the network stream failed or closed.
   * - `"local"`: the request could not be sent (a header the engine refused).
   */
  kind: "reset" | "goaway" | "protocol" | "network" | "local";
  /** The HTTP/2 error code, or `null`. */
  code: number | null;
  /** What happened, in words. */
  message: string;
  /** The underlying error, if any. */
  cause?: unknown;
  /** A `"protocol"` fault of this stream alone: it was reset, the session goes on. */
  stream?: boolean;
}

/** One request/response stream on a session. */
export interface Http2EngineStream {
  /** The stream identifier, once the engine has assigned it (else `0`). */
  readonly id: number;
  /**
   * Sends a chunk of the request body; resolves once the engine took it (flow control:
   * it waits while the peer's window is closed).
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Whether body bytes written wait for the peer's window (flow control) rather than for the
   * network. A write still pending with this `false` waits for the network stream's write:
   * the connection is stuck (the peer stopped reading). Optional: `undefined` when the engine
   * cannot tell.
   */
  readonly waitingForWindow?: boolean;
  /** Ends the request body (END_STREAM). */
  end(): void;
  /** Stops delivering `onData` until {@linkcode Http2EngineStream.resume} (and stops granting window). */
  pause(): void;
  /** Delivers `onData` again. */
  resume(): void;
  /** Resets the stream with `code` (8, CANCEL, when a deadline passed or the reader left). */
  reset(code: number): void;
}

/** One HTTP/2 session over one network stream. */
export interface Http2EngineSession {
  /**
   * Opens a stream with the request head; `endStream` when there is no body. Pseudo-headers
   * come first in `headers`. Throws {@linkcode Http2EngineError}-shaped errors with kind
   * `"local"` for heads the engine refuses.
   */
  request(
    headers: [string, string][],
    endStream: boolean,
    listener: Http2StreamListener,
  ): Http2EngineStream;
  /** The peer's current `SETTINGS_MAX_CONCURRENT_STREAMS` (until it sent SETTINGS: 100). */
  readonly maxConcurrentStreams: number;
  /** Whether the session may keep the process alive (active streams) or not (idle). */
  setRef(ref: boolean): void;
  /** Sends GOAWAY (NO_ERROR) and closes once open streams end (or at once with none). */
  close(): Promise<void>;
  /** Closes at once: GOAWAY with `code` if possible, then the network stream. */
  destroy(code: number): void;
}

/** Makes sessions. */
export interface Http2Engine {
  /** A short name for reprs and the README (`"node:http2"`). */
  readonly name: string;
  /**
   * Starts a client session on `stream` (already connected, TLS done): sends the
   * connection preface and SETTINGS.
   */
  open(
    stream: NetworkStreamInterface,
    authority: string,
    options: Http2EngineOptions,
    listener: Http2SessionListener,
  ): Http2EngineSession;
}

/** HTTP/2 error codes by number (RFC 9113 section 7). */
export const ERROR_CODE_NAMES: readonly string[] = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/** `CANCEL`: the code a stream is reset with when its deadline passes or its reader leaves. */
export const CANCEL = 8;
/** `REFUSED_STREAM`: the peer did not process the stream, so it can be sent again. */
export const REFUSED_STREAM = 7;

/** `"CANCEL (0x8)"`, or `"0x2a"` for a code RFC 9113 does not name. */
export function errorCodeName(code: number): string {
  const hex = "0x" + code.toString(16);
  const name = ERROR_CODE_NAMES[code];
  return name === undefined ? hex : `${name} (${hex})`;
}
