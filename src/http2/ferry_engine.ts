/**
 * Ferry's own HTTP/2 engine: the client side of RFC 9113 over a Ferry network stream, with
 * the frame layer (`_frames.ts`) and HPACK (`_hpack.ts`) as sans-IO parts and this module
 * as the session: stream states, flow control both ways, SETTINGS, PING, GOAWAY, and the
 * checks a client makes on a response head (RFC 9113 section 8).
 *
 * I/O: one reader loop per session reads the network stream (outside every deadline
 * scope, as the stream is shared by all requests) and hands each read to the frame
 * parser, which calls back here synchronously. Every frame this session produces goes into
 * one output buffer; the buffer is written with one `stream.write()` per turn (queued as a
 * microtask, and while a write is in flight more frames gather for the next one). That is
 * where it saves the CPU `node:http2` spends: one write, one promise, no Node streams.
 *
 * Flow control: the stream window advertised is `streamWindowSize` and the connection's is
 * raised to `connectionWindowSize` at once; WINDOW_UPDATEs are sent when half a window was
 * used (the connection's on receipt, a stream's on delivery to its listener), so a
 * download costs a WINDOW_UPDATE per 2 MiB, not one per DATA frame. A paused stream
 * (`pause()`) keeps what arrives (at most its window) and grants no window until resumed.
 * Sending respects the peer's connection and stream windows and its SETTINGS_MAX_FRAME_SIZE.
 *
 * Copies: a stream's DATA that arrives in one frame of one read reaches the listener as a
 * view of the read's bytes (none); the payloads of several DATA frames in one read are
 * joined into one chunk (one copy: a chunk costs the layers above more); a frame split
 * across reads is assembled once. Request heads are
 * encoded straight into the output buffer; request body chunks are copied into it (one
 * copy, as node:http2 makes) and each turn's output is copied once into the buffer handed
 * to the network (its size: the frames of that turn).
 *
 * @module
 */

import type { NetworkStreamInterface } from "../network/types.ts";
import { outsideScopes } from "../timeout.ts";
import { concatBytes } from "../models/body.ts";
import {
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  ENHANCE_YOUR_CALM,
  FLOW_CONTROL_ERROR,
  FrameParser,
  GOAWAY,
  HEADERS,
  Http2ProtocolError,
  INTERNAL_ERROR,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  NO_ERROR,
  PING,
  PREFACE,
  PROTOCOL_ERROR,
  RST_STREAM,
  SETTINGS,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  type SettingsList,
  STREAM_CLOSED,
  WINDOW_UPDATE,
  writeFrameHead,
  writeUint32,
} from "./_frames.ts";
import { HpackDecoder, HpackEncoder } from "./_hpack.ts";
import {
  errorCodeName,
  type Http2Engine,
  type Http2EngineError,
  type Http2EngineOptions,
  type Http2EngineSession,
  type Http2EngineStream,
  type Http2SessionListener,
  type Http2StreamListener,
  REFUSED_STREAM,
} from "./engine.ts";
import { setRef as setSocketRef } from "../connection/idle_probe.ts";

/** Streams assumed until the server's SETTINGS arrive. */
const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
/** What "no limit" (SETTINGS_MAX_CONCURRENT_STREAMS absent) is taken as. */
const NO_LIMIT_STREAMS = 1000;
/** The windows every peer starts with (RFC 9113 section 6.9.2). */
const DEFAULT_WINDOW = 65535;
/** Stream ids reset by us, remembered so that late frames on them are ignored. */
const REMEMBER_RESETS = 1024;
/** GOAWAY debug text sent, at most (bytes). */
const MAX_DEBUG = 256;
/**
 * Answers the peer's frames oblige us to (PING and SETTINGS ACKs, RST_STREAM) that may wait
 * unwritten: more, and the peer is flooding while not reading (nghttp2's bound too).
 */
const MAX_UNWRITTEN_ANSWERS = 10000;
/** Output buffers larger than this are dropped after a flush (a large upload turn). */
const KEEP_OUTPUT = 256 * 1024;

/** Response header fields HTTP/2 forbids (RFC 9113 section 8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

interface PendingWrite {
  chunk: Uint8Array;
  offset: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

class FerryStream implements Http2EngineStream {
  readonly id: number;
  readonly listener: Http2StreamListener;
  readonly session: FerrySession;
  /** The request was HEAD: a content-length in the response has no body behind it. */
  readonly head: boolean;
  /** We sent END_STREAM. */
  localEnded = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  /** Reset or both sides ended: gone from the session. */
  closed = false;
  /** The final (non-1xx) response head arrived. */
  gotHead = false;
  /** How many bytes we may still send on this stream. */
  sendWindow: number;
  /** How many bytes the peer may still send on this stream. */
  recvWindow: number;
  /** Bytes received and delivered (or padding) not yet granted back. */
  consumed = 0;
  /** The response's content-length, or -1. */
  expectedLength = -1;
  received = 0;
  paused = false;
  held: Uint8Array[] = [];
  /** DATA payloads of the current read, delivered together at its end. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  /** END_STREAM arrived while paused: reported after the held data. */
  heldEnd = false;
  queue: PendingWrite[] = [];
  queueHead = 0;
  /** `end()` was called: END_STREAM goes with the last queued byte. */
  endRequested = false;

  constructor(
    session: FerrySession,
    id: number,
    listener: Http2StreamListener,
    head: boolean,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.session = session;
    this.id = id;
    this.listener = listener;
    this.head = head;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.session.write(this, chunk);
  }

  get waitingForWindow(): boolean {
    return this.queue.length > this.queueHead;
  }

  end(): void {
    this.session.end(this);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.session.resume(this);
  }

  reset(code: number): void {
    this.session.reset(this, code);
  }
}

