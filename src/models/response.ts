/**
 * `Response`: status, headers, extensions and a body that is read once.
 *
 * The body arrives as a {@linkcode BodySource} (raw bytes as sent). Reading with
 * {@linkcode Response.bytes}, {@linkcode Response.text}, {@linkcode Response.json},
 * {@linkcode Response.iterBytes} or {@linkcode Response.body} decodes the
 * `Content-Encoding` on the way; {@linkcode Response.iterRaw} does not. Nothing is decoded,
 * wrapped or allocated before the body is asked for.
 *
 * @module
 */

import { Headers, type HeadersInit } from "./headers.ts";
import { type BodySource, bytesSource, concatBytes, utf8 } from "./body.ts";
import type { Request } from "./request.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { reasonPhraseOf } from "./status.ts";
import { HTTPError, ResponseNotRead, StreamClosed, StreamConsumed } from "../errors.ts";
import { decodedSource, DEFAULT_MAX_DECOMPRESSED_SIZE, parseContentEncoding } from "../decoding.ts";
import { Cookies } from "../cookies.ts";
import { inspectAsRepr } from "../_inspect.ts";
import { hideCredentials } from "../_redact.ts";

/** Response extensions, as in httpcore (with camelCase names). */
export interface ResponseExtensions {
  /** `"HTTP/1.1"`, `"HTTP/1.0"`. */
  httpVersion?: string;
  /** The reason phrase the server sent. */
  reasonPhrase?: string;
  /** The raw stream after a `101` or a `2xx` to `CONNECT`. */
  networkStream?: NetworkStreamInterface;
  /**
   * How many attempts the client's retries made (1: the first succeeded or was not
   * retried); set when a retry policy applied.
   */
  attempts?: number;
  /** Any other extension a transport sets. */
  [key: string]: unknown;
}

/**
 * `raiseForStatus()` found a 4xx or 5xx status. Carries the request and the response.
 *
 * @example
 * ```ts
 * import { HTTPStatusError } from "@ferry/ferry";
 * function explain(error: unknown) {
 *   if (error instanceof HTTPStatusError) console.log(error.response.status);
 * }
 * ```
 */
export class HTTPStatusError extends HTTPError {
  /** The response whose status was an error. */
  readonly response: Response;

  /** Creates the error for a response (and its request). */
  constructor(message: string, options: { request: Request | null; response: Response }) {
    super(message, { request: options.request });
    this.response = options.response;
  }

  /** The request whose response had an error status, or `null` when it is not known. */
  override get request(): Request | null {
    return super.request as Request | null;
  }

  /** Attaches the request once a higher layer knows it. */
  override set request(request: Request | null) {
    super.request = request;
  }
}

/**
 * How to decode text when the `Content-Type` names no charset: an encoding label that
 * `TextDecoder` knows, or a function that guesses one from the body.
 */
export type DefaultEncoding = string | ((body: Uint8Array) => string);

/** Options of a {@linkcode Response}. */
export interface ResponseInit {
  /** Headers, in wire order. */
  headers?: HeadersInit | null;
  /**
   * The body as sent (still `Content-Encoding`-encoded when that header is set): bytes,
   * text, or a source to pull it from.
   */
  content?: Uint8Array | string | BodySource | null;
  /** Extensions from the transport. */
  extensions?: ResponseExtensions;
  /** The request this answers. */
  request?: Request | null;
  /** The redirect responses that led here, oldest first. */
  history?: Response[];
  /** The text encoding used when the `Content-Type` names none (default `"utf-8"`). */
  defaultEncoding?: DefaultEncoding;
  /**
   * Limit on the decoded size of a compressed body, in bytes; `null` for none. Default
   * 256 MiB.
   */
  maxDecompressedSize?: number | null;
}

/** Internal: the client stamps the time the request was sent, for `elapsed`. */
export const STARTED_AT: unique symbol = Symbol("ferry.startedAt");

/**
 * Internal: wraps the raw body source before anything is read (the client's download
 * progress, src/progress.ts): `response[WRAP_SOURCE]((source) => wrapped)`.
 */
export const WRAP_SOURCE: unique symbol = Symbol("ferry.wrapSource");

/**
 * Internal: `response[TAKE_WHOLE]()` takes the whole body when it is already in memory, needs
 * no decoding and nothing of it was read (a response that came whole with its head), as
 * `bytes()` would take it: the caller then closes the response. `null` (and nothing changed)
 * otherwise. The fetch adapter (src/client_fetch.ts) hands such a body to the runtime's
 * `Response` as bytes instead of wrapping it in a stream.
 */
