/**
 * The HTTP/2 frame layer (RFC 9113 section 4 and 6), sans-IO: {@linkcode FrameParser} is fed
 * bytes as the network returns them (a frame split across reads, several frames in one
 * read) and calls a {@linkcode FrameHandler} once per frame, with the structural checks of
 * each frame type done (lengths, stream identifier zero or not, padding, a header block
 * continued by CONTINUATION frames only, SETTINGS values); the state of streams is the
 * session's business. Connection errors are thrown as {@linkcode Http2ProtocolError}
 * (`streamId` 0); stream errors go to {@linkcode FrameHandler.onStreamError} and parsing
 * goes on.
 *
 * Copies: none for a frame that arrives whole in one read (the handler gets a view into
 * the read's bytes); a frame split across reads is assembled into a buffer of its own
 * size; a header block split into CONTINUATION frames is joined.
 *
 * @module
 */

import { concatBytes } from "../models/body.ts";

/** Frame types (RFC 9113 section 6). */
export const DATA = 0x0;
/** HEADERS frame type. */
export const HEADERS = 0x1;
/** PRIORITY frame type. */
export const PRIORITY = 0x2;
/** RST_STREAM frame type. */
export const RST_STREAM = 0x3;
/** SETTINGS frame type. */
export const SETTINGS = 0x4;
/** PUSH_PROMISE frame type. */
export const PUSH_PROMISE = 0x5;
/** PING frame type. */
export const PING = 0x6;
/** GOAWAY frame type. */
export const GOAWAY = 0x7;
/** WINDOW_UPDATE frame type. */
export const WINDOW_UPDATE = 0x8;
/** CONTINUATION frame type. */
export const CONTINUATION = 0x9;

/** END_STREAM flag (DATA, HEADERS); ACK (SETTINGS, PING) has the same bit. */
export const END_STREAM = 0x1;
/** ACK flag (SETTINGS, PING). */
export const ACK = 0x1;
/** END_HEADERS flag (HEADERS, CONTINUATION). */
export const END_HEADERS = 0x4;
/** PADDED flag (DATA, HEADERS). */
export const PADDED = 0x8;
/** PRIORITY flag (HEADERS). */
export const PRIORITY_FLAG = 0x20;

/** Error codes (RFC 9113 section 7). */
export const NO_ERROR = 0x0;
/** PROTOCOL_ERROR. */
export const PROTOCOL_ERROR = 0x1;
/** INTERNAL_ERROR. */
export const INTERNAL_ERROR = 0x2;
/** FLOW_CONTROL_ERROR. */
export const FLOW_CONTROL_ERROR = 0x3;
/** STREAM_CLOSED. */
export const STREAM_CLOSED = 0x5;
/** FRAME_SIZE_ERROR. */
export const FRAME_SIZE_ERROR = 0x6;
/** COMPRESSION_ERROR. */
export const COMPRESSION_ERROR = 0x9;
/** ENHANCE_YOUR_CALM. */
export const ENHANCE_YOUR_CALM = 0xb;

/** Setting identifiers (RFC 9113 section 6.5.2). */
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
/** SETTINGS_ENABLE_PUSH. */
export const SETTINGS_ENABLE_PUSH = 0x2;
/** SETTINGS_MAX_CONCURRENT_STREAMS. */
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
/** SETTINGS_INITIAL_WINDOW_SIZE. */
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
/** SETTINGS_MAX_FRAME_SIZE. */
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
/** SETTINGS_MAX_HEADER_LIST_SIZE. */
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** The largest window (and window increment): 2^31-1. */
export const MAX_WINDOW = 0x7fffffff;
/** The default and smallest SETTINGS_MAX_FRAME_SIZE. */
export const MIN_MAX_FRAME_SIZE = 16384;
/** The largest SETTINGS_MAX_FRAME_SIZE: 2^24-1. */
export const MAX_MAX_FRAME_SIZE = 16777215;
/** The client connection preface (RFC 9113 section 3.4). */
export const PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const TYPE_NAMES = [
  "DATA",
  "HEADERS",
  "PRIORITY",
  "RST_STREAM",
  "SETTINGS",
  "PUSH_PROMISE",
  "PING",
  "GOAWAY",
  "WINDOW_UPDATE",
  "CONTINUATION",
];

