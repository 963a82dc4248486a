/**
 * The HTTP/1.1 request writer: serialises a request head and frames its body. Sans-IO:
 * it returns bytes (and an async iterable of framed body bytes) for the caller to write.
 *
 * - The head keeps the caller's header order and case; `Host` is not added (the caller
 *   puts it first), and a second `Host` is refused, as h11 does.
 * - A body given as bytes or a string is appended to the head, so that a small request is
 *   one write. Its `Content-Length` is added when the caller gave neither
 *   `Content-Length` nor `Transfer-Encoding`.
 * - A body of unknown size (a `ReadableStream`, an async or sync iterable of chunks) is
 *   sent with `Transfer-Encoding: chunked`, unless the caller gave a `Content-Length`, in
 *   which case the bytes are sent as they are and their count is checked.
 * - No body on `POST`, `PUT` or `PATCH` sends `Content-Length: 0`.
 * - Everything is validated before anything is produced: the method must be a token, the
 *   target printable ASCII without spaces, header names tokens, header values free of
 *   control characters other than HTAB (CR, LF, NUL, `\x01`-`\x1f`, DEL, as undici and
 *   h11 refuse them) and of characters above U+00FF. A violation throws
 *   {@linkcode LocalProtocolError}.
 *
 * @module
 */

import { LocalProtocolError, StreamConsumed } from "../errors.ts";
import type { RequestContent } from "../models/body.ts";
import { quote, TOKEN, trimOws } from "./_bytes.ts";

/** A serialised request: the bytes to write first, then the rest of the body, if any. */
export interface SerializedRequest {
  /**
   * Request line, headers and the blank line, plus the whole body when it was bytes or a
   * string. A small head may be a view into a buffer shared with other heads: write it,
   * keep it, but do not transfer or detach its `buffer`.
   */
  head: Uint8Array;
  /** The rest of the body, already framed (chunked encoding applied), or `null`. */
  body: AsyncIterable<Uint8Array> | null;
}

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const encoder = new TextEncoder();
const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([0x30, 13, 10, 13, 10]);

/**
 * Serialises a request for HTTP/1.1. See the module documentation for the framing rules.
 *
 * @example A POST with a string body: one buffer to write
 * ```ts
 * import { serializeRequest } from "@ferry/ferry/http11";
 * const { head, body } = serializeRequest("POST", "/items", [["Host", "example.com"]], "hi");
 * console.log(new TextDecoder().decode(head));
 * // "POST /items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\nhi"
 * console.log(body); // null
 * ```
 */
