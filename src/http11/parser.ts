/**
 * An incremental, sans-IO HTTP/1.1 **response** parser: bytes in, events out. No I/O, no
 * timers, no dependencies.
 *
 * ## Theory of operation
 *
 * The caller tells the parser which request method the next response answers
 * ({@linkcode ResponseParser.startResponse}), feeds whatever bytes arrive
 * ({@linkcode ResponseParser.feed}), says when the peer closed
 * ({@linkcode ResponseParser.feedEnd}), and pulls events with
 * {@linkcode ResponseParser.next} until it returns `null` (more bytes needed, or the
 * response is over and the parser waits for the next `startResponse`). The events never
 * depend on how the input was split: one buffer or one byte at a time give the same events
 * (body `data` events may be cut differently, their concatenation is the same).
 *
 * Input is kept by reference: body `data` events are views into the fed buffers, so the
 * caller must not reuse a buffer it fed until the events from it were handled. Only a
 * status line, header line or chunk-size line that straddles two fed buffers is copied
 * (into a small scratch buffer bounded by the limits).
 *
 * Framing follows RFC 9112 §6.3: no body for a response to `HEAD`, for 1xx, 204 and 304;
 * `101` and a 2xx answering `CONNECT` hand over the connection (`upgrade`); a chunked
 * body is read chunk by chunk; otherwise `Content-Length`;
 * otherwise the body runs until the peer closes. HTTP/1.0, `Connection: close` and a
 * read-to-close body end reuse (`keepAlive: false`).
 *
 * ## Strictness
 *
 * A {@linkcode RemoteProtocolError} naming the problem and its byte `offset` (counted
 * from the first byte of the response; after a 1xx, from the first byte after it) is
 * thrown for: a malformed status line, an unsupported version, a status that is not three
 * digits (or is below 100); bare CR; LF without CR; NUL, CR or another control byte in a
 * field value or reason; a header name that is not a token or whitespace before the colon;
 * a line without a colon; a malformed, overflowing or conflicting `Content-Length`
 * (`+5`, `0x10`, `1, 2`; identical repeats such as `5, 5` are accepted as RFC 9110 allows);
 * `Content-Length` together with `Transfer-Encoding`; `Transfer-Encoding` in an HTTP/1.0
 * response; a `Transfer-Encoding` other than exactly `chunked` (no other transfer coding
 * is decoded, so `gzip, chunked` is refused rather than handed over undecoded); a chunk
 * size that is not hex, overflows 2^53, or is followed by junk; a missing CRLF after chunk
 * data; any of the limits; and the peer closing before the response head, a
 * `Content-Length` body or a chunked body was complete. After an error the parser stays
 * in state `"error"` and every call throws the same error again.
 *
 * ## Decisions
 *
 * - **obs-fold** (a header line starting with SP or HTAB, continuing the previous line):
 *   accepted and replaced by a single SP, as RFC 9112 §5.2 asks of a user agent receiving
 *   a response. An obs-fold before any header field is an error.
 * - **Chunk extensions** (`1a;name=value`): checked against RFC 9112 §7.1.1 and ignored.
 *   Whitespace (BWS) is allowed only around `;` and `=`; a size followed by whitespace and
 *   nothing else (`25  `), an empty extension (`2;`) or a name without a value after `=`
 *   is refused, as llhttp does. The whole chunk-size line is bounded by
 *   `maxChunkSizeLineSize`.
 * - **Version**: `HTTP/1.1` and `HTTP/1.0` only; any other version is an error.
 * - **Reason phrase**: may be empty, and the space before it may be missing
 *   (`HTTP/1.1 200`), as real servers send.
 * - **Leading empty lines** (CRLF) before a status line: up to
 *   {@linkcode MAX_EMPTY_LINES_BEFORE_STATUS} (4) are ignored, as RFC 9112 §2.2 allows
 *   and llhttp and browsers do (a server that sends a stray CRLF after a body must not
 *   break the next response); more is an error. A bare LF is an error as anywhere else.
 * - **Informational responses** (1xx but 101): at most `maxInformationalResponses` (10)
 *   per request, so a server sending `103 Early Hints` forever cannot hold a request past
 *   ten read timeouts.
 * - **Transfer codings other than chunked** are refused rather than read until the
 *   connection closes (RFC 9112 §6.3 allows the latter): Ferry decodes no transfer coding
 *   but chunked, so the body could only be handed up still encoded. The error ends the
 *   connection, so it is never reused.
 * - Field names and values are decoded as Latin-1 (one char per byte), with optional
 *   whitespace (SP, HTAB) around the value removed.
 * - **Responses without a body** (to `HEAD`, 204, 304): `Content-Length` must still be
 *   well formed, but `Transfer-Encoding` is not looked at (a response to `HEAD` carries
 *   the fields the `GET` would have had).
 * - **101**: any 101 is reported as `head` then `upgrade`; whether the request asked for
 *   it is for the caller to judge.
 *
 * ## Speed
 *
 * A field line that is whole in the current buffer is validated in one pass, and its
 * name and value strings come from small fixed-size caches (shared by all parsers, every
 * hit checked byte for byte): building a string from bytes costs more than the rest of
 * the parse. Lines that straddle buffers take the general path, with the same results.
 *
 * ## Limits (defaults)
 *
 * `maxHeaderSize` 16384 bytes for the whole head (status line, fields, CRLFs; as undici
 * and Node), `maxHeaders` 100 field lines, `maxStartLineSize` 8192 bytes, a chunk-size line
 * of at most 4096 bytes, trailers of at most 16384 bytes (at most `maxHeaders` lines), and
 * at most 10 informational responses per request.
 * The parser never holds more than these (plus the buffers the caller fed and did not let
 * it consume).
 *
 * @module
 */

import { LocalProtocolError, RemoteProtocolError } from "../errors.ts";
import { FIELD_VALUE, HEX, latin1, quote, TOKEN, trimOws } from "./_bytes.ts";
import {
  FIELD_NAME_MAX,
  FIELD_VALUE_MAX,
  FieldCache,
  nameKey,
  StringCache,
  valueKey,
} from "./_cache.ts";
import { inspectAsRepr } from "../_inspect.ts";
import { concatBytes } from "../models/body.ts";

/** The bounds that keep the parser's memory small whatever the peer sends. */
export interface ParserLimits {
  /** Bytes of the whole head: status line, header lines and their CRLFs. Default 16384. */
  maxHeaderSize: number;
  /** Header field lines (an obs-fold line counts as one). Default 100. */
  maxHeaders: number;
  /** Bytes of the status line, without its CRLF. Default 8192. */
  maxStartLineSize: number;
  /** Bytes of a chunk-size line, extensions included, without its CRLF. Default 4096. */
  maxChunkSizeLineSize: number;
  /** Bytes of the trailer section, including the final CRLF. Default 16384. */
  maxTrailerSize: number;
  /**
   * Informational (1xx) responses before the final one, per request. Default 10: a server
   * that sends `103 Early Hints` forever cannot keep a request waiting past this.
   */
  maxInformationalResponses: number;
}