export const TAKE_WHOLE: unique symbol = Symbol("ferry.takeWhole");

/**
 * Internal: `response[SETTLE_WHOLE]()` marks a body given in memory that needs no decoding
 * as read and closed at once, as `bytes()` would, without a promise; `false` (and nothing
 * changed) otherwise. The client calls it on a response its transport read whole.
 */
export const SETTLE_WHOLE: unique symbol = Symbol("ferry.settleWhole");

const now: () => number = typeof performance !== "undefined"
  ? () => performance.now()
  : () => Date.now();

/** The `charset` parameter of a `Content-Type` value, or `null`. */
function charsetOf(contentType: string | null): string | null {
  if (contentType === null) return null;
  const match = /;\s*charset\s*=\s*("?)([^";,\s]+)\1/i.exec(contentType);
  return match ? match[2] : null;
}

function checkChunkSize(size: number): void {
  if (!(size >= 1) || !Number.isInteger(size)) {
    throw new RangeError(`Invalid chunkSize "${size}": expected a whole number of at least 1`);
  }
}

/** Re-cuts a stream of chunks into chunks of `size` bytes (the last one may be shorter). */
async function* rechunk(
  chunks: AsyncGenerator<Uint8Array, void, undefined>,
  size: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  let buffer = new Uint8Array(size);
  let filled = 0;
  try {
    for await (let chunk of chunks) {
      while (chunk.length > 0) {
        if (filled === 0 && chunk.length >= size) {
          yield chunk.subarray(0, size);
          chunk = chunk.subarray(size);
          continue;
        }
        const take = Math.min(size - filled, chunk.length);
        buffer.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === size) {
          yield buffer;
          buffer = new Uint8Array(size);
          filled = 0;
        }
      }
    }
    if (filled > 0) yield buffer.subarray(0, filled);
  } finally {
    await chunks.return(undefined);
  }
}

function copyChunk(chunk: Uint8Array | null): Uint8Array | null {
  return chunk === null ? null : chunk.slice();
}

/**
 * JSON text from bytes whose encoding nothing declared, as Python's `json.loads` reads
 * bytes: a BOM (UTF-32, UTF-16, UTF-8), else RFC 4627's zero-byte patterns of the first
 * two characters (`00 00 00 xx` UTF-32BE, `00 xx` UTF-16BE, `xx 00 00 00` UTF-32LE,
 * `xx 00` UTF-16LE), else UTF-8.
 */
export function decodeJsonBytes(b: Uint8Array): string {
  const n = b.length;
  if (n >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) {
    return utf32(b.subarray(4), false);
  }
  if (n >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) {
    return utf32(b.subarray(4), true);
  }
  if (n >= 2 && b[0] === 0xfe && b[1] === 0xff) return new TextDecoder("utf-16be").decode(b);
  if (n >= 2 && b[0] === 0xff && b[1] === 0xfe) return new TextDecoder("utf-16le").decode(b);
  if (n >= 4) {
    if (b[0] === 0) return b[1] !== 0 ? new TextDecoder("utf-16be").decode(b) : utf32(b, false);
    if (b[1] === 0) {
      return b[2] !== 0 || b[3] !== 0 ? new TextDecoder("utf-16le").decode(b) : utf32(b, true);
    }
  } else if (n === 2) {
    if (b[0] === 0) return new TextDecoder("utf-16be").decode(b);
    if (b[1] === 0) return new TextDecoder("utf-16le").decode(b);
  }
  return new TextDecoder().decode(b); // drops a UTF-8 BOM
}

/** UTF-32 (which `TextDecoder` does not offer); a bad code point becomes U+FFFD. */
function utf32(b: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let text = "";
  const end = b.length - (b.length % 4);
  for (let i = 0; i < end; i += 4) {
    const code = view.getUint32(i, littleEndian);
    text += code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
      ? String.fromCodePoint(code)
      : "\ufffd";
  }
  if (end < b.length) text += "\ufffd";
  return text;
}

function decoderFor(label: string): TextDecoder | null {
  try {
    return new TextDecoder(label);
  } catch {
    return null;
  }
}

/**
 * An HTTP response. Its body is read once, with {@linkcode Response.bytes},
 * {@linkcode Response.text}, {@linkcode Response.json} or by iterating.
 *
 * @example Read a response
 * ```ts
 * import { Response } from "@ferry/ferry";
 * const response = new Response(200, { content: '{"ok":true}' });
 * console.log(String(response)); // <Response [200 OK]>
 * console.log(await response.json()); // { ok: true }
 * ```
 */