export function serializeRequest(
  method: string,
  target: string,
  headers: Iterable<readonly [string, string]>,
  content: RequestContent | null,
): SerializedRequest {
  // Pass 1, over the pairs only: framing fields and the size of the head. Every string is
  // written one byte per char (pass 2 refuses any char above U+00FF), so sizes are lengths.
  const pairs: readonly (readonly [string, string])[] = Array.isArray(headers)
    ? headers
    : [...headers];
  let size = method.length + target.length + 12; // "M T HTTP/1.1\r\n"
  let givenLength: number | null = null;
  let givenChunked = false;
  let givenTransferEncoding = false;
  let hosts = 0;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    const name = pair[0];
    const value = pair[1];
    if (typeof name !== "string" || typeof value !== "string") {
      throw new LocalProtocolError(`Invalid header ${quote(String(name))}: not a string`);
    }
    size += name.length + value.length + 4;
    const length = name.length;
    if (length === 4 && name.toLowerCase() === "host" && ++hosts > 1) {
      throw new LocalProtocolError(`More than one Host header: ${quote(value)}`);
    } else if (length === 14 && name.toLowerCase() === "content-length") {
      const trimmed = trimOws(value);
      if (!/^[0-9]{1,16}$/.test(trimmed) || Number(trimmed) > Number.MAX_SAFE_INTEGER) {
        throw new LocalProtocolError(`Invalid Content-Length ${quote(value)}`);
      }
      if (givenLength !== null && givenLength !== Number(trimmed)) {
        throw new LocalProtocolError(`Conflicting Content-Length values ${quote(value)}`);
      }
      givenLength = Number(trimmed);
    } else if (length === 17 && name.toLowerCase() === "transfer-encoding") {
      givenTransferEncoding = true;
      const codings = value.split(",").map((part) => trimOws(part).toLowerCase()).filter(Boolean);
      givenChunked = codings[codings.length - 1] === "chunked";
    }
  }
  if (givenLength !== null && givenTransferEncoding) {
    throw new LocalProtocolError("Both Content-Length and Transfer-Encoding were given");
  }
  if (givenTransferEncoding && !givenChunked) {
    throw new LocalProtocolError("Transfer-Encoding was given without chunked as final coding");
  }

  if (typeof content === "string") content = encoder.encode(content);
  if (content instanceof Uint8Array && content.length === 0 && !givenChunked) content = null;

  // What the writer adds: one framing field, and what follows the head in the same buffer.
  let extra = "";
  let body: AsyncIterable<Uint8Array> | null = null;
  let tail: Uint8Array[] = [];
  if (content === null) {
    if (givenChunked) tail = [LAST_CHUNK];
    else if (givenLength !== null && givenLength !== 0) {
      throw new LocalProtocolError(
        `Content-Length ${quote(String(givenLength))} was given without a body`,
      );
    } else if (givenLength === null && METHODS_WITH_BODY.has(method)) {
      extra = "Content-Length: 0\r\n";
    }
  } else if (content instanceof Uint8Array) {
    if (givenChunked) {
      tail = [latin1Bytes(content.length.toString(16) + "\r\n"), content, CRLF, LAST_CHUNK];
    } else {
      if (givenLength !== null && givenLength !== content.length) {
        throw new LocalProtocolError(
          `Content-Length ${
            quote(String(givenLength))
          } does not match the body of ${content.length} bytes`,
        );
      }
      if (givenLength === null) extra = "Content-Length: " + content.length + "\r\n";
      tail = [content];
    }
  } else {
    const chunks = chunksOf(content);
    if (givenLength !== null) body = counted(chunks, givenLength);
    else {
      if (!givenChunked) extra = "Transfer-Encoding: chunked\r\n";
      body = chunkedFraming(chunks);
    }
  }

  // Pass 2: write the head, refusing bad chars as they are copied. The buffer is only
  // returned once everything was checked, so an error produces nothing.
  size += extra.length + 2;
  let tailSize = 0;
  for (const part of tail) tailSize += part.length;
  const out = allocate(size + tailSize);
  let at = writeToken(out, 0, method, "method");
  out[at++] = SP;
  at = writeTarget(out, at, target);
  at = writeAscii(out, at, " HTTP/1.1\r\n");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    at = writeToken(out, at, pair[0], "header name");
    out[at++] = 0x3a;
    out[at++] = SP;
    at = writeValue(out, at, pair[1], pair[0]);
    out[at++] = CR;
    out[at++] = LF;
  }
  at = writeAscii(out, at, extra);
  out[at++] = CR;
  out[at++] = LF;
  for (const part of tail) {
    out.set(part, at);
    at += part.length;
  }
  return { head: out, body };
}

/**
 * The request target of `url` in one of the forms of RFC 9112 §3.2: `"origin"` (default,
 * `/path?query`), `"absolute"` (the whole URL without fragment, for forward proxies),
 * `"authority"` (`host:port`, for `CONNECT`). The asterisk form is the string `"*"`.
 *
 * @example
 * ```ts
 * import { requestTarget } from "@ferry/ferry/http11";
 * const url = new URL("http://example.com:8080/a b?q=1#top");
 * console.log(requestTarget(url)); // "/a%20b?q=1"
 * console.log(requestTarget(url, "absolute")); // "http://example.com:8080/a%20b?q=1"
 * console.log(requestTarget(url, "authority")); // "example.com:8080"
 * ```
 */
export function requestTarget(
  url: URL,
  form: "origin" | "absolute" | "authority" = "origin",
): string {
  if (form === "authority") {
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return `${url.hostname}:${port}`;
  }
  const path = (url.pathname || "/") + url.search;
  if (form === "absolute") return `${url.protocol}//${url.host}${path}`;
  return path;
}

