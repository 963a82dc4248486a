/**
 * The HTTP/1.1 request writer: serialises a request head and frames its body. Sans-IO:
 * it returns bytes (and an async iterable of framed body bytes) for the caller to write.
 *
 * - The head keeps the caller's header order and case; `Host` is not added (the caller
 *   puts it first).
 * - A body given as bytes or a string is appended to the head, so that a small request is
 *   one write. Its `Content-Length` is added when the caller gave neither
 *   `Content-Length` nor `Transfer-Encoding`.
 * - A body of unknown size (a `ReadableStream`, an async or sync iterable of chunks) is
 *   sent with `Transfer-Encoding: chunked`, unless the caller gave a `Content-Length`, in
 *   which case the bytes are sent as they are and their count is checked.
 * - No body on `POST`, `PUT` or `PATCH` sends `Content-Length: 0`.
 * - Everything is validated before anything is produced: the method must be a token, the
 *   target printable ASCII without spaces, header names tokens, header values free of CR,
 *   LF and NUL and of characters above U+00FF. A violation throws
 *   {@linkcode LocalProtocolError}.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import type { RequestContent } from "../models/body.ts";
import { quote, TOKEN, trimOws } from "./_limits.ts";

/** A serialised request: the bytes to write first, then the rest of the body, if any. */
export interface SerializedRequest {
  /** Request line, headers and the blank line, plus the whole body when it was bytes or a string. */
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
  checkMethod(method);
  checkTarget(target);
  let lines = method + " " + target + " HTTP/1.1\r\n";
  let givenLength: number | null = null;
  let givenChunked = false;
  let givenTransferEncoding = false;
  for (const [name, value] of headers) {
    checkHeader(name, value);
    lines += name + ": " + value + "\r\n";
    const length = name.length;
    if (length === 14 && name.toLowerCase() === "content-length") {
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

  if (content === null) {
    if (givenChunked) return { head: concat(latin1Bytes(lines + "\r\n"), LAST_CHUNK), body: null };
    if (givenLength !== null && givenLength !== 0) {
      throw new LocalProtocolError(
        `Content-Length ${quote(String(givenLength))} was given without a body`,
      );
    }
    if (givenLength === null && METHODS_WITH_BODY.has(method)) lines += "Content-Length: 0\r\n";
    return { head: latin1Bytes(lines + "\r\n"), body: null };
  }

  if (content instanceof Uint8Array) {
    if (givenChunked) {
      const size = latin1Bytes(content.length.toString(16) + "\r\n");
      return {
        head: concat(latin1Bytes(lines + "\r\n"), size, content, CRLF, LAST_CHUNK),
        body: null,
      };
    }
    if (givenLength !== null && givenLength !== content.length) {
      throw new LocalProtocolError(
        `Content-Length ${
          quote(String(givenLength))
        } does not match the body of ${content.length} bytes`,
      );
    }
    if (givenLength === null) lines += "Content-Length: " + content.length + "\r\n";
    return { head: concat(latin1Bytes(lines + "\r\n"), content), body: null };
  }

  const chunks = chunksOf(content);
  if (givenLength !== null) {
    return { head: latin1Bytes(lines + "\r\n"), body: counted(chunks, givenLength) };
  }
  if (!givenChunked) lines += "Transfer-Encoding: chunked\r\n";
  return { head: latin1Bytes(lines + "\r\n"), body: chunkedFraming(chunks) };
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

function checkMethod(method: string): void {
  if (method.length === 0) throw new LocalProtocolError('Invalid method ""');
  for (let i = 0; i < method.length; i++) {
    const code = method.charCodeAt(i);
    if (code > 0xff || TOKEN[code] === 0) {
      throw new LocalProtocolError(`Invalid method ${quote(method)}`);
    }
  }
}

function checkTarget(target: string): void {
  if (target.length === 0) throw new LocalProtocolError('Invalid request target ""');
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) {
      throw new LocalProtocolError(`Invalid request target ${quote(target)}`);
    }
  }
}

function checkHeader(name: string, value: string): void {
  if (typeof name !== "string" || typeof value !== "string") {
    throw new LocalProtocolError(`Invalid header ${quote(String(name))}: not a string`);
  }
  if (name.length === 0) throw new LocalProtocolError('Invalid header name ""');
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code > 0xff || TOKEN[code] === 0) {
      throw new LocalProtocolError(`Invalid header name ${quote(name)}`);
    }
  }
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 13 || code === 10 || code === 0 || code > 0xff) {
      throw new LocalProtocolError(`Invalid value of header ${quote(name)}: ${quote(value)}`);
    }
  }
}

/** Encodes a string whose chars are all ≤ U+00FF as one byte each. */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== "undefined" && value instanceof ReadableStream;
}

/** The chunks of a body of unknown size, read lazily. */
async function* chunksOf(
  content: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  if (isReadableStream(content)) {
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

async function* counted(
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