/** `"DATA"`, or `"type 0x2a"` for a type RFC 9113 does not define. */
export function frameTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type 0x${type.toString(16)}`;
}

/**
 * The peer broke HTTP/2: `code` is the error code to send (RFC 9113 section 7), `streamId`
 * the stream for a stream error, `0` for a connection error.
 */
export class Http2ProtocolError extends Error {
  /** The HTTP/2 error code. */
  readonly code: number;
  /** The stream the error concerns (`0`: the connection). */
  readonly streamId: number;

  /** Makes the error; `streamId` 0 means a connection error. */
  constructor(code: number, message: string, streamId = 0) {
    super(message);
    this.name = "Http2ProtocolError";
    this.code = code;
    this.streamId = streamId;
  }
}

/** The settings of one SETTINGS frame, in order, as `[id, value, id, value, …]`. */
export type SettingsList = number[];

/** What a {@linkcode FrameParser} reports, one call per frame. */
export interface FrameHandler {
  /**
   * A DATA frame: `data` without padding (a view of the read's bytes), `flowLength` the
   * whole payload (what counts against flow control).
   */
  onData(streamId: number, data: Uint8Array, endStream: boolean, flowLength: number): void;
  /** A complete header block (HEADERS plus any CONTINUATION), padding and priority removed. */
  onHeaders(streamId: number, block: Uint8Array, endStream: boolean): void;
  /** A PRIORITY frame (well formed; its content is ignored). */
  onPriority(streamId: number): void;
  /** RST_STREAM with its error code. */
  onRstStream(streamId: number, code: number): void;
  /** SETTINGS (values checked), or a SETTINGS ACK (`settings` empty). */
  onSettings(ack: boolean, settings: SettingsList): void;
  /** PING: its 8 bytes of opaque data. */
  onPing(ack: boolean, data: Uint8Array): void;
  /** GOAWAY: the last stream id the peer processed, the code and the debug data. */
  onGoaway(lastStreamId: number, code: number, debug: Uint8Array): void;
  /** WINDOW_UPDATE with a non-zero increment (stream 0: the connection). */
  onWindowUpdate(streamId: number, increment: number): void;
  /** A frame that breaks the rules for one stream only: reset the stream with `code`. */
  onStreamError(streamId: number, code: number, message: string): void;
}

/** Options of a {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /** Our SETTINGS_MAX_FRAME_SIZE: larger frames are a FRAME_SIZE_ERROR. Default 16384. */
  maxFrameSize?: number;
  /** The largest header block accepted (HEADERS plus CONTINUATION), in bytes. Default 256 KiB. */
  maxHeaderBlock?: number;
  /**
   * The most CONTINUATION frames one header block may take (more: ENHANCE_YOUR_CALM, the
   * "CONTINUATION flood" of empty frames costs memory and CPU while adding no bytes). Default:
   * what `maxHeaderBlock` needs in 16 KiB frames, at least 8 (nghttp2's limit).
   */
  maxContinuations?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Parses the frames a server sends (after its connection preface, which is a SETTINGS
 * frame: the first frame must be SETTINGS). Feed it with {@linkcode FrameParser.push}.
 *
 * @example
 * ```ts ignore
 * const parser = new FrameParser(handler);
 * parser.push(bytesFromTheNetwork); // throws Http2ProtocolError on a connection error
 * ```
 */
export class FrameParser {
  #handler: FrameHandler;
  #maxFrameSize: number;
  #maxHeaderBlock: number;
  #maxContinuations: number;
  /** 9 header bytes collected across reads. */
  #head = new Uint8Array(9);
  #headFilled = 0;
  /** A frame being assembled across reads (payload only), with its header fields. */
  #frame: Uint8Array | null = null;
  #frameFilled = 0;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  /** Whether the first frame (which must be SETTINGS) has been seen. */
  #started = false;
  /** A header block waiting for CONTINUATION: its stream, fragments, END_STREAM. */
  #blockStream = 0;
  #blockParts: Uint8Array[] = [];
  #blockSize = 0;
  #blockEnd = false;
  #blockContinuations = 0;

  /** A parser reporting to `handler`. */
  constructor(handler: FrameHandler, options: FrameParserOptions = {}) {
    this.#handler = handler;
    this.#maxFrameSize = options.maxFrameSize ?? MIN_MAX_FRAME_SIZE;
    this.#maxHeaderBlock = options.maxHeaderBlock ?? 262144;
    this.#maxContinuations = options.maxContinuations ??
      Math.max(8, Math.ceil(this.#maxHeaderBlock / MIN_MAX_FRAME_SIZE));
  }

  /** Whether a header block is waiting for its CONTINUATION frames. */
  get inHeaderBlock(): boolean {
    return this.#blockStream !== 0;
  }

  /**
   * Parses `bytes` (any amount: part of a frame, many frames). The handler is called for
   * each complete frame, in order. Throws {@linkcode Http2ProtocolError} on a connection
   * error; after that the parser must not be used again.
   */
  push(bytes: Uint8Array): void {
    let at = 0;
    const length = bytes.length;
    while (at < length) {
      const frame = this.#frame;
      if (frame !== null) {
        const take = Math.min(frame.length - this.#frameFilled, length - at);
        frame.set(bytes.subarray(at, at + take), this.#frameFilled);
        this.#frameFilled += take;
        at += take;
        if (this.#frameFilled < frame.length) return;
        this.#frame = null;
        this.#dispatch(this.#type, this.#flags, this.#streamId, frame);
        continue;
      }
      let payloadLength: number;
      if (this.#headFilled === 0 && length - at >= 9) {
        payloadLength = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
        this.#type = bytes[at + 3];
        this.#flags = bytes[at + 4];
        this.#streamId = ((bytes[at + 5] & 0x7f) << 24 | (bytes[at + 6] << 16) |
          (bytes[at + 7] << 8) | bytes[at + 8]) >>> 0;
        at += 9;
      } else {
        const head = this.#head;
        while (this.#headFilled < 9 && at < length) head[this.#headFilled++] = bytes[at++];
        if (this.#headFilled < 9) return;
        this.#headFilled = 0;
        payloadLength = (head[0] << 16) | (head[1] << 8) | head[2];
        this.#type = head[3];
        this.#flags = head[4];
        this.#streamId = ((head[5] & 0x7f) << 24 | (head[6] << 16) | (head[7] << 8) | head[8]) >>>
          0;
      }
      this.#checkHead(payloadLength);
      if (length - at >= payloadLength) {
        const payload = bytes.subarray(at, at + payloadLength);
        at += payloadLength;
        this.#dispatch(this.#type, this.#flags, this.#streamId, payload);
      } else {
        const frame = new Uint8Array(payloadLength);
        frame.set(bytes.subarray(at), 0);
        this.#frameFilled = length - at;
        this.#frame = frame;
        return;
      }
    }
  }

  /** Checks what the 9-byte header alone tells (size, order), before the payload arrives. */
  #checkHead(payloadLength: number): void {
    const type = this.#type;
    if (!this.#started) {
      if (type !== SETTINGS || (this.#flags & ACK) !== 0) {
        throw new Http2ProtocolError(
          PROTOCOL_ERROR,
          `the server's preface is not a SETTINGS frame (got ${frameTypeName(type)})`,
        );
      }
      this.#started = true;
    }
    if (payloadLength > this.#maxFrameSize) {
      throw new Http2ProtocolError(
        FRAME_SIZE_ERROR,
        `${
          frameTypeName(type)
        } frame on stream ${this.#streamId} is ${payloadLength} bytes, over SETTINGS_MAX_FRAME_SIZE ${this.#maxFrameSize}`,
      );
    }
    if (
      this.#blockStream !== 0 && (type !== CONTINUATION || this.#streamId !== this.#blockStream)
    ) {
      throw new Http2ProtocolError(
        PROTOCOL_ERROR,
        `${
          frameTypeName(type)
        } frame on stream ${this.#streamId} inside the header block of stream ${this.#blockStream} (expected CONTINUATION)`,
      );
    }
  }

  #dispatch(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    const handler = this.#handler;
    switch (type) {
      case DATA: {
        if (streamId === 0) throw connectionError("DATA frame on stream 0");
        const data = unpad(payload, flags, streamId, "DATA");
        handler.onData(streamId, data, (flags & END_STREAM) !== 0, payload.length);
        return;
      }
      case HEADERS: {
        if (streamId === 0) throw connectionError("HEADERS frame on stream 0");
        let fragment = unpad(payload, flags, streamId, "HEADERS");
        if ((flags & PRIORITY_FLAG) !== 0) {
          if (fragment.length < 5) {
            throw new Http2ProtocolError(
              FRAME_SIZE_ERROR,
              `HEADERS frame on stream ${streamId} too short for its priority fields`,
            );
          }
          fragment = fragment.subarray(5);
        }
        const endStream = (flags & END_STREAM) !== 0;
        if ((flags & END_HEADERS) !== 0) return handler.onHeaders(streamId, fragment, endStream);
        this.#startBlock(streamId, fragment, endStream);
        return;
      }
      case CONTINUATION: {
        if (this.#blockStream === 0 || streamId !== this.#blockStream) {
          throw connectionError(`CONTINUATION frame on stream ${streamId} without a header block`);
        }
        this.#blockSize += payload.length;
        if (this.#blockSize > this.#maxHeaderBlock) {
          throw new Http2ProtocolError(
            ENHANCE_YOUR_CALM,
            `header block on stream ${streamId} exceeds ${this.#maxHeaderBlock} bytes`,
          );
        }
        if (++this.#blockContinuations > this.#maxContinuations) {
          throw new Http2ProtocolError(
            ENHANCE_YOUR_CALM,
            `header block on stream ${streamId} continued by more than ${this.#maxContinuations} CONTINUATION frames`,
          );
        }
        // A view into a read buffer may be overwritten by nothing (reads are fresh), so
        // fragments are kept as views and joined once.
        if (payload.length > 0) this.#blockParts.push(payload);
        if ((flags & END_HEADERS) === 0) return;
        const block = concatBytes(this.#blockParts, this.#blockSize);
        const endStream = this.#blockEnd;
        this.#blockStream = 0;
        this.#blockParts = [];
        this.#blockSize = 0;
        handler.onHeaders(streamId, block, endStream);
        return;
      }
      case PRIORITY:
        if (streamId === 0) throw connectionError("PRIORITY frame on stream 0");
        if (payload.length !== 5) {
          handler.onStreamError(
            streamId,
            FRAME_SIZE_ERROR,
            `PRIORITY frame on stream ${streamId} is ${payload.length} bytes (expected 5)`,
          );
          return;
        }
        handler.onPriority(streamId);
        return;
      case RST_STREAM:
        if (streamId === 0) throw connectionError("RST_STREAM frame on stream 0");
        if (payload.length !== 4) throw sizeError("RST_STREAM", payload.length, "4");
        handler.onRstStream(streamId, readUint32(payload, 0));
        return;
      case SETTINGS:
        return this.#settings(flags, streamId, payload);
      case PUSH_PROMISE:
        throw connectionError(`PUSH_PROMISE frame on stream ${streamId} (push is disabled)`);
      case PING:
        if (streamId !== 0) throw connectionError(`PING frame on stream ${streamId}`);
        if (payload.length !== 8) throw sizeError("PING", payload.length, "8");
        handler.onPing((flags & ACK) !== 0, payload);
        return;
      case GOAWAY:
        if (streamId !== 0) throw connectionError(`GOAWAY frame on stream ${streamId}`);
        if (payload.length < 8) throw sizeError("GOAWAY", payload.length, "at least 8");
        handler.onGoaway(
          readUint32(payload, 0) & MAX_WINDOW,
          readUint32(payload, 4),
          payload.subarray(8),
        );
        return;
      case WINDOW_UPDATE: {
        if (payload.length !== 4) throw sizeError("WINDOW_UPDATE", payload.length, "4");
        const increment = readUint32(payload, 0) & MAX_WINDOW;
        if (increment === 0) {
          if (streamId === 0) throw connectionError("WINDOW_UPDATE with increment 0 on stream 0");
          handler.onStreamError(
            streamId,
            PROTOCOL_ERROR,
            `WINDOW_UPDATE with increment 0 on stream ${streamId}`,
          );
          return;
        }
        handler.onWindowUpdate(streamId, increment);
        return;
      }
      default:
        // Unknown frame types are ignored (RFC 9113 section 4.1).
        return;
    }
  }

  #startBlock(streamId: number, fragment: Uint8Array, endStream: boolean): void {
    if (fragment.length > this.#maxHeaderBlock) {
      throw new Http2ProtocolError(
        ENHANCE_YOUR_CALM,
        `header block on stream ${streamId} exceeds ${this.#maxHeaderBlock} bytes`,
      );
    }
    this.#blockStream = streamId;
    this.#blockParts = [fragment];
    this.#blockSize = fragment.length;
    this.#blockEnd = endStream;
    this.#blockContinuations = 0;
  }

  #settings(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId !== 0) throw connectionError(`SETTINGS frame on stream ${streamId}`);
    if ((flags & ACK) !== 0) {
      if (payload.length !== 0) {
        throw sizeError("SETTINGS ACK", payload.length, "0");
      }
      return this.#handler.onSettings(true, []);
    }
    if (payload.length % 6 !== 0) {
      throw sizeError("SETTINGS", payload.length, "a multiple of 6");
    }
    const settings: SettingsList = [];
    for (let at = 0; at < payload.length; at += 6) {
      const id = (payload[at] << 8) | payload[at + 1];
      const value = readUint32(payload, at + 2);
      switch (id) {
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) {
            throw connectionError(`SETTINGS_ENABLE_PUSH is ${value} (expected 0 or 1)`);
          }
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) {
            throw new Http2ProtocolError(
              FLOW_CONTROL_ERROR,
              `SETTINGS_INITIAL_WINDOW_SIZE is ${value}, over 2^31-1`,
            );
          }
          break;
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            throw connectionError(
              `SETTINGS_MAX_FRAME_SIZE is ${value} (expected 16384 to 16777215)`,
            );
          }
          break;
      }
      settings.push(id, value);
    }
    this.#handler.onSettings(false, settings);
  }
}