/** The session: see the module documentation. */
class FerrySession implements Http2EngineSession {
  #stream: NetworkStreamInterface;
  #listener: Http2SessionListener;
  #parser: FrameParser;
  #decoder = new HpackDecoder();
  #encoder = new HpackEncoder();
  #streams = new Map<number, FerryStream>();
  #resetByUs = new Set<number>();
  #nextId = 1;
  #lastOpened = 0;
  #maxHeaderListSize: number;
  #streamWindowSize: number;
  #connectionWindowSize: number;

  // What the peer allows us.
  #maxConcurrent = DEFAULT_MAX_CONCURRENT_STREAMS;
  #sawSettings = false;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = MIN_MAX_FRAME_SIZE;
  #sendConnWindow = DEFAULT_WINDOW;
  /** Streams with body bytes (or END_STREAM) waiting for window. */
  #sendReady = new Set<FerryStream>();
  /** Streams with DATA of the current read not yet delivered. */
  #pendingStreams: FerryStream[] = [];
  /**
   * Whether the reader may park while no stream is open: from a request until the
   * connection says it is idle (`setRef(false)`). See {@linkcode FerrySession.setRef}.
   */
  #mayPark = false;
  /** Resumes the parked reader. */
  #parked: (() => void) | null = null;

  // What we allow the peer.
  #recvConnWindow: number;

  // Output.
  #out = new Uint8Array(16384);
  #outLength = 0;
  #writing = false;
  #flushQueued = false;
  #flushWaiters: (() => void)[] = [];
  /** Answers queued since the last network write completed. */
  #answers = 0;
  #idleWaiters: (() => void)[] = [];

  // Life cycle.
  #goaway: { code: number; lastStreamId: number } | null = null;
  /** We sent GOAWAY (close() or destroy()): no new streams. */
  #goawaySent = false;
  #closing = false;
  #closed = false;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #error: Http2EngineError | null = null;