export class Response {
  /** The status code. */
  readonly status: number;
  /** The headers, in wire order. */
  headers: Headers;
  /** Extensions from the transport. */
  extensions: ResponseExtensions;
  /** The request this answers, when known. */
  request: Request | null;
  #history: Response[] | null;
  #elapsed: number | null = null;
  /**
   * The request a redirect response points to, set by the client when it did not follow
   * it; `null` otherwise.
   */
  nextRequest: Request | null = null;
  /** The text encoding used when the `Content-Type` names none. */
  defaultEncoding: DefaultEncoding;
  /** Limit on the decoded size of a compressed body, in bytes (`null`: none). */
  maxDecompressedSize: number | null;
  /** Internal: when the request was sent (`performance.now()`), for `elapsed`. */
  [STARTED_AT]: number | null = null;
  #raw: BodySource;
  #decoded: BodySource | null = null;
  #content: Uint8Array | null = null;
  #consumed = false;
  #closed = false;
  #downloaded = 0;
  #stream: ReadableStream<Uint8Array> | null = null;
  #encoding: string | null = null;
  /** The body was given as bytes: its source holds nothing to release. */
  #inMemory = false;

  /** Creates a response with `status`. */
  constructor(status: number, init: ResponseInit = {}) {
    this.status = status;
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.extensions = init.extensions ?? {};
    this.request = init.request ?? null;
    this.#history = init.history ?? null;
    this.defaultEncoding = init.defaultEncoding ?? "utf-8";
    this.maxDecompressedSize = init.maxDecompressedSize === undefined
      ? DEFAULT_MAX_DECOMPRESSED_SIZE
      : init.maxDecompressedSize;
    const content = init.content ?? null;
    let bytes: Uint8Array | null = null;
    if (content === null) bytes = new Uint8Array(0);
    else if (typeof content === "string") bytes = utf8(content);
    else if (content instanceof Uint8Array) bytes = content;
    if (bytes === null) {
      this.#raw = content as BodySource;
    } else {
      this.#raw = bytesSource(bytes);
      this.#inMemory = true;
      // In-memory bodies without a coding are already what the reader gets.
      if (!this.headers.has("content-encoding")) {
        this.#content = bytes;
        this.#downloaded = bytes.length;
      }
    }
  }

  /** The redirect responses that led here, oldest first (empty without redirects). */
  get history(): Response[] {
    // Made on first read: most responses are never asked.
    return this.#history ??= [];
  }

  set history(history: Response[]) {
    this.#history = history;
  }

  /** The reason phrase the server sent, else the standard one. */
  get reasonPhrase(): string {
    return this.extensions.reasonPhrase ?? reasonPhraseOf(this.status);
  }

  /** The HTTP version, `"HTTP/1.1"` unless the transport said otherwise. */
  get httpVersion(): string {
    return this.extensions.httpVersion ?? "HTTP/1.1";
  }