/** The default {@linkcode ParserLimits}. */
export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxHeaderSize: 16384,
  maxHeaders: 100,
  maxStartLineSize: 8192,
  maxChunkSizeLineSize: 4096,
  maxTrailerSize: 16384,
  maxInformationalResponses: 10,
});

/**
 * Empty lines (CRLF) ignored before a status line, as RFC 9112 §2.2 allows and llhttp and
 * browsers do: a server that sends a stray CRLF after a body must not break the next
 * response. More than this is an error.
 */
export const MAX_EMPTY_LINES_BEFORE_STATUS = 4;

/** A 1xx response other than 101 (`100 Continue`, `103 Early Hints`…). */
export interface InformationalEvent {
  /** Discriminant. */
  type: "informational";
  /** The status, 100 to 199 (never 101). */
  status: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  /** The header fields, in order and original case. */
  headers: [string, string][];
}

/** The head of the final response. */
export interface HeadEvent {
  /** Discriminant. */
  type: "head";
  /** The protocol version of the response. */
  version: "HTTP/1.1" | "HTTP/1.0";
  /** The status code, 100 to 999. */
  status: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  /**
   * The header fields, in order and original case. The list is the event's own; a pair in
   * it may be frozen (a head equal to the connection's previous one shares that one's
   * pairs): replace a pair rather than change it.
   */
  headers: [string, string][];
  /**
   * The body length when the body is framed by length (`0` for responses that have no
   * body), `null` for a chunked or a read-until-close body.
   */
  bodyLength: number | null;
  /** Whether the body is chunked. */
  chunked: boolean;
}

/** A piece of the response body: a view into the fed bytes (not a copy). */
export interface DataEvent {
  /** Discriminant. */
  type: "data";
  /** The body bytes. Never empty. */
  data: Uint8Array;
}

/** The end of the response. */
export interface EndEvent {
  /** Discriminant. */
  type: "end";
  /** Trailer fields of a chunked body (empty otherwise). */
  trailers: [string, string][];
  /** Whether the connection may carry another request. */
  keepAlive: boolean;
}

/** The connection switched protocols (101, or a 2xx answering `CONNECT`). */
export interface UpgradeEvent {
  /** Discriminant. */
  type: "upgrade";
  /** Bytes already received after the head; they belong to the new protocol. */
  rest: Uint8Array;
}

/** What {@linkcode ResponseParser.next} returns. */
export type ResponseEvent =
  | InformationalEvent
  | HeadEvent
  | DataEvent
  | EndEvent
  | UpgradeEvent;

/**
 * The parser's state:
 * - `"idle"`: no response started yet; call `startResponse`.
 * - `"head"`: reading a status line and header fields (1xx responses included).
 * - `"body"`: the head was returned; reading the body (or about to return `end`).
 * - `"done"`: the response ended; call `startResponse` for the next one (pipelining).
 * - `"upgraded"`: a 101 or a 2xx to `CONNECT` was read; the rest belongs to another
 *   protocol, the parser returns only the `upgrade` event and then `null`.
 * - `"error"`: the input was not valid HTTP/1.1; every call throws the same error.
 */
export type ParserState = "idle" | "head" | "body" | "done" | "upgraded" | "error";

const EMPTY = new Uint8Array(0);
const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// Internal phases.
const P_IDLE = 0;
const P_DONE = 1;
const P_STATUS = 2;
const P_HEADERS = 3;
const P_NO_BODY = 4;
const P_LENGTH = 5;
const P_CHUNK_SIZE = 6;
const P_CHUNK_DATA = 7;
const P_CHUNK_CR = 8;
const P_CHUNK_LF = 9;
const P_TRAILERS = 10;
const P_CLOSE = 11;
const P_UPGRADE = 12;
const P_UPGRADED = 13;
const P_ERROR = 14;

// Decoded header names and values, shared by all parsers (bounded, see StringCache).
const NAMES = new StringCache(512);
const VALUES = new StringCache(1024);
const REASONS = new StringCache(32);
const FIELDS = new FieldCache(256);

// Which limit a line is read under (the error message is built only on failure).
const L_START = 0;
const L_HEAD = 1;
const L_CHUNK = 2;
const L_TRAILER = 3;

// Framing fields, recognised without building a lower-case copy of the name.
const F_NONE = 0;
const F_CONTENT_LENGTH = 1;
const F_TRANSFER_ENCODING = 2;
const F_CONNECTION = 3;
const FRAMING_NAMES: [string, number][] = [
  ["content-length", F_CONTENT_LENGTH],
  ["transfer-encoding", F_TRANSFER_ENCODING],
  ["connection", F_CONNECTION],
];

function isBws(byte: number): boolean {
  return byte === SP || byte === HTAB;
}

/** Which framing field the token `bytes[start, start + length)` names, ignoring case. */
function framingField(bytes: Uint8Array, start: number, length: number): number {
  for (const [name, kind] of FRAMING_NAMES) {
    if (name.length !== length) continue;
    let i = 0;
    // Names are tokens, so `| 0x20` lowers letters and maps nothing else onto a-z or "-".
    while (i < length && (bytes[start + i] | 0x20) === name.charCodeAt(i)) i++;
    if (i === length) return kind;
  }
  return F_NONE;
}

/**
 * The last final head a parser read whole from one buffer, kept to recognise the next
 * one: a server on a kept-alive connection sends the same head again and again (bar the
 * `Date` line, once a second). Bytes equal to the template's, under the same limits and
 * for the same method, parse to the same result, so a match skips the field-by-field
 * parse; the first differing byte falls back to it.
 */
interface HeadTemplate {
  bytes: Uint8Array;
  /** The same bytes, read four at a time when matching. */
  view: DataView;
  version: "HTTP/1.1" | "HTTP/1.0";
  status: number;
  reason: string;
  /**
   * The parser's own copy, its pairs frozen: each head that matches gets a new list of these
   * same pairs (a field is never changed in place, by Ferry or, frozen, by anyone).
   */
  pairs: [string, string][];
  contentLength: number;
  transferEncoding: string[] | null;
  /** Where the `Transfer-Encoding` field began, from the head's first byte (for errors). */
  teOffset: number;
  close: boolean;
  sectionBytes: number;
  /** Whether every field value is ASCII (nothing for `Headers.fromWire` to decode). */
  ascii: boolean;
}