  constructor(
    stream: NetworkStreamInterface,
    options: Http2EngineOptions,
    listener: Http2SessionListener,
  ) {
    this.#stream = stream;
    this.#listener = listener;
    this.#maxHeaderListSize = options.maxHeaderListSize;
    this.#streamWindowSize = options.streamWindowSize;
    this.#connectionWindowSize = Math.max(DEFAULT_WINDOW, options.connectionWindowSize);
    this.#recvConnWindow = this.#connectionWindowSize;
    this.#parser = new FrameParser(this, {
      maxFrameSize: MIN_MAX_FRAME_SIZE,
      maxHeaderBlock: Math.max(4 * options.maxHeaderListSize, 65536),
    });
    this.#closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);

    // The preface: the magic, SETTINGS, and the connection window raised at once.
    this.#append(PREFACE);
    const settings = [
      SETTINGS_ENABLE_PUSH,
      0,
      SETTINGS_INITIAL_WINDOW_SIZE,
      this.#streamWindowSize,
      SETTINGS_MAX_HEADER_LIST_SIZE,
      this.#maxHeaderListSize,
    ];
    const at = this.#reserve(9 + settings.length * 3);
    writeFrameHead(this.#out, at, settings.length * 3, SETTINGS, 0, 0);
    for (let i = 0, p = at + 9; i < settings.length; i += 2, p += 6) {
      this.#out[p] = settings[i] >>> 8;
      this.#out[p + 1] = settings[i] & 0xff;
      writeUint32(this.#out, p + 2, settings[i + 1]);
    }
    const raise = this.#connectionWindowSize - DEFAULT_WINDOW;
    if (raise > 0) this.#windowUpdate(0, raise);
    this.#flush();
    outsideScopes(() => this.#readLoop());
  }

  get maxConcurrentStreams(): number {
    return this.#maxConcurrent;
  }

  // -- Requests ------------------------------------------------------------------------

  request(
    headers: [string, string][],
    endStream: boolean,
    listener: Http2StreamListener,
  ): Http2EngineStream {
    let head = false;
    for (const [name, value] of headers) {
      if (name === ":method") {
        head = value === "HEAD";
        break;
      }
    }
    const unavailable = this.#closing || this.#goaway !== null || this.#goawaySent ||
      this.#nextId > MAX_WINDOW;
    if (unavailable) {
      // Reported as the exchange expects failures: asynchronously, through its listener. The
      // request was never sent, so it is "not processed" (retryable) even when the session
      // is closing for an error: that error was another stream's, not this one's.
      const stream = new FerryStream(this, 0, listener, head, 0, 0);
      stream.closed = true;
      const failed = this.#closing ? this.#error : null;
      const error: Http2EngineError = {
        kind: "goaway",
        code: this.#goaway?.code ?? failed?.code ?? NO_ERROR,
        message: this.#goaway !== null
          ? `the server sent GOAWAY with last stream id ${this.#goaway.lastStreamId}`
          : failed !== null
          ? `the connection is closing (${failed.message})`
          : "the connection takes no new streams",
      };
      queueMicrotask(() => listener.onError(error));
      return stream;
    }
    const id = this.#nextId;
    this.#nextId += 2;
    this.#lastOpened = id;
    const stream = new FerryStream(
      this,
      id,
      listener,
      head,
      this.#peerInitialWindow,
      this.#streamWindowSize,
    );
    this.#streams.set(id, stream);
    // HEADERS (and CONTINUATION when the head is larger than a frame), encoded in place.
    const most = HpackEncoder.maxLength(headers);
    const flags = endStream ? END_STREAM : 0;
    if (most <= this.#peerMaxFrame) {
      const at = this.#reserve(9 + most);
      const end = this.#encoder.encodeInto(headers, this.#out, at + 9);
      writeFrameHead(this.#out, at, end - at - 9, HEADERS, flags | END_HEADERS, id);
      this.#outLength = end;
    } else {
      const block = this.#encoder.encode(headers);
      const max = this.#peerMaxFrame;
      for (let from = 0; from < block.length || from === 0; from += max) {
        const part = block.subarray(from, Math.min(block.length, from + max));
        const last = from + max >= block.length;
        const at = this.#reserve(9 + part.length);
        writeFrameHead(
          this.#out,
          at,
          part.length,
          from === 0 ? HEADERS : CONTINUATION,
          (from === 0 ? flags : 0) | (last ? END_HEADERS : 0),
          id,
        );
        this.#out.set(part, at + 9);
        if (last) break;
      }
    }
    if (endStream) stream.localEnded = true;
    this.#scheduleFlush();
    // The parked reader reads again once this HEADERS write is under way (queued after it).
    this.#mayPark = true;
    this.#unpark();
    return stream;
  }

  write(stream: FerryStream, chunk: Uint8Array): Promise<void> {
    if (stream.closed || stream.localEnded || stream.endRequested) {
      return Promise.reject(new Error(`Stream ${stream.id} is closed`));
    }
    if (chunk.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      stream.queue.push({ chunk, offset: 0, resolve, reject });
      this.#sendReady.add(stream);
      this.#pumpSend();
      this.#scheduleFlush();
    });
  }

  end(stream: FerryStream): void {
    if (stream.closed || stream.localEnded || stream.endRequested) return;
    stream.endRequested = true;
    this.#sendReady.add(stream);
    this.#pumpSend();
    this.#scheduleFlush();
  }

  resume(stream: FerryStream): void {
    if (stream.closed && stream.held.length === 0) return;
    const held = stream.held;
    let i = 0;
    while (i < held.length && !stream.paused) {
      const chunk = held[i++];
      stream.consumed += chunk.length;
      stream.listener.onData(chunk);
    }
    stream.held = i === held.length ? [] : held.slice(i);
    if (stream.held.length === 0 && stream.heldEnd && !stream.paused) {
      stream.heldEnd = false;
      this.#remoteEnd(stream);
    } else this.#grantStream(stream);
    this.#scheduleFlush();
  }

  reset(stream: FerryStream, code: number): void {
    if (stream.closed || this.#closed) return;
    this.#rstStream(stream.id, code);
    this.#rememberReset(stream.id);
    this.#forget(stream, new Error(`Stream ${stream.id} was reset`));
    this.#scheduleFlush();
  }

  /**
   * Also the idle probe. Between a connection's requests the reader parks instead of leaving
   * a read pending (on Deno a TLS write costs twice as much while a read is pending: 30 to
   * 40 µs a request at c=1, measured); once the connection has been idle for a while it
   * calls `setRef(false)`, and the reader reads again, so that a GOAWAY, a PING or the server
   * closing the idle connection is seen (as the HTTP/1.1 connection's idle probe does).
   */
  setRef(ref: boolean): void {
    if (!ref) {
      this.#mayPark = false;
      this.#unpark();
    }
    setSocketRef(this.#stream, ref);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#sendGoaway(NO_ERROR, "");
      this.#scheduleFlush();
    }
    if (this.#openStreams() === 0) this.#shutdown(null);
    return this.#closedPromise;
  }

  destroy(code: number): void {
    if (this.#closed) return;
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#sendGoaway(code, "");
    }
    this.#failAll({ kind: "network", code: null, message: "the connection was closed" });
    this.#shutdown(this.#error, true);
  }

  #unpark(): void {
    const parked = this.#parked;
    if (parked !== null) {
      this.#parked = null;
      parked();
    }
  }

  // -- Frames received (FrameHandler) ----------------------------------------------------

  onData(streamId: number, data: Uint8Array, endStream: boolean, flowLength: number): void {
    if (flowLength > this.#recvConnWindow) {
      throw new Http2ProtocolError(
        FLOW_CONTROL_ERROR,
        `DATA frame of ${flowLength} bytes on stream ${streamId} over the connection window (${this.#recvConnWindow})`,
      );
    }
    this.#recvConnWindow -= flowLength;
    if (this.#connectionWindowSize - this.#recvConnWindow >= this.#connectionWindowSize >>> 1) {
      this.#windowUpdate(0, this.#connectionWindowSize - this.#recvConnWindow);
      this.#recvConnWindow = this.#connectionWindowSize;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return this.#notOpen(streamId, "DATA");
    if (stream.remoteEnded) {
      return this.#streamError(
        stream,
        STREAM_CLOSED,
        `DATA frame on stream ${streamId} after its END_STREAM`,
      );
    }
    if (!stream.gotHead) {
      return this.#streamError(
        stream,
        PROTOCOL_ERROR,
        `DATA frame on stream ${streamId} before the response head`,
      );
    }
    if (flowLength > stream.recvWindow) {
      return this.#streamError(
        stream,
        FLOW_CONTROL_ERROR,
        `DATA frame of ${flowLength} bytes on stream ${streamId} over its window (${stream.recvWindow})`,
      );
    }
    stream.recvWindow -= flowLength;
    stream.consumed += flowLength - data.length;
    stream.received += data.length;
    const expected = stream.expectedLength;
    if (
      expected >= 0 && (stream.received > expected || (endStream && stream.received < expected))
    ) {
      return this.#streamError(
        stream,
        PROTOCOL_ERROR,
        `the body on stream ${streamId} does not match its content-length ${expected} (${stream.received} bytes${
          endStream ? "" : " so far"
        })`,
      );
    }
    if (data.length > 0) {
      // Delivered (or, paused, held) at the end of this read, joined with the stream's other
      // DATA frames in it: a paused stream holding one entry per frame cost ~110 bytes of
      // heap per body byte when a server sent 1-byte frames.
      if (stream.pending.length === 0) this.#pendingStreams.push(stream);
      stream.pending.push(data);
      stream.pendingBytes += data.length;
    }
    if (endStream) {
      this.#deliver(stream);
      if (stream.paused) {
        stream.remoteEnded = true;
        stream.heldEnd = true;
      } else this.#remoteEnd(stream);
    }
  }

  /**
   * Hands the DATA a read brought for `stream` to its listener: one chunk, a view of the
   * read's bytes when one frame brought it all, else the frames' payloads joined (one copy,
   * worth it: a chunk costs the layers above more than copying it).
   */
  #deliver(stream: FerryStream): void {
    const pending = stream.pending;
    if (pending.length === 0) return;
    const chunk = pending.length === 1 ? pending[0] : concatBytes(pending, stream.pendingBytes);
    stream.pending = [];
    stream.pendingBytes = 0;
    if (stream.closed && !stream.remoteEnded) return;
    if (stream.paused) {
      stream.held.push(chunk);
      return;
    }
    stream.consumed += chunk.length;
    stream.listener.onData(chunk);
    if (!stream.paused) this.#grantStream(stream);
  }

  /** Delivers what this read brought for every stream. */
  #deliverAll(): void {
    const streams = this.#pendingStreams;
    if (streams.length === 0) return;
    this.#pendingStreams = [];
    for (const stream of streams) this.#deliver(stream);
  }

  onHeaders(streamId: number, block: Uint8Array, endStream: boolean): void {
    // The block is decoded even for a stream that is gone: the table must stay in step.
    const fields = this.#decoder.decode(block);
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return this.#notOpen(streamId, "HEADERS");
    if (stream.remoteEnded) {
      return this.#streamError(
        stream,
        STREAM_CLOSED,
        `HEADERS frame on stream ${streamId} after its END_STREAM`,
      );
    }
    let size = 0;
    for (const [name, value] of fields) size += name.length + value.length + 32;
    if (size > this.#maxHeaderListSize) {
      return this.#streamError(
        stream,
        PROTOCOL_ERROR,
        `the header list on stream ${streamId} is ${size} bytes, over SETTINGS_MAX_HEADER_LIST_SIZE ${this.#maxHeaderListSize}`,
      );
    }
    if (stream.gotHead) {
      // Trailers: END_STREAM, no pseudo-header fields.
      if (!endStream) {
        return this.#streamError(
          stream,
          PROTOCOL_ERROR,
          `HEADERS frame on stream ${streamId} after the response head without END_STREAM`,
        );
      }
      const problem = checkFields(fields, 0);
      if (problem !== null) {
        return this.#streamError(
          stream,
          PROTOCOL_ERROR,
          `trailers on stream ${streamId}: ${problem}`,
        );
      }
      const expected = stream.expectedLength;
      if (expected >= 0 && stream.received !== expected) {
        return this.#streamError(
          stream,
          PROTOCOL_ERROR,
          `the body on stream ${streamId} does not match its content-length ${expected} (${stream.received} bytes)`,
        );
      }
      this.#deliver(stream);
      stream.listener.onTrailers(fields);
      if (stream.paused) {
        stream.remoteEnded = true;
        stream.heldEnd = true;
      } else this.#remoteEnd(stream);
      return;
    }
    // A response head: :status first and only, then regular fields.
    let status = -1;
    let regular = 0;
    let problem: string | null = null;
    for (let i = 0; i < fields.length; i++) {
      const name = fields[i][0];
      if (name.charCodeAt(0) !== 58 /* : */) break;
      regular = i + 1;
      if (name !== ":status") {
        problem = `pseudo-header field ${JSON.stringify(name)} in a response`;
        break;
      }
      if (status !== -1) {
        problem = "two :status fields";
        break;
      }
      const value = fields[i][1];
      status = /^[1-9][0-9][0-9]$/.test(value) ? Number(value) : -2;
      if (status === -2) problem = `:status ${JSON.stringify(value)} is not a 3-digit code`;
    }
    if (problem === null && status === -1) problem = "no :status field";
    problem ??= checkFields(fields, regular);
    const rest = regular === 0 ? fields : fields.slice(regular);
    let length = -1;
    if (problem === null) {
      for (const [name, value] of rest) {
        if (name !== "content-length") continue;
        const parsed = /^[0-9]{1,15}$/.test(value) ? Number(value) : -1;
        if (parsed < 0 || (length >= 0 && parsed !== length)) {
          problem = `invalid content-length ${JSON.stringify(value)}`;
          break;
        }
        length = parsed;
      }
    }
    if (problem !== null) {
      return this.#streamError(
        stream,
        PROTOCOL_ERROR,
        `response head on stream ${streamId}: ${problem}`,
      );
    }
    if (status < 200) {
      if (endStream) {
        return this.#streamError(
          stream,
          PROTOCOL_ERROR,
          `informational response ${status} on stream ${streamId} ends the stream`,
        );
      }
      stream.listener.onInformational(status, rest);
      return;
    }
    stream.gotHead = true;
    if (!stream.head && status !== 204 && status !== 304) stream.expectedLength = length;
    if (endStream && stream.expectedLength > 0) {
      return this.#streamError(
        stream,
        PROTOCOL_ERROR,
        `response on stream ${streamId} ends with its head but declares content-length ${length}`,
      );
    }
    stream.listener.onHeaders(status, rest);
    if (endStream && !stream.closed) this.#remoteEnd(stream);
  }

  onPriority(): void {
    // Priorities are advisory; a client has nothing to do with them.
  }

  onRstStream(streamId: number, code: number): void {
    const stream = this.#streams.get(streamId);
    if (stream === undefined) {
      if (this.#isIdle(streamId)) {
        throw new Http2ProtocolError(PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
      }
      return;
    }
    // A whole response held for a paused reader stands (the server may reset a stream it
    // answered in full, to stop the upload): it is handed over now.
    if (stream.heldEnd) this.#endHeld(stream);
    const done = stream.remoteEnded && !stream.heldEnd;
    this.#forget(stream, new Error(`Stream ${streamId} was reset by the server`));
    if (done) return;
    stream.listener.onError({
      kind: code === REFUSED_STREAM ? "goaway" : "reset",
      code,
      message: `the server reset the stream (${errorCodeName(code)})`,
    });
  }

  onSettings(ack: boolean, settings: SettingsList): void {
    if (ack) return;
    let grew = false;
    for (let i = 0; i < settings.length; i += 2) {
      const value = settings[i + 1];
      switch (settings[i]) {
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          this.#maxConcurrent = value >= 0xffffffff ? NO_LIMIT_STREAMS : value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              throw new Http2ProtocolError(
                FLOW_CONTROL_ERROR,
                `SETTINGS_INITIAL_WINDOW_SIZE ${value} makes stream ${stream.id}'s window exceed 2^31-1`,
              );
            }
          }
          if (delta > 0) grew = true;
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          this.#peerMaxFrame = value;
          break;
      }
    }
    if (!this.#sawSettings) {
      this.#sawSettings = true;
      if (!hasSetting(settings)) this.#maxConcurrent = NO_LIMIT_STREAMS;
    }
    this.#answer("SETTINGS");
    const at = this.#reserve(9);
    writeFrameHead(this.#out, at, 0, SETTINGS, 1, 0);
    if (grew) this.#pumpSend();
    this.#listener.onRemoteSettings(this.#maxConcurrent);
  }

  onPing(ack: boolean, data: Uint8Array): void {
    if (ack) return;
    this.#answer("PING");
    const at = this.#reserve(17);
    writeFrameHead(this.#out, at, 8, PING, 1, 0);
    this.#out.set(data, at + 9);
  }

  onGoaway(lastStreamId: number, code: number, debug: Uint8Array): void {
    this.#goaway = { code, lastStreamId };
    if (code !== NO_ERROR) {
      const text = debug.length === 0 ? "" : `: ${latin1(debug.subarray(0, MAX_DEBUG))}`;
      this.#error ??= {
        kind: "protocol",
        code,
        message: `the server sent GOAWAY (${errorCodeName(code)})${text}`,
      };
    }
    this.#listener.onGoaway(code, lastStreamId);
    for (const stream of [...this.#streams.values()]) {
      if (stream.id <= lastStreamId || stream.closed) continue;
      this.#forget(stream, new Error(`Stream ${stream.id} was not processed`));
      stream.listener.onError({
        kind: "goaway",
        code,
        message: `the server sent GOAWAY with last stream id ${lastStreamId}`,
      });
    }
    if (this.#openStreams() === 0) this.#shutdown(this.#error);
  }

  onWindowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) {
      this.#sendConnWindow += increment;
      if (this.#sendConnWindow > MAX_WINDOW) {
        throw new Http2ProtocolError(
          FLOW_CONTROL_ERROR,
          `WINDOW_UPDATE makes the connection window exceed 2^31-1`,
        );
      }
      this.#pumpSend();
      return;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) {
      if (this.#isIdle(streamId)) {
        throw new Http2ProtocolError(PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
      }
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      return this.#streamError(
        stream,
        FLOW_CONTROL_ERROR,
        `WINDOW_UPDATE makes stream ${streamId}'s window exceed 2^31-1`,
      );
    }
    if (stream.queue.length > stream.queueHead || stream.endRequested) this.#pumpSend();
  }

  onStreamError(streamId: number, code: number, message: string): void {
    const stream = this.#streams.get(streamId);
    if (stream !== undefined) return this.#streamError(stream, code, message);
    if (this.#isIdle(streamId)) throw new Http2ProtocolError(PROTOCOL_ERROR, message);
    if (!this.#resetByUs.has(streamId)) this.#rstStream(streamId, code);
  }

  // -- Stream bookkeeping ---------------------------------------------------------------

  /** Whether `streamId` names a stream that was never opened (push is off: even ids too). */
  #isIdle(streamId: number): boolean {
    return (streamId & 1) === 0 || streamId > this.#lastOpened;
  }

  /** A frame on a stream not open: idle is a connection error, closed a stream error. */
  #notOpen(streamId: number, what: string): void {
    if (this.#isIdle(streamId)) {
      throw new Http2ProtocolError(PROTOCOL_ERROR, `${what} frame on idle stream ${streamId}`);
    }
    // Frames in flight when we reset the stream are expected; others are an error.
    if (this.#resetByUs.has(streamId)) return;
    this.#answer(what);
    this.#rstStream(streamId, STREAM_CLOSED);
    this.#rememberReset(streamId);
    this.#scheduleFlush();
  }

  /** Resets `stream` for a fault of the peer and tells its listener. */
  #streamError(stream: FerryStream, code: number, message: string): void {
    this.#rstStream(stream.id, code);
    this.#rememberReset(stream.id);
    this.#forget(stream, new Error(message));
    stream.listener.onError({ kind: "protocol", code, message, stream: true });
    this.#scheduleFlush();
  }

  /** Counts an answer the peer's `what` frame obliges us to; too many unwritten ends it. */
  #answer(what: string): void {
    if (++this.#answers > MAX_UNWRITTEN_ANSWERS) {
      throw new Http2ProtocolError(
        ENHANCE_YOUR_CALM,
        `the server sent over ${MAX_UNWRITTEN_ANSWERS} frames to answer (last: ${what}) without reading the answers`,
      );
    }
  }

  #rememberReset(streamId: number): void {
    const resets = this.#resetByUs;
    resets.add(streamId);
    if (resets.size > REMEMBER_RESETS) resets.delete(resets.values().next().value!);
  }

  /** The peer ended its side: report it; both sides ended closes the stream. */
  #remoteEnd(stream: FerryStream): void {
    stream.remoteEnded = true;
    if (stream.localEnded) this.#forget(stream, null);
    stream.listener.onEnd();
    if (this.#closing || this.#goaway !== null || this.#goawaySent) {
      if (this.#openStreams() === 0) this.#shutdown(this.#error);
    }
  }

  /** Removes `stream` from the session; its pending writes fail with `error`. */
  #forget(stream: FerryStream, error: Error | null): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream.id);
    this.#sendReady.delete(stream);
    const queue = stream.queue;
    for (let i = stream.queueHead; i < queue.length; i++) {
      queue[i].reject(error ?? new Error(`Stream ${stream.id} is closed`));
    }
    stream.queue = [];
    stream.queueHead = 0;
    if (stream.heldEnd) stream.held = [];
    if ((this.#goaway !== null || this.#goawaySent) && this.#openStreams() === 0) {
      queueMicrotask(() => {
        if (this.#openStreams() === 0) this.#shutdown(this.#error);
      });
    }
  }

  /** Streams still waiting for their response (a stream the server ended counts no more). */
  #openStreams(): number {
    let count = 0;
    for (const stream of this.#streams.values()) if (!stream.remoteEnded) count++;
    return count;
  }

  /** Grants `stream` window again once half of it was used. */
  #grantStream(stream: FerryStream): void {
    if (stream.remoteEnded || stream.consumed < this.#streamWindowSize >>> 1) return;
    this.#windowUpdate(stream.id, stream.consumed);
    stream.recvWindow += stream.consumed;
    stream.consumed = 0;
  }

  #failAll(error: Http2EngineError): void {
    for (const stream of [...this.#streams.values()]) {
      // A whole response held for a paused reader is not lost with the connection.
      if (stream.heldEnd) this.#endHeld(stream);
      const done = stream.remoteEnded && !stream.heldEnd;
      this.#forget(stream, new Error(error.message));
      if (!done) stream.listener.onError(error);
    }
  }

  /**
   * Hands a paused stream's whole response (held data, then its end) to its listener at
   * once: the stream is about to go, and what it holds is all there is (at most its window).
   */
  #endHeld(stream: FerryStream): void {
    const held = stream.held;
    stream.held = [];
    stream.heldEnd = false;
    for (const chunk of held) stream.listener.onData(chunk);
    stream.listener.onEnd();
  }

  // -- Sending body bytes ----------------------------------------------------------------

  #pumpSend(): void {
    for (const stream of this.#sendReady) {
      if (this.#sendConnWindow <= 0 && stream.queue.length > stream.queueHead) continue;
      this.#sendFrom(stream);
      if (stream.queue.length === stream.queueHead && stream.localEnded) {
        this.#sendReady.delete(stream);
      }
    }
  }

  #sendFrom(stream: FerryStream): void {
    const queue = stream.queue;
    while (stream.queueHead < queue.length) {
      const pending = queue[stream.queueHead];
      const remaining = pending.chunk.length - pending.offset;
      const size = Math.min(remaining, this.#sendConnWindow, stream.sendWindow, this.#peerMaxFrame);
      if (size <= 0) return;
      const last = size === remaining && stream.queueHead === queue.length - 1 &&
        stream.endRequested;
      const at = this.#reserve(9 + size);
      writeFrameHead(this.#out, at, size, DATA, last ? END_STREAM : 0, stream.id);
      this.#out.set(pending.chunk.subarray(pending.offset, pending.offset + size), at + 9);
      this.#sendConnWindow -= size;
      stream.sendWindow -= size;
      pending.offset += size;
      if (pending.offset === pending.chunk.length) {
        stream.queueHead++;
        this.#flushWaiters.push(pending.resolve);
      }
      if (last) stream.localEnded = true;
    }
    stream.queue = [];
    stream.queueHead = 0;
    if (stream.endRequested && !stream.localEnded) {
      const at = this.#reserve(9);
      writeFrameHead(this.#out, at, 0, DATA, END_STREAM, stream.id);
      stream.localEnded = true;
    }
    if (stream.localEnded && stream.remoteEnded) this.#forget(stream, null);
  }

  // -- Output ---------------------------------------------------------------------------

  /** Makes room for `size` bytes at the end of the output and returns where they go. */
  #reserve(size: number): number {
    const at = this.#outLength;
    const need = at + size;
    if (need > this.#out.length) {
      const grown = new Uint8Array(Math.max(need, this.#out.length * 2));
      grown.set(this.#out.subarray(0, at));
      this.#out = grown;
    }
    this.#outLength = need;
    return at;
  }

  #append(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#out.set(bytes, at);
  }

  #windowUpdate(streamId: number, increment: number): void {
    const at = this.#reserve(13);
    writeFrameHead(this.#out, at, 4, WINDOW_UPDATE, 0, streamId);
    writeUint32(this.#out, at + 9, increment);
  }

  #rstStream(streamId: number, code: number): void {
    const at = this.#reserve(13);
    writeFrameHead(this.#out, at, 4, RST_STREAM, 0, streamId);
    writeUint32(this.#out, at + 9, code);
  }

  #sendGoaway(code: number, debug: string): void {
    const text = debug.slice(0, MAX_DEBUG);
    const at = this.#reserve(17 + text.length);
    writeFrameHead(this.#out, at, 8 + text.length, GOAWAY, 0, 0);
    // No server-initiated stream was ever processed (push is off).
    writeUint32(this.#out, at + 9, 0);
    writeUint32(this.#out, at + 13, code);
    for (let i = 0; i < text.length; i++) this.#out[at + 17 + i] = text.charCodeAt(i) & 0xff;
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#writing) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushTask);
  }

  #flushTask = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  /** Writes what the output holds, one write at a time. */
  #flush(): void {
    if (this.#writing) return;
    if (this.#outLength === 0) {
      const idle = this.#idleWaiters;
      if (idle.length > 0) {
        this.#idleWaiters = [];
        for (const resolve of idle) resolve();
      }
      return;
    }
    if (this.#stream.closed) {
      // Nothing more can be written: the writes waiting for this output are let go (their
      // streams fail through their listeners), or a body write would wait for good.
      this.#outLength = 0;
      this.#releaseFlushWaiters();
      return this.#flush();
    }
    const data = this.#out.slice(0, this.#outLength);
    this.#outLength = 0;
    if (this.#out.length > KEEP_OUTPUT) this.#out = new Uint8Array(16384);
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    this.#writing = true;
    outsideScopes(() => this.#stream.write(data)).then(() => {
      this.#writing = false;
      this.#answers = 0;
      for (const resolve of waiters) resolve();
      this.#flush();
    }, (error) => {
      this.#writing = false;
      this.#outLength = 0;
      for (const resolve of waiters) resolve();
      this.#releaseFlushWaiters();
      this.#fail({
        kind: "network",
        code: null,
        message: String((error as Error)?.message ?? error),
        cause: error,
      });
      this.#flush();
    });
  }

  #releaseFlushWaiters(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once everything queued has been written (or could not be). */
  #flushed(): Promise<void> {
    if (!this.#writing && this.#outLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#flush();
    });
  }

  // -- Reading and ending ---------------------------------------------------------------

  async #readLoop(): Promise<void> {
    const stream = this.#stream;
    for (;;) {
      let chunk: Uint8Array;
      if (this.#mayPark && this.#streams.size === 0 && !this.#closing) {
        await new Promise<void>((resolve) => this.#parked = resolve);
        if (this.#closed) return;
      }
      try {
        chunk = await stream.read();
      } catch (error) {
        if (this.#closed) return;
        return this.#fail({
          kind: "network",
          code: null,
          message: String((error as Error)?.message ?? error),
          cause: error,
        });
      }
      if (this.#closed) return;
      if (chunk.length === 0) {
        return this.#fail(
          this.#error ?? {
            kind: "network",
            code: null,
            message: "the server closed the connection",
          },
          this.#openStreams() === 0,
        );
      }
      try {
        this.#parser.push(chunk);
        this.#deliverAll();
      } catch (error) {
        if (error instanceof Http2ProtocolError) return this.#connectionError(error);
        // A listener threw: the session cannot go on in a known state.
        return this.#connectionError(
          new Http2ProtocolError(INTERNAL_ERROR, String((error as Error)?.message ?? error)),
        );
      }
      this.#flush();
    }
  }

  /** The peer broke the protocol: GOAWAY with the code, every stream fails, close. */
  #connectionError(error: Http2ProtocolError): void {
    if (this.#closed) return;
    this.#error = {
      kind: "protocol",
      code: error.code,
      message: error.message,
      cause: error,
    };
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#sendGoaway(error.code, error.message);
    }
    this.#failAll(this.#error);
    this.#shutdown(this.#error);
  }

  /** The network failed or ended: every stream fails with `error`. */
  #fail(error: Http2EngineError, clean = false): void {
    if (this.#closed) return;
    if (!clean) this.#error ??= error;
    this.#failAll(this.#error ?? error);
    this.#shutdown(this.#error);
  }

  /** Ends the session: what is queued is written, then the network stream closes. */
  #shutdown(error: Http2EngineError | null, now = false): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#unpark();
    // Whole responses held for paused readers are handed over before the session closes
    // (the connection fails whatever has not ended when it closes).
    for (const stream of [...this.#streams.values()]) if (stream.heldEnd) this.#endHeld(stream);
    // A write the peer does not take (its TCP window closed) must not hold a destroy().
    const written = now && this.#writing ? Promise.resolve() : this.#flushed();
    written.then(() => {
      this.#closed = true;
      return this.#stream.close().catch(() => {});
    }).then(() => {
      this.#listener.onClose(error ?? this.#error);
      this.#resolveClosed();
    });
  }
}