function connectionError(message: string): Http2ProtocolError {
  return new Http2ProtocolError(PROTOCOL_ERROR, message);
}

function sizeError(what: string, length: number, expected: string): Http2ProtocolError {
  return new Http2ProtocolError(
    FRAME_SIZE_ERROR,
    `${what} frame is ${length} bytes (expected ${expected})`,
  );
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** The payload of a DATA or HEADERS frame without its padding. */
function unpad(payload: Uint8Array, flags: number, streamId: number, what: string): Uint8Array {
  if ((flags & PADDED) === 0) return payload;
  if (payload.length === 0) {
    throw new Http2ProtocolError(
      FRAME_SIZE_ERROR,
      `${what} frame on stream ${streamId} is PADDED but empty`,
    );
  }
  const padding = payload[0];
  if (padding >= payload.length) {
    throw connectionError(
      `${what} frame on stream ${streamId} has ${padding} bytes of padding in a ${payload.length}-byte payload`,
    );
  }
  return payload.length - 1 - padding === 0 ? EMPTY : payload.subarray(1, payload.length - padding);
}

// -----------------------------------------------------------------------------------------
// Writing frames.

/**
 * Writes a 9-byte frame header at `at` in `out`. The payload follows it.
 */
export function writeFrameHead(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out[at + 5] = (streamId >>> 24) & 0x7f;
  out[at + 6] = (streamId >>> 16) & 0xff;
  out[at + 7] = (streamId >>> 8) & 0xff;
  out[at + 8] = streamId & 0xff;
}

/** Writes `value` as 4 bytes, big-endian, at `at`. */
export function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