// Small heads are cut from a shared slab: a fresh Uint8Array of more than 64 bytes gets
// its own off-heap store, which costs more than writing the whole head. Regions are handed
// out once and never reused, so a head stays valid for as long as it is referenced.
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX = 4096;
let slab = new Uint8Array(0);
let slabUsed = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_MAX) return new Uint8Array(size);
  if (slabUsed + size > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return out;
}

const SP = 0x20;
const HTAB = 0x09;
const DEL = 0x7f;
const CR = 13;
const LF = 10;

/** Writes a token (method or header name), refusing anything that is not a tchar. */
function writeToken(out: Uint8Array, at: number, text: string, what: string): number {
  const length = text.length;
  if (length === 0) throw new LocalProtocolError(`Invalid ${what} ""`);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff || TOKEN[code] === 0) {
      throw new LocalProtocolError(`Invalid ${what} ${quote(text)}`);
    }
    out[at++] = code;
  }
  return at;
}

/** Writes a request target: printable ASCII, no spaces (any form of RFC 9112 §3.2). */
function writeTarget(out: Uint8Array, at: number, target: string): number {
  const length = target.length;
  if (length === 0) throw new LocalProtocolError('Invalid request target ""');
  for (let i = 0; i < length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) {
      throw new LocalProtocolError(`Invalid request target ${quote(target)}`);
    }
    out[at++] = code;
  }
  return at;
}

/**
 * Writes a field value: no control character but HTAB, nothing above U+00FF (one byte per
 * char; obs-text 0x80-0xFF passes).
 */
function writeValue(out: Uint8Array, at: number, value: string, name: string): number {
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if ((code < SP && code !== HTAB) || code === DEL || code > 0xff) {
      throw new LocalProtocolError(`Invalid value of header ${quote(name)}: ${quote(value)}`);
    }
    out[at++] = code;
  }
  return at;
}

/** Writes a string the writer itself made (ASCII). */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** Encodes a string whose chars are all ≤ U+00FF as one byte each. */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== "undefined" && value instanceof ReadableStream;
}

/**
 * The chunks of a streamed request body, read lazily and checked (strings are encoded, other
 * values refused with a `LocalProtocolError`; a locked stream is `StreamConsumed`). Shared by
 * the HTTP/1.1 writer and the HTTP/2 request head.
 */
export async function* chunksOf(
  content: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  if (isReadableStream(content)) {
    if (content.locked) {
      throw new StreamConsumed("The request body stream is locked: it is being read elsewhere");
    }
    const reader = content.getReader();
    let done = false;
    try {
      while (true) {
        const result = await reader.read();
        if (result.done) {
          done = true;
          return;
        }
        yield checkChunk(result.value);
      }
    } finally {
      if (!done) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
  if (Symbol.asyncIterator in content) {
    for await (const chunk of content as AsyncIterable<Uint8Array>) yield checkChunk(chunk);
    return;
  }
  for (const chunk of content as Iterable<Uint8Array>) yield checkChunk(chunk);
}

function checkChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return encoder.encode(chunk);
  throw new LocalProtocolError(
    `Request body chunks must be Uint8Array, got ${quote(Object.prototype.toString.call(chunk))}`,
  );
}

async function* chunkedFraming(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue; // an empty chunk would end the body
    const size = chunk.length.toString(16);
    const out = new Uint8Array(size.length + 2 + chunk.length + 2);
    for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
    out[size.length] = 13;
    out[size.length + 1] = 10;
    out.set(chunk, size.length + 2);
    out[out.length - 2] = 13;
    out[out.length - 1] = 10;
    yield out;
  }
  yield LAST_CHUNK.slice();
}

/**
 * Passes `chunks` through, refusing a body longer or shorter than its declared
 * `Content-Length` with a `LocalProtocolError`.
 */
export async function* counted(
  chunks: AsyncIterable<Uint8Array>,
  expected: number,
): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of chunks) {
    sent += chunk.length;
    if (sent > expected) {
      throw new LocalProtocolError(
        `Request body is longer than its Content-Length ${quote(String(expected))}`,
      );
    }
    if (chunk.length > 0) yield chunk;
  }
  if (sent < expected) {
    throw new LocalProtocolError(
      `Request body ended after ${sent} bytes, before its Content-Length ${
        quote(String(expected))
      }`,
    );
  }
}