/** Whether `cur` holds `t` from `pos` on (it is known to be long enough). */
function sameBytes(t: Uint8Array, cur: Uint8Array, pos: number): boolean {
  const n = t.length;
  for (let i = 0; i < n; i++) if (t[i] !== cur[pos + i]) return false;
  return true;
}

/** {@linkcode sameBytes} four bytes at a time: the template's bytes at `at` in `view`. */
function sameWords(template: HeadTemplate, view: DataView, at: number): boolean {
  const t = template.bytes;
  const tv = template.view;
  const n = t.length;
  const words = n - (n & 3);
  let i = 0;
  for (; i < words; i += 4) if (tv.getUint32(i) !== view.getUint32(at + i)) return false;
  for (; i < n; i++) if (t[i] !== view.getUint8(at + i)) return false;
  return true;
}

/** The fields of a head not read yet (never added to: a status line replaces it). */
const NO_FIELDS: [string, string][] = Object.freeze([]) as unknown as [string, string][];

/** Bytes outside ASCII, in a field value read as Latin-1. */
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Whether the last head `parser` gave is known to have only ASCII field values (it
 * matched a template that has): a connection then wraps its fields without looking for
 * bytes to decode. `false` means unknown. Not public API.
 */
export let asciiHead: (parser: ResponseParser) => boolean;

/**
 * Makes `parser` share the pairs of a matched template unfrozen. Not public API: for a
 * connection's own parser, whose heads go only to `Headers` (which replaces a pair, never
 * changes one). A frozen array is read through V8's generic (slow) path: every `pair[0]`
 * and `pair[1]` of a shared head cost a call into the runtime (`perf` on Node 20; a loop
 * over frozen pairs is 2-4x slower than over plain ones on Node 20 and Deno). Parsers made
 * by `new ResponseParser()` keep freezing them: their heads go to code we do not know.
 */
export let shareUnfrozenPairs: (parser: ResponseParser) => ResponseParser;

/** Heads longer than this are not kept as templates. */
const TEMPLATE_MAX = 2048;
/** Misses in a row after which a parser stops keeping templates for a while. */
const TEMPLATE_MISSES = 4;
/** How many heads a parser then parses without keeping or trying a template. */
const TEMPLATE_PAUSE = 64;

const STATE_NAMES: ParserState[] = [
  "idle",
  "done",
  "head",
  "head",
  "body",
  "body",
  "body",
  "body",
  "body",
  "body",
  "body",
  "body",
  "upgraded",
  "upgraded",
  "error",
];

/**
 * An incremental HTTP/1.1 response parser. See the module documentation for the rules.
 *
 * @example Parse a response fed in two pieces
 * ```ts
 * import { ResponseParser } from "@ferry/ferry/http11";
 * const parser = new ResponseParser();
 * const bytes = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
 * parser.startResponse("GET");
 * parser.feed(bytes.subarray(0, 20));
 * console.log(parser.next()); // null: the head is not complete
 * parser.feed(bytes.subarray(20));
 * for (let event = parser.next(); event; event = parser.next()) console.log(event.type);
 * // "head", "data", "end"
 * ```
 */
export class ResponseParser {
  #limits: Readonly<ParserLimits>;
  #phase = P_IDLE;
  #error: RemoteProtocolError | null = null;

  // Input: the current buffer, the read position in it, and buffers fed after it.
  #cur: Uint8Array = EMPTY;
  #pos = 0;
  #queue: Uint8Array[] = [];
  #queueHead = 0; // next buffer to take from #queue (no Array#shift: O(1) per buffer)
  #base = 0; // stream offset of #cur[0]
  #eof = false;

  // A line that straddles buffers is gathered here.
  #scratch: Uint8Array = EMPTY;
  #partial = 0;
  #partialStart = 0; // stream offset where the partial line began
  // The line just read: bytes #lineBuf[#lineStart, #lineEnd) (CRLF excluded).
  #lineBuf: Uint8Array = EMPTY;
  #lineStart = 0;
  #lineEnd = 0;
  #lineOffset = 0; // stream offset of the line's first byte

  // The response being read.
  #method = "GET";
  #methodGiven = "GET"; // what startResponse was given, upper-cased into #method
  #responseStart = 0; // stream offset of the response's first byte
  #version: "HTTP/1.1" | "HTTP/1.0" = "HTTP/1.1";
  #status = 0;
  #reason = "";
  #headers: [string, string][] = [];
  #sectionBytes = 0; // bytes of the head or trailer section read so far
  #contentLength = -1;
  #transferEncoding: string[] | null = null;
  #teOffset = 0;
  #close = false;
  #informational = 0; // 1xx responses read for the current request
  #emptyLines = 0; // empty lines skipped before the current status line
  #remaining = 0; // body bytes (or chunk bytes) still to come
  #keepAlive = true;

  // Head templates (see HeadTemplate).
  #template: HeadTemplate | null = null;
  #templateMisses = 0;
  #templatePause = 0;
  #headPos = 0; // where the head being read began in #cur
  #headBase = -1; // #base then: the head came whole from #cur if #base is still this
  #ascii = false; // the last head matched a template whose values are all ASCII
  #view: DataView | null = null; // over #cur's buffer (a read slab serves many heads)
  #lastBuffer: ArrayBufferLike | null = null; // the last buffer a head was matched in
  #freezePairs = true; // whether a template's shared pairs are frozen (shareUnfrozenPairs)

  static {
    asciiHead = (parser) => parser.#ascii;
    shareUnfrozenPairs = (parser) => {
      parser.#freezePairs = false;
      return parser;
    };
  }