/** Whether the settings list sets SETTINGS_MAX_CONCURRENT_STREAMS. */
function hasSetting(settings: SettingsList): boolean {
  for (let i = 0; i < settings.length; i += 2) {
    if (settings[i] === SETTINGS_MAX_CONCURRENT_STREAMS) return true;
  }
  return false;
}

/**
 * What is wrong with the regular fields from `from` on (RFC 9113 section 8.2), or `null`:
 * a pseudo-header field among them, an upper-case or invalid name, a value with NUL, CR,
 * LF or surrounding whitespace, a connection-specific field.
 */
function checkFields(fields: [string, string][], from: number): string | null {
  for (let i = from; i < fields.length; i++) {
    const [name, value] = fields[i];
    if (name.length === 0) return "an empty field name";
    if (name.charCodeAt(0) === 58) {
      return `pseudo-header field ${JSON.stringify(name)} after regular fields`;
    }
    for (let j = 0; j < name.length; j++) {
      const code = name.charCodeAt(j);
      if (code <= 0x20 || (code >= 0x41 && code <= 0x5a) || code >= 0x7f) {
        return `invalid field name ${JSON.stringify(name)}`;
      }
    }
    for (let j = 0; j < value.length; j++) {
      const code = value.charCodeAt(j);
      if (code === 0 || code === 10 || code === 13) {
        return `invalid value of field ${JSON.stringify(name)}`;
      }
    }
    if (value.length > 0) {
      const first = value.charCodeAt(0);
      const last = value.charCodeAt(value.length - 1);
      if (first === 32 || first === 9 || last === 32 || last === 9) {
        return `value of field ${JSON.stringify(name)} starts or ends with whitespace`;
      }
    }
    if (CONNECTION_SPECIFIC.has(name)) {
      return `connection-specific field ${JSON.stringify(name)}`;
    }
    if (name === "te" && value !== "trailers") return `field "te" with ${JSON.stringify(value)}`;
  }
  return null;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/**
 * Ferry's own HTTP/2 engine (see the module documentation): the default.
 *
 * @example
 * ```ts ignore
 * import { ferryHttp2Engine } from "./ferry_engine.ts";
 * console.log(ferryHttp2Engine.name); // "ferry"
 * ```
 */
export const ferryHttp2Engine: Http2Engine = {
  name: "ferry",
  open(stream, _authority, options, listener): Http2EngineSession {
    return new FerrySession(stream, options, listener);
  },
};