  /**
   * Milliseconds from sending the request until the response was closed (until now, while
   * the body is still open); `0` when the client did not send it.
   */
  get elapsed(): number {
    if (this.#elapsed !== null) return this.#elapsed;
    const started = this[STARTED_AT];
    return started === null ? 0 : now() - started;
  }

  /** Sets the elapsed time (for transports and tests). */
  set elapsed(ms: number) {
    this.#elapsed = ms;
  }

  /** The URL of the request this answers, when known. */
  get url(): URL | null {
    return this.request?.url ?? null;
  }

  /** `1xx` */
  get isInformational(): boolean {
    return this.status >= 100 && this.status < 200;
  }

  /** `2xx` */
  get isSuccess(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** `2xx`: the name `fetch`'s `Response` uses for {@linkcode Response.isSuccess}. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** `3xx` */
  get isRedirect(): boolean {
    return this.status >= 300 && this.status < 400;
  }

  /** `4xx` */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }

  /** `5xx` */
  get isServerError(): boolean {
    return this.status >= 500 && this.status < 600;
  }

  /** `4xx` or `5xx` */
  get isError(): boolean {
    return this.status >= 400 && this.status < 600;
  }

  /** A redirect status that a client can follow: 301, 302, 303, 307 or 308 with a `Location`. */
  get hasRedirectLocation(): boolean {
    const status = this.status;
    return (status === 301 || status === 302 || status === 303 || status === 307 ||
      status === 308) && this.headers.has("location");
  }

  /**
   * The text encoding: the `Content-Type` charset when the runtime knows it, else
   * {@linkcode Response.defaultEncoding} (a function is given the body, so read it first).
   */
  get encoding(): string {
    if (this.#encoding !== null) return this.#encoding;
    const charset = charsetOf(this.headers.get("content-type"));
    if (charset !== null && decoderFor(charset) !== null) return charset;
    const fallback = this.defaultEncoding;
    if (typeof fallback === "string") return fallback;
    return fallback(this.#content ?? new Uint8Array(0));
  }

  /**
   * Sets the encoding that {@linkcode Response.text}, {@linkcode Response.iterText} and
   * {@linkcode Response.json} use, whatever the `Content-Type` says (as httpx's
   * `response.encoding = ...`). A label the runtime's `TextDecoder` does not know is a
   * `RangeError`.
   *
   * @example
   * ```ts
   * import { Response } from "@ferry/ferry";
   * const response = new Response(200, { content: new Uint8Array([0x63, 0x61, 0x66, 0xe9]) });
   * response.encoding = "latin1";
   * console.log(await response.text()); // "café"
   * ```
   */
  set encoding(label: string) {
    if (decoderFor(label) === null) {
      throw new RangeError(
        `Unknown encoding ${JSON.stringify(label)}: expected a label TextDecoder knows`,
      );
    }
    this.#encoding = label;
  }

  /** Whether the body was read to the end and is kept in memory. */
  get isRead(): boolean {
    return this.#content !== null && this.#consumed;
  }

  /** Whether the body's source was closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether reading the body has started (by any means). */
  get isStreamConsumed(): boolean {
    return this.#consumed;
  }

  /** Raw (still encoded) bytes received so far: for progress bars. */
  get numBytesDownloaded(): number {
    return this.#downloaded;
  }

  /** The body once read; before that, throws {@linkcode ResponseNotRead}. */
  get content(): Uint8Array {
    if (this.#content === null) throw new ResponseNotRead();
    return this.#content;
  }

  /**
   * Throws {@linkcode HTTPStatusError} unless the status is 2xx; returns the response
   * otherwise, so calls chain.
   *
   * @example
   * ```ts
   * import { HTTPStatusError, Response } from "@ferry/ferry";
   * try {
   *   new Response(404).raiseForStatus();
   * } catch (error) {
   *   if (error instanceof HTTPStatusError) console.log(error.response.status); // 404
   * }
   * ```
   */
  raiseForStatus(): this {
    if (this.isSuccess) return this;
    const kind = this.isInformational
      ? "Informational response"
      : this.isRedirect
      ? "Redirect response"
      : this.isClientError
      ? "Client error"
      : this.isServerError
      ? "Server error"
      : "Invalid status code";
    // httpx's wording, quotes included; the URL without credentials.
    const url = this.url;
    const where = url === null ? "" : ` for url '${hideCredentials(url)}'`;
    let message = `${kind} '${this.status} ${this.reasonPhrase}'${where}\n`;
    if (this.hasRedirectLocation) {
      message += `Redirect location: '${this.headers.get("location")}'\n`;
    }
    message +=
      `For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/${this.status}`;
    throw new HTTPStatusError(message, { request: this.request, response: this });
  }

  /** Errors of reading the body name the request (lower layers may not know it). */
  #withRequest(error: unknown): unknown {
    if (error instanceof HTTPError && error.request === null) error.request = this.request;
    return error;
  }

  /** Internal: see {@linkcode WRAP_SOURCE}. Throws once reading has started. */
  [WRAP_SOURCE](wrap: (source: BodySource) => BodySource): void {
    if (this.#consumed) throw new StreamConsumed();
    this.#raw = wrap(this.#raw);
    this.#inMemory = false;
    // An in-memory body is read through the wrapper too.
    this.#content = null;
    this.#downloaded = 0;
  }

  /** Internal: see {@linkcode SETTLE_WHOLE}. */
  [SETTLE_WHOLE](): boolean {
    if (this.#content === null || !this.#inMemory || this.#consumed || this.#closed) return false;
    this.#consumed = true;
    this.#closed = true;
    const started = this[STARTED_AT];
    if (started !== null && this.#elapsed === null) this.#elapsed = now() - started;
    return true;
  }

  /** Internal: see {@linkcode TAKE_WHOLE}. */
  [TAKE_WHOLE](): Uint8Array | null {
    if (this.#content !== null || this.#consumed || this.#closed) return null;
    const raw = this.#raw;
    if (raw.takeWhole === undefined || this.headers.has("content-encoding")) return null;
    const whole = raw.takeWhole();
    if (whole === null) return null;
    this.#consumed = true;
    this.#downloaded = whole.length;
    this.#content = whole;
    return whole;
  }

  async #rawRead(): Promise<Uint8Array | null> {
    const chunk = await this.#raw.read();
    if (chunk !== null) this.#downloaded += chunk.length;
    return chunk;
  }

  #source(): BodySource {
    if (this.#decoded !== null) return this.#decoded;
    const codings = parseContentEncoding(this.headers.get("content-encoding"));
    const borrowed = this.#raw.borrowed === true;
    // Decoders may hold input chunks across reads: borrowed chunks are copied for them.
    const counting: BodySource = borrowed && codings.length > 0
      ? { read: () => this.#rawRead().then(copyChunk), close: () => this.#raw.close() }
      : { read: () => this.#rawRead(), close: () => this.#raw.close(), borrowed };
    this.#decoded = codings.length === 0
      ? counting
      : decodedSource(counting, codings, this.maxDecompressedSize);
    return this.#decoded;
  }

  /** Reads the whole body (once, decoded) and returns it; later calls return the same bytes. */
  async bytes(): Promise<Uint8Array> {
    if (this.#content !== null) {
      if (!this.#consumed) {
        this.#consumed = true;
        await this.close();
      }
      return this.#content;
    }
    if (this.#consumed) throw new StreamConsumed();
    if (this.#closed) throw new StreamClosed();
    // A body that came whole (and needs no decoding) is handed over without the loop.
    const whole = this[TAKE_WHOLE]();
    if (whole !== null) {
      await this.close();
      return whole;
    }
    this.#consumed = true;
    const source = this.#source();
    const borrowed = source.borrowed === true;
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
        chunks.push(borrowed ? chunk.slice() : chunk);
        total += chunk.length;
      }
    } catch (error) {
      throw this.#withRequest(error);
    } finally {
      await this.close();
    }
    this.#content = chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks, total);
    return this.#content;
  }

  /** Same as {@linkcode Response.bytes}: reads the whole body. */
  read(): Promise<Uint8Array> {
    return this.bytes();
  }

  /** Reads the body and decodes it with {@linkcode Response.encoding}. */
  async text(): Promise<string> {
    const bytes = await this.bytes();
    return (decoderFor(this.encoding) ?? new TextDecoder()).decode(bytes);
  }

  /**
   * Reads the body and parses it as JSON. Without a charset in the `Content-Type` (or a
   * set {@linkcode Response.encoding}), the encoding is detected as httpx (and Python's
   * `json`) do: a byte order mark, else the pattern of zero bytes that UTF-16 and UTF-32
   * give the first two characters (RFC 4627), else UTF-8. A body that is not JSON is a
   * `SyntaxError` that names the response and its request.
   */
  async json<T = unknown>(): Promise<T> {
    const bytes = await this.bytes();
    const declared = this.#encoding ?? charsetOf(this.headers.get("content-type"));
    const text = declared !== null && decoderFor(declared) !== null
      ? decoderFor(declared)!.decode(bytes)
      : decodeJsonBytes(bytes);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      const request = this.request;
      const from = request === null ? "" : ` (${request.method} ${hideCredentials(request.url)})`;
      throw new SyntaxError(
        `Invalid JSON in the body of ${this}${from}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Yields the decoded body chunk by chunk as it arrives, or in chunks of exactly
   * `chunkSize` bytes (the last one shorter) when given.
   *
   * With the request extension `borrowBodyChunks`, each chunk is a view into a buffer
   * that the connection reuses: it is valid only until the next iteration. Copy
   * (`chunk.slice()`) what you keep.
   */
  iterBytes(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
    if (chunkSize === undefined) return this.#iterBytes();
    checkChunkSize(chunkSize);
    return rechunk(this.#iterBytes(), chunkSize);
  }

  async *#iterBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#content !== null) {
      this.#consumed = true;
      if (this.#content.length > 0) yield this.#content;
      await this.close();
      return;
    }
    if (this.#consumed) throw new StreamConsumed();
    if (this.#closed) throw new StreamClosed();
    this.#consumed = true;
    const source = this.#source();
    try {
      for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
        yield chunk;
      }
    } catch (error) {
      throw this.#withRequest(error);
    } finally {
      await this.close();
    }
  }

  /**
   * Yields the body as sent, without `Content-Encoding` decoding, optionally in chunks of
   * `chunkSize` bytes. With `borrowBodyChunks`, each chunk is valid only until the next
   * iteration, as with {@linkcode Response.iterBytes}.
   */
  iterRaw(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
    if (chunkSize === undefined) return this.#iterRaw();
    checkChunkSize(chunkSize);
    return rechunk(this.#iterRaw(), chunkSize);
  }

  async *#iterRaw(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#consumed) {
      if (this.#content !== null && this.#decoded === null) {
        if (this.#content.length > 0) yield this.#content;
        return;
      }
      throw new StreamConsumed();
    }
    if (this.#closed) throw new StreamClosed();
    this.#consumed = true;
    try {
      for (let chunk = await this.#rawRead(); chunk !== null; chunk = await this.#rawRead()) {
        yield chunk;
      }
    } catch (error) {
      throw this.#withRequest(error);
    } finally {
      await this.close();
    }
  }

  /** Yields the body as text, decoded with {@linkcode Response.encoding}. */
  async *iterText(): AsyncGenerator<string, void, undefined> {
    const decoder = decoderFor(this.#textEncodingWithoutBody()) ?? new TextDecoder();
    for await (const chunk of this.iterBytes()) {
      const text = decoder.decode(chunk, { stream: true });
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  }

  /**
   * The cookies this response sets (its `Set-Cookie` headers, as received from its
   * request's URL), as a new jar.
   */
  get cookies(): Cookies {
    const jar = new Cookies();
    jar.extract(this);
    return jar;
  }

  /**
   * The `Link` header parsed (RFC 8288), keyed by `rel` (else by URL): each entry has the
   * `url` and the other parameters.
   */
  get links(): Record<string, Record<string, string>> {
    const links: Record<string, Record<string, string>> = {};
    const header = this.headers.get("link");
    if (header === null) return links;
    for (const match of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
      const link: Record<string, string> = { url: match[1] };
      for (const param of match[2].split(";")) {
        const eq = param.indexOf("=");
        if (eq === -1) continue;
        link[param.slice(0, eq).trim().toLowerCase()] = param.slice(eq + 1).trim().replace(
          /^"(.*)"$/,
          "$1",
        );
      }
      links[link.rel ?? link.url] = link;
    }
    return links;
  }

  /** Yields the body line by line (without the `\n`, `\r\n` or `\r` ending). */
  async *iterLines(): AsyncGenerator<string, void, undefined> {
    let pending = "";
    for await (const text of this.iterText()) {
      pending += text;
      let start = 0;
      for (let i = 0; i < pending.length; i++) {
        const char = pending.charCodeAt(i);
        if (char === 10 /* \n */) {
          yield pending.slice(start, i);
          start = i + 1;
        } else if (char === 13 /* \r */) {
          if (i + 1 === pending.length) break; // maybe \r\n split across chunks
          yield pending.slice(start, i);
          if (pending.charCodeAt(i + 1) === 10) i++;
          start = i + 1;
        }
      }
      pending = pending.slice(start);
    }
    // A final "\r" ends a line (it was held back in case "\n" followed).
    if (pending.endsWith("\r")) yield pending.slice(0, -1);
    else if (pending) yield pending;
  }

  /** The decoded body as a web `ReadableStream` (made on first use). */
  get body(): ReadableStream<Uint8Array> {
    if (this.#stream !== null) return this.#stream;
    const iterator = this.iterBytes();
    // A stream's reader may keep chunks (it owns what it reads): borrowed ones are copied.
    const borrowed = this.#raw.borrowed === true;
    this.#stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(borrowed ? next.value.slice() : next.value);
      },
      async cancel() {
        await iterator.return(undefined);
      },
    }, { highWaterMark: 0 });
    return this.#stream;
  }

  #textEncodingWithoutBody(): string {
    if (this.#encoding !== null) return this.#encoding;
    const charset = charsetOf(this.headers.get("content-type"));
    if (charset !== null && decoderFor(charset) !== null) return charset;
    return typeof this.defaultEncoding === "string" ? this.defaultEncoding : "utf-8";
  }

  /** Releases the body's source (and with it the connection). Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const started = this[STARTED_AT];
    if (started !== null && this.#elapsed === null) this.#elapsed = now() - started;
    await (this.#decoded ?? this.#raw).close();
  }

  /** Closes the response when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<Response [200 OK]>` */
  toString(): string {
    const reason = this.reasonPhrase;
    return `<Response [${this.status}${reason ? ` ${reason}` : ""}]>`;
  }
}

inspectAsRepr(Response);