  /** Creates a parser; `limits` overrides some of {@linkcode DEFAULT_PARSER_LIMITS}. */
  constructor(limits?: Partial<ParserLimits>) {
    if (limits === undefined) {
      this.#limits = DEFAULT_PARSER_LIMITS;
      return;
    }
    this.#limits = { ...DEFAULT_PARSER_LIMITS, ...limits };
    for (const [key, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`Invalid parser limit ${key} ${quote(String(value))}`);
      }
    }
  }

  /** Where the parser is (see {@linkcode ParserState}). */
  get state(): ParserState {
    return STATE_NAMES[this.#phase];
  }

  /** Bytes fed and not yet consumed (without taking them). */
  get bufferedLength(): number {
    let total = this.#cur.length - this.#pos;
    for (let i = this.#queueHead; i < this.#queue.length; i++) total += this.#queue[i].length;
    return total;
  }

  /** Whether the peer's end of input was fed. */
  get ended(): boolean {
    return this.#eof;
  }

  /**
   * Expects a new response, to a request with `method` (`HEAD` and `CONNECT` change the
   * framing). Call it before the first response and again after each `end` event.
   */
  startResponse(method: string): void {
    this.#throwIfFailed();
    if (this.#phase !== P_IDLE && this.#phase !== P_DONE) {
      throw new LocalProtocolError(
        `Cannot start a response while the parser is in state ${quote(this.state)}`,
      );
    }
    // A method equal to the last one given is not upper-cased again: a case mapping is a
    // call into the runtime and a new string (a connection passes the same string each
    // time, so the comparison is a pointer check).
    if (method !== this.#methodGiven) {
      this.#methodGiven = method;
      this.#method = method.toUpperCase();
    }
    this.#informational = 0;
    this.#beginHead();
  }

  /** Appends input. The bytes are kept by reference: do not modify them until consumed. */
  feed(bytes: Uint8Array): void {
    this.#throwIfFailed();
    if (this.#eof) throw new LocalProtocolError("Cannot feed bytes after the end of input");
    if (bytes.length === 0) return;
    if (this.#pos >= this.#cur.length && this.#queueHead === this.#queue.length) {
      this.#base += this.#cur.length;
      this.#cur = bytes;
      this.#pos = 0;
    } else {
      this.#queue.push(bytes);
    }
  }

  /** Records that the peer closed its side: no more input will come. */
  feedEnd(): void {
    this.#throwIfFailed();
    this.#eof = true;
  }

  /**
   * Returns all bytes fed but not consumed, and forgets them. Used after `upgrade`, and to
   * look for unexpected bytes on an idle connection.
   */
  takeBuffered(): Uint8Array {
    this.#throwIfFailed();
    return this.#takeAll();
  }

  /**
   * The next event, or `null` when more input is needed or the response is over (call
   * `startResponse` for the next). Throws {@linkcode RemoteProtocolError} on invalid input.
   */
  next(): ResponseEvent | null {
    if (this.#error) throw this.#error;
    try {
      return this.#next();
    } catch (error) {
      if (error instanceof RemoteProtocolError) {
        this.#error = error;
        this.#phase = P_ERROR;
        this.#queue = [];
        this.#queueHead = 0;
        this.#cur = EMPTY;
        this.#pos = 0;
        this.#scratch = EMPTY;
        this.#headers = [];
      }
      throw error;
    }
  }

  /** A short description, such as `<ResponseParser [body 12 buffered]>`. */
  toString(): string {
    return `<ResponseParser [${this.state} ${this.bufferedLength} buffered]>`;
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  #beginHead(): void {
    this.#phase = P_STATUS;
    this.#responseStart = this.#base + this.#pos;
    this.#headers = NO_FIELDS; // until a status line is read: most heads match a template
    this.#sectionBytes = 0;
    this.#contentLength = -1;
    this.#transferEncoding = null;
    this.#close = false;
    this.#emptyLines = 0;
  }

  #fail(message: string, streamOffset: number): never {
    throw new RemoteProtocolError(message, { offset: streamOffset - this.#responseStart });
  }

  #next(): ResponseEvent | null {
    while (true) {
      switch (this.#phase) {
        case P_STATUS: {
          this.#ascii = false;
          if (this.#partial === 0) {
            if (this.#template !== null && this.#emptyLines === 0 && this.#informational === 0) {
              const event = this.#matchTemplate(this.#template);
              if (event !== null) return event;
            }
            this.#headPos = this.#pos;
            this.#headBase = this.#base;
          }
          const limits = this.#limits;
          const start = limits.maxStartLineSize + 2 <= limits.maxHeaderSize;
          const budget = start ? limits.maxStartLineSize + 2 : limits.maxHeaderSize;
          if (!this.#readLine(budget, start ? L_START : L_HEAD)) return this.#needMore("head");
          if (this.#lineEnd === this.#lineStart) {
            if (++this.#emptyLines > MAX_EMPTY_LINES_BEFORE_STATUS) {
              this.#fail(
                `More than ${MAX_EMPTY_LINES_BEFORE_STATUS} empty lines before the status line`,
                this.#lineOffset,
              );
            }
            // The response starts after them: offsets, the head budget and "closed without
            // a response" count from its first real byte.
            this.#responseStart = this.#base + this.#pos;
            this.#sectionBytes = 0;
            continue;
          }
          this.#parseStatusLine();
          this.#headers = []; // (a head that matched a template came with its own)
          this.#phase = P_HEADERS;
          continue;
        }
        case P_HEADERS: {
          const budget = this.#limits.maxHeaderSize - this.#sectionBytes;
          if (this.#partial === 0 && this.#fastField(budget)) continue;
          if (!this.#readLine(budget, L_HEAD)) return this.#needMore("head");
          if (this.#lineEnd === this.#lineStart) {
            const event = this.#finishHead();
            if (event === null) continue;
            if (event.type === "head") this.#keepTemplate(event);
            return event;
          }
          this.#parseFieldLine(this.#limits.maxHeaders);
          continue;
        }
        case P_NO_BODY:
          return this.#end([]);
        case P_LENGTH: {
          if (this.#remaining === 0) return this.#end([]);
          const data = this.#take(this.#remaining);
          if (data) {
            this.#remaining -= data.length;
            return { type: "data", data };
          }
          if (this.#eof) {
            this.#fail(
              `Connection closed with ${this.#remaining} bytes of the body still expected`,
              this.#base + this.#pos,
            );
          }
          return null;
        }
        case P_CLOSE: {
          const data = this.#take(MAX_SAFE);
          if (data) return { type: "data", data };
          if (this.#eof) return this.#end([]);
          return null;
        }
        case P_CHUNK_SIZE: {
          const max = this.#limits.maxChunkSizeLineSize;
          if (!this.#readLine(max + 2, L_CHUNK)) {
            return this.#needMore("chunk");
          }
          this.#parseChunkSize();
          continue;
        }
        case P_CHUNK_DATA: {
          const data = this.#take(this.#remaining);
          if (data) {
            this.#remaining -= data.length;
            if (this.#remaining === 0) this.#phase = P_CHUNK_CR;
            return { type: "data", data };
          }
          return this.#needMore("chunk");
        }
        case P_CHUNK_CR:
        case P_CHUNK_LF: {
          if (this.#pos >= this.#cur.length && !this.#advance()) return this.#needMore("chunk");
          const byte = this.#cur[this.#pos];
          const expected = this.#phase === P_CHUNK_CR ? CR : LF;
          if (byte !== expected) {
            this.#fail(
              `Missing CRLF after chunk data (found ${quote(String.fromCharCode(byte))})`,
              this.#base + this.#pos,
            );
          }
          this.#pos++;
          this.#phase = this.#phase === P_CHUNK_CR ? P_CHUNK_LF : P_CHUNK_SIZE;
          continue;
        }
        case P_TRAILERS: {
          const budget = this.#limits.maxTrailerSize - this.#sectionBytes;
          if (!this.#readLine(budget, L_TRAILER)) return this.#needMore("chunk");
          if (this.#lineEnd === this.#lineStart) return this.#end(this.#headers);
          this.#parseFieldLine(this.#limits.maxHeaders);
          continue;
        }
        case P_UPGRADE:
          this.#phase = P_UPGRADED;
          return { type: "upgrade", rest: this.#takeAll() };
        default: // idle, done, upgraded
          return null;
      }
    }
  }

  /**
   * The head at `#pos` if its bytes are `template`'s (whole in `#cur`), else `null` with
   * nothing consumed.
   */
  #matchTemplate(template: HeadTemplate): ResponseEvent | null {
    const t = template.bytes;
    const n = t.length;
    const cur = this.#cur;
    const pos = this.#pos;
    if (cur.length - pos < n) return null;
    // Four bytes at a time through a DataView of a buffer seen before (a read slab holds
    // many heads; the byte loop took 4-7 times as long over nginx's 146-byte head). Making
    // a DataView costs more than a byte loop over one head: a buffer seen for the first
    // time (a runtime that hands each read a new one) is compared byte by byte.
    const buffer = cur.buffer;
    let view = this.#view;
    if (view !== null && view.buffer !== buffer) view = this.#view = null; // (let the old slab go)
    if (view === null && this.#lastBuffer === buffer) view = this.#view = new DataView(buffer);
    this.#lastBuffer = buffer;
    const same = view !== null
      ? sameWords(template, view, cur.byteOffset + pos)
      : sameBytes(t, cur, pos);
    if (!same) {
      if (++this.#templateMisses >= TEMPLATE_MISSES) {
        // Heads that change every time: stop paying for the comparison for a while.
        this.#template = null;
        // (They would keep a read slab alive while nothing is matched.)
        this.#view = null;
        this.#lastBuffer = null;
        this.#templatePause = TEMPLATE_PAUSE;
      }
      return null;
    }
    this.#templateMisses = 0;
    this.#pos = pos + n;
    this.#sectionBytes = template.sectionBytes;
    this.#version = template.version;
    this.#status = template.status;
    this.#reason = template.reason;
    // The pairs themselves are the template's, frozen: only the list is the head's own.
    this.#headers = template.pairs.slice();
    this.#contentLength = template.contentLength;
    const codings = template.transferEncoding;
    this.#transferEncoding = codings === null ? null : codings.slice();
    this.#teOffset = this.#base + pos + template.teOffset;
    this.#close = template.close;
    this.#ascii = template.ascii;
    return this.#finishHead();
  }

  /** Keeps the final head just read as the template, if it came whole from one buffer. */
  #keepTemplate(event: HeadEvent): void {
    if (this.#templatePause > 0) {
      this.#templatePause--;
      return;
    }
    const start = this.#headPos;
    const end = this.#pos;
    if (
      this.#headBase !== this.#base || this.#emptyLines !== 0 || this.#informational !== 0 ||
      end - start > TEMPLATE_MAX
    ) return;
    const pairs = event.headers;
    const own: [string, string][] = new Array(pairs.length);
    let ascii = true;
    for (let i = 0; i < pairs.length; i++) {
      const pair: [string, string] = [pairs[i][0], pairs[i][1]];
      own[i] = this.#freezePairs ? Object.freeze(pair) as [string, string] : pair;
      if (ascii && NON_ASCII.test(pairs[i][1])) ascii = false;
    }
    const codings = this.#transferEncoding;
    const bytes = this.#cur.slice(start, end);
    this.#template = {
      bytes,
      view: new DataView(bytes.buffer),
      version: event.version,
      status: event.status,
      reason: event.reason,
      pairs: own,
      contentLength: this.#contentLength,
      transferEncoding: codings === null ? null : codings.slice(),
      teOffset: this.#teOffset - (this.#headBase + start),
      close: this.#close,
      sectionBytes: this.#sectionBytes,
      ascii,
    };
  }

  /** No complete line or byte available: `null`, or an error when the input ended. */
  #needMore(where: "head" | "chunk"): null {
    if (!this.#eof) return null;
    const offset = this.#base + this.#pos;
    if (where === "chunk") this.#fail("Connection closed in the middle of a chunked body", offset);
    if (offset === this.#responseStart) {
      this.#fail("Connection closed without sending a response", offset);
    }
    this.#fail("Connection closed in the middle of the response head", offset);
  }

  #end(trailers: [string, string][]): EndEvent {
    // `#headers` is not pushed to again before the next `#beginHead` makes a new one.
    this.#phase = P_DONE;
    return { type: "end", trailers, keepAlive: this.#keepAlive };
  }

  /** Moves to the next fed buffer; false when there is none. */
  #advance(): boolean {
    const queue = this.#queue;
    if (this.#queueHead === queue.length) return false;
    this.#base += this.#cur.length;
    this.#cur = queue[this.#queueHead];
    queue[this.#queueHead++] = EMPTY;
    if (this.#queueHead === queue.length) {
      queue.length = 0;
      this.#queueHead = 0;
    }
    this.#pos = 0;
    return true;
  }

  /** Up to `max` bytes of input, as a view; null when none is buffered. */
  #take(max: number): Uint8Array | null {
    if (this.#pos >= this.#cur.length && !this.#advance()) return null;
    const cur = this.#cur;
    const start = this.#pos;
    const end = cur.length - start > max ? start + max : cur.length;
    this.#pos = end;
    return start === 0 && end === cur.length ? cur : cur.subarray(start, end);
  }

  #takeAll(): Uint8Array {
    if (this.#pos >= this.#cur.length && this.#queueHead === this.#queue.length) {
      // Nothing buffered (every response that ends its input): nothing to allocate.
      this.#base += this.#cur.length;
      this.#cur = EMPTY;
      this.#pos = 0;
      return EMPTY;
    }
    const rest: Uint8Array[] = [];
    if (this.#pos < this.#cur.length) rest.push(this.#cur.subarray(this.#pos));
    const queued = this.#queue.slice(this.#queueHead);
    for (const chunk of queued) rest.push(chunk);
    this.#base += this.#cur.length;
    for (const chunk of queued) this.#base += chunk.length;
    this.#cur = EMPTY;
    this.#pos = 0;
    this.#queue = [];
    this.#queueHead = 0;
    return rest.length === 0 ? EMPTY : concatBytes(rest);
  }

  /**
   * Reads one CRLF-terminated line whose LF must lie within `budget` bytes of the line's
   * start. On success the line (without CRLF) is `#lineBuf[#lineStart, #lineEnd)`.
   * The limit is checked identically whether the line arrives whole or in pieces.
   */
  #readLine(budget: number, limit: number): boolean {
    while (true) {
      const cur = this.#cur;
      const pos = this.#pos;
      if (pos >= cur.length) {
        if (!this.#advance()) return false;
        continue;
      }
      const partial = this.#partial;
      if (partial === 0) this.#partialStart = this.#base + pos;
      // A plain loop: lines are short, and TypedArray#indexOf is a call into C++.
      const length = cur.length;
      let lf = pos;
      while (lf < length && cur[lf] !== LF) lf++;
      if (lf === length) lf = -1;
      const before = (lf === -1 ? length : lf) - pos;
      const at = partial + before; // offset of the LF (or of the end of input) in the line
      if (at >= budget) {
        this.#fail(this.#limitMessage(limit), this.#partialStart + Math.max(budget, 0));
      }
      if (lf === -1) {
        this.#appendPartial(cur, pos, cur.length);
        this.#pos = cur.length;
        continue;
      }
      const previous = lf > pos ? cur[lf - 1] : partial > 0 ? this.#scratch[partial - 1] : -1;
      if (previous !== CR) this.#fail("Found LF without CR", this.#partialStart + at);
      this.#lineOffset = this.#partialStart;
      if (partial === 0) {
        this.#lineBuf = cur;
        this.#lineStart = pos;
        this.#lineEnd = lf - 1;
      } else {
        this.#appendPartial(cur, pos, lf);
        this.#lineBuf = this.#scratch;
        this.#lineStart = 0;
        this.#lineEnd = this.#partial - 1;
        this.#partial = 0;
      }
      this.#pos = lf + 1;
      this.#sectionBytes += at + 1;
      return true;
    }
  }

  #limitMessage(limit: number): string {
    const limits = this.#limits;
    switch (limit) {
      case L_START:
        return `Status line is longer than maxStartLineSize (${limits.maxStartLineSize} bytes)`;
      case L_HEAD:
        return `Response head is larger than maxHeaderSize (${limits.maxHeaderSize} bytes)`;
      case L_CHUNK:
        return `Chunk size line is longer than maxChunkSizeLineSize (${limits.maxChunkSizeLineSize} bytes)`;
      default:
        return `Trailer section is larger than maxTrailerSize (${limits.maxTrailerSize} bytes)`;
    }
  }

  #appendPartial(bytes: Uint8Array, start: number, end: number): void {
    const need = this.#partial + end - start;
    if (need > this.#scratch.length) {
      const grown = new Uint8Array(Math.max(256, need, this.#scratch.length * 2));
      grown.set(this.#scratch.subarray(0, this.#partial));
      this.#scratch = grown;
    }
    this.#scratch.set(bytes.subarray(start, end), this.#partial);
    this.#partial = need;
  }

  #parseStatusLine(): void {
    const b = this.#lineBuf;
    const s = this.#lineStart;
    const e = this.#lineEnd;
    const at = this.#lineOffset - s; // stream offset of b[i] is at + i
    if (
      e - s < 12 || b[s] !== 0x48 || b[s + 1] !== 0x54 || b[s + 2] !== 0x54 ||
      b[s + 3] !== 0x50 || b[s + 4] !== 0x2f
    ) {
      this.#statusFail(`Invalid status line ${quote(latin1(b, s, e))}`, at + s);
    }
    if (b[s + 5] !== 0x31 || b[s + 6] !== 0x2e || (b[s + 7] !== 0x31 && b[s + 7] !== 0x30)) {
      let end = s + 5;
      while (end < e && b[end] !== SP) end++;
      this.#statusFail(`Unsupported HTTP version ${quote(latin1(b, s, end))}`, at + s);
    }
    if (b[s + 8] !== SP) {
      this.#statusFail(`Invalid status line ${quote(latin1(b, s, e))}`, at + s + 8);
    }
    const d0 = b[s + 9] - 0x30;
    const d1 = b[s + 10] - 0x30;
    const d2 = b[s + 11] - 0x30;
    if (
      d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 ||
      (s + 12 < e && b[s + 12] !== SP)
    ) {
      let end = s + 9;
      while (end < e && b[end] !== SP) end++;
      this.#statusFail(`Invalid status code ${quote(latin1(b, s + 9, end))}`, at + s + 9);
    }
    const status = d0 * 100 + d1 * 10 + d2;
    if (status < 100) {
      this.#fail(`Invalid status code ${quote(latin1(b, s + 9, s + 12))}`, at + s + 9);
    }
    let reason = "";
    if (s + 13 < e) {
      for (let i = s + 13; i < e; i++) {
        const byte = b[i];
        if (FIELD_VALUE[byte] === 0) this.#fail(this.#badByte(byte, "the reason phrase"), at + i);
      }
      reason = REASONS.get(b, s + 13, e, valueKey(status, b, s + 13, e));
    }
    this.#version = b[s + 7] === 0x31 ? "HTTP/1.1" : "HTTP/1.0";
    this.#status = status;
    this.#reason = reason;
  }

  /** Fails on a status line, naming a bare CR in it first if there is one. */
  #statusFail(message: string, offset: number): never {
    const b = this.#lineBuf;
    const cr = b.subarray(this.#lineStart, this.#lineEnd).indexOf(CR);
    if (cr !== -1) this.#fail("Found CR without LF in the status line", this.#lineOffset + cr);
    this.#fail(message, offset);
  }

  #badByte(byte: number, where: string): string {
    if (byte === CR) return `Found CR without LF in ${where}`;
    if (byte === 0) return `Found NUL in ${where}`;
    const hex = byte.toString(16).padStart(2, "0");
    if (byte < 0x20 || byte === 0x7f) return `Invalid control byte "\\x${hex}" in ${where}`;
    return `Invalid character ${quote(String.fromCharCode(byte))} in ${where}`;
  }

  /** Parses `#lineBuf[#lineStart, #lineEnd)` as a field line into `#headers`. */
  #parseFieldLine(maxLines: number): void {
    const b = this.#lineBuf;
    const s = this.#lineStart;
    const e = this.#lineEnd;
    const at = this.#lineOffset - s;
    const headers = this.#headers;
    if (b[s] === SP || b[s] === HTAB) {
      this.#parseObsFold(b, s, e, at);
      return;
    }
    if (headers.length >= maxLines) {
      this.#fail(`More than maxHeaders (${maxLines}) header fields`, at + s);
    }
    let colon = s;
    while (colon < e && TOKEN[b[colon]] === 1) colon++;
    if (colon === e || b[colon] !== 0x3a) {
      const byte = b[colon];
      if (colon === e || b.subarray(colon, e).indexOf(0x3a) === -1) {
        this.#fail(`Header line without a colon ${quote(latin1(b, s, e))}`, at + s);
      }
      if (byte === SP || byte === HTAB) {
        this.#fail(
          `Whitespace before the colon in header ${quote(latin1(b, s, colon))}`,
          at + colon,
        );
      }
      this.#fail(this.#badByte(byte, `header name ${quote(latin1(b, s, e))}`), at + colon);
    }
    if (colon === s) this.#fail("Empty header name", at + s);
    let vs = colon + 1;
    while (vs < e && (b[vs] === SP || b[vs] === HTAB)) vs++;
    let ve = e;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    for (let i = vs; i < ve; i++) {
      const byte = b[i];
      if (FIELD_VALUE[byte] === 0) {
        this.#fail(
          this.#badByte(byte, `the value of header ${quote(latin1(b, s, colon))}`),
          at + i,
        );
      }
    }
    this.#addField(b, s, colon, vs, ve, at + s);
  }

  /** Records the validated field `b[s, colon)`: `b[vs, ve)`; `offset` is its stream offset. */
  #addField(b: Uint8Array, s: number, colon: number, vs: number, ve: number, offset: number): void {
    const key = nameKey(b, s, colon);
    const name = NAMES.get(b, s, colon, key);
    const value = VALUES.get(b, vs, ve, valueKey(key, b, vs, ve));
    this.#headers.push([name, value]);
    const length = colon - s;
    if (length === 14 || length === 17 || length === 10) {
      this.#framing(framingField(b, s, length), b, vs, ve, value, offset);
    }
  }

  #framing(
    kind: number,
    b: Uint8Array,
    vs: number,
    ve: number,
    value: string,
    offset: number,
  ): void {
    if (kind === F_NONE || this.#phase !== P_HEADERS) return; // trailers never change framing
    if (kind === F_CONTENT_LENGTH) this.#contentLengthField(b, vs, ve, value, offset);
    else if (kind === F_TRANSFER_ENCODING) this.#transferEncodingField(value, offset);
    else this.#connectionField(value);
  }

  /**
   * The fast path for a field line that is whole in the current buffer and valid: one
   * pass over its bytes, compared with the {@linkcode FieldCache} slot as they are scanned.
   * Anything else (a line cut by the end of the buffer, an empty line, obs-fold, any
   * invalid byte, a limit) returns false without consuming anything, and the general path
   * reads the line again and reports the precise error.
   */
  #fastField(budget: number): boolean {
    const b = this.#cur;
    const n = b.length;
    const s = this.#pos;
    const cache = FIELDS;
    let i = s;
    let hash = 0;
    while (i < n) {
      const byte = b[i];
      if (TOKEN[byte] === 0) break;
      hash = (Math.imul(hash, 31) + byte) | 0;
      i++;
    }
    if (i === s || i >= n || b[i] !== 0x3a) return false;
    const slot = (Math.imul(hash, 0x9e3779b1) >>> 24) & cache.mask;
    const cachedName = cache.names[slot];
    const nameLength = cachedName.length;
    let nameHit = nameLength === i - s;
    if (nameHit) {
      const nameBytes = cache.nameBytes;
      const nameBase = slot * FIELD_NAME_MAX - s;
      for (let j = s; j < i; j++) {
        if (nameBytes[nameBase + j] !== b[j]) {
          nameHit = false;
          break;
        }
      }
    }
    const colon = i++;
    while (i < n && (b[i] === SP || b[i] === HTAB)) i++;
    const vs = i;
    // The value: compared with the last value seen with this name, then validated.
    let valueMatched = -1;
    if (nameHit) {
      const cachedValue = cache.values[slot];
      const valueLength = cachedValue.length;
      const valueBytes = cache.valueBytes;
      const valueBase = slot * FIELD_VALUE_MAX - vs;
      const valueEnd = vs + valueLength < n ? vs + valueLength : n;
      while (i < valueEnd && valueBytes[valueBase + i] === b[i]) i++;
      valueMatched = i - vs === valueLength ? valueLength : -1;
    }
    while (i < n && FIELD_VALUE[b[i]] === 1) i++;
    if (i + 1 >= n || b[i] !== CR || b[i + 1] !== LF) return false;
    const at = i + 1 - s; // offset of the LF in the line, as #readLine counts it
    if (at >= budget || this.#headers.length >= this.#limits.maxHeaders) return false;
    let ve = i;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    this.#pos = i + 2;
    this.#sectionBytes += at + 1;
    let name: string;
    let kind: number;
    if (nameHit) {
      name = cachedName;
      kind = cache.kinds[slot];
    } else {
      const key = nameKey(b, s, colon);
      name = NAMES.get(b, s, colon, key);
      kind = framingField(b, s, colon - s);
      if (colon - s <= FIELD_NAME_MAX) cache.setName(slot, name, b, s, colon, kind);
    }
    let value: string;
    if (valueMatched === ve - vs) {
      value = cache.values[slot];
    } else {
      value = VALUES.get(b, vs, ve, valueKey(nameKey(b, s, colon), b, vs, ve));
      if (cache.names[slot] === name) cache.setValue(slot, value, b, vs, ve);
    }
    this.#headers.push([name, value]);
    if (kind !== F_NONE) this.#framing(kind, b, vs, ve, value, this.#base + s);
    return true;
  }

  #parseObsFold(b: Uint8Array, s: number, e: number, at: number): void {
    const headers = this.#headers;
    if (headers.length === 0) this.#fail("Continuation line (obs-fold) before any header", at + s);
    let vs = s;
    while (vs < e && (b[vs] === SP || b[vs] === HTAB)) vs++;
    let ve = e;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    const last = headers[headers.length - 1];
    for (let i = vs; i < ve; i++) {
      if (FIELD_VALUE[b[i]] === 0) {
        this.#fail(this.#badByte(b[i], `the value of header ${quote(last[0])}`), at + i);
      }
    }
    if (vs < ve) last[1] = last[1] === "" ? latin1(b, vs, ve) : last[1] + " " + latin1(b, vs, ve);
    const lower = last[0].toLowerCase();
    if (
      this.#phase === P_HEADERS &&
      (lower === "content-length" || lower === "transfer-encoding" || lower === "connection")
    ) {
      this.#fail(`Continuation line (obs-fold) in header ${quote(last[0])}`, at + s);
    }
  }

  #contentLengthField(
    b: Uint8Array,
    start: number,
    end: number,
    value: string,
    offset: number,
  ): void {
    // Fast path: one plain number.
    let length = 0;
    let i = start;
    for (; i < end && i - start < 16; i++) {
      const digit = b[i] - 0x30;
      if (digit < 0 || digit > 9) break;
      length = length * 10 + digit;
    }
    if (i === end && i > start && length <= MAX_SAFE) {
      if (this.#contentLength !== -1 && this.#contentLength !== length) {
        this.#fail(`Conflicting Content-Length values ${quote(value)}`, offset);
      }
      this.#contentLength = length;
      return;
    }
    {
      let length = -1;
      for (const part of value.split(",")) {
        const digits = trimOws(part);
        if (!/^[0-9]{1,16}$/.test(digits)) {
          this.#fail(`Invalid Content-Length ${quote(value)}`, offset);
        }
        const parsed = Number(digits);
        if (parsed > MAX_SAFE) this.#fail(`Content-Length too large ${quote(value)}`, offset);
        if (length !== -1 && parsed !== length) {
          this.#fail(`Conflicting Content-Length values ${quote(value)}`, offset);
        }
        length = parsed;
      }
      if (this.#contentLength !== -1 && this.#contentLength !== length) {
        this.#fail(`Conflicting Content-Length values ${quote(value)}`, offset);
      }
      this.#contentLength = length;
    }
  }

  #transferEncodingField(value: string, offset: number): void {
    {
      const codings = this.#transferEncoding ??= [];
      this.#teOffset = offset;
      for (const part of value.split(",")) {
        const coding = trimOws(part).toLowerCase();
        if (coding === "") continue;
        if (codings.length > 0 && codings[codings.length - 1] === "chunked") {
          this.#fail(`Transfer coding after chunked ${quote(value)}`, offset);
        }
        codings.push(coding);
      }
    }
  }

  #connectionField(value: string): void {
    if (value === "keep-alive" || value === "Keep-Alive") return;
    for (const part of value.split(",")) {
      if (trimOws(part).toLowerCase() === "close") this.#close = true;
    }
  }

  /** The empty line after the fields: decides the framing and builds the event. */
  #finishHead(): ResponseEvent | null {
    const status = this.#status;
    const headers = this.#headers;
    if (status < 200 && status !== 101) {
      if (++this.#informational > this.#limits.maxInformationalResponses) {
        this.#fail(
          `More than maxInformationalResponses (${this.#limits.maxInformationalResponses}) ` +
            `informational responses`,
          this.#responseStart,
        );
      }
      const event: InformationalEvent = {
        type: "informational",
        status,
        reason: this.#reason,
        headers,
      };
      this.#beginHead();
      return event;
    }
    const http10 = this.#version === "HTTP/1.0";
    this.#keepAlive = !http10 && !this.#close;
    let bodyLength: number | null = 0;
    let chunked = false;
    const method = this.#method;
    if (status === 101 || (method === "CONNECT" && status >= 200 && status < 300)) {
      this.#phase = P_UPGRADE;
      this.#keepAlive = false;
    } else if (method === "HEAD" || status === 204 || status === 304) {
      this.#phase = P_NO_BODY;
    } else {
      const codings = this.#transferEncoding;
      if (codings !== null) {
        if (this.#contentLength !== -1) {
          this.#fail("Both Content-Length and Transfer-Encoding in a response", this.#teOffset);
        }
        if (http10) this.#fail("Transfer-Encoding in an HTTP/1.0 response", this.#teOffset);
      }
      if (codings !== null) {
        // Only chunked is understood: another coding would hand the caller bytes it cannot
        // read (and RFC 9112 lets a recipient refuse a coding it does not understand).
        if (codings.length !== 1 || codings[0] !== "chunked") {
          this.#fail(
            `Unsupported Transfer-Encoding ${quote(codings.join(", "))}`,
            this.#teOffset,
          );
        }
        chunked = true;
        bodyLength = null;
        this.#phase = P_CHUNK_SIZE;
      } else if (this.#contentLength !== -1) {
        bodyLength = this.#contentLength;
        this.#remaining = bodyLength;
        this.#phase = P_LENGTH;
      } else {
        bodyLength = null;
        this.#phase = P_CLOSE;
        this.#keepAlive = false;
      }
    }
    // The head's fields are handed out: trailers gather in a new array (`#parseChunkSize`).
    return {
      type: "head",
      version: this.#version,
      status,
      reason: this.#reason,
      headers,
      bodyLength,
      chunked,
    };
  }

  /**
   * `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` (RFC 9112 §7.1.1):
   * whitespace only before a `;`, and no extension without a name, as llhttp checks.
   */
  #checkChunkExtensions(b: Uint8Array, i: number, e: number, at: number): void {
    const s = this.#lineStart;
    let extension = false; // a ";" was seen
    const invalid = (where: number): never => {
      if (where < e && FIELD_VALUE[b[where]] === 0) {
        this.#fail(this.#badByte(b[where], "a chunk extension"), at + where);
      }
      const what = extension ? "chunk extension" : "chunk size";
      this.#fail(`Invalid ${what} ${quote(latin1(b, s, e))}`, at + where);
    };
    while (i < e) {
      while (i < e && isBws(b[i])) i++;
      if (i === e || b[i] !== 0x3b /* ; */) invalid(i);
      extension = true;
      i++;
      while (i < e && isBws(b[i])) i++;
      const name = i;
      while (i < e && TOKEN[b[i]] !== 0) i++;
      if (i === name) invalid(i);
      while (i < e && isBws(b[i])) i++;
      if (i < e && b[i] === 0x3d /* = */) {
        i++;
        while (i < e && isBws(b[i])) i++;
        if (i < e && b[i] === 0x22 /* " */) {
          for (i++; i < e && b[i] !== 0x22; i++) {
            if (b[i] === 0x5c /* backslash */) i++;
            if (i < e && FIELD_VALUE[b[i]] === 0) invalid(i);
          }
          if (i >= e) invalid(e);
          i++;
        } else {
          const value = i;
          while (i < e && TOKEN[b[i]] !== 0) i++;
          if (i === value) invalid(i);
        }
      }
    }
  }

  #parseChunkSize(): void {
    const b = this.#lineBuf;
    const s = this.#lineStart;
    const e = this.#lineEnd;
    const at = this.#lineOffset - s;
    let size = 0;
    let i = s;
    for (; i < e; i++) {
      const digit = HEX[b[i]];
      if (digit < 0) break;
      if (size > (MAX_SAFE - digit) / 16) {
        this.#fail(`Chunk size too large ${quote(latin1(b, s, e))}`, at + s);
      }
      size = size * 16 + digit;
    }
    if (i === s) this.#fail(`Invalid chunk size ${quote(latin1(b, s, e))}`, at + s);
    if (i < e) this.#checkChunkExtensions(b, i, e, at);
    if (size === 0) {
      this.#phase = P_TRAILERS;
      this.#sectionBytes = 0;
      this.#headers = [];
    } else {
      this.#remaining = size;
      this.#phase = P_CHUNK_DATA;
    }
  }
}

inspectAsRepr(ResponseParser);
