/**
 * The HTTP/2 request head and body chunks of a {@linkcode Request} (sans-IO): pseudo-header
 * fields first, names lower-cased, the connection-specific fields of HTTP/1.1 left out (RFC
 * 9113 section 8.2.2), every name and value checked, as the HTTP/1.1 writer checks them.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import type { RequestContent } from "../models/body.ts";
import type { Request } from "../models/request.ts";
import { FIELD_VALUE, quote, TOKEN } from "../http11/_bytes.ts";
import { chunksOf, counted } from "../http11/writer.ts";

/** Fields HTTP/2 forbids (`Host` becomes `:authority`). */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const encoder = new TextEncoder();

/** The head of `request`, plus whether it has a body and its declared length. */
export interface Http2RequestHead {
  /** Pseudo-header fields, then the request's fields. */
  headers: [string, string][];
  /** The body as bytes when given as bytes or text, else `null`. */
  bytes: Uint8Array | null;
  /** The body's chunks when given as a stream or iterable, else `null`. */
  chunks: AsyncIterable<Uint8Array> | null;
  /** `Content-Length` as given, or `null`. */
  contentLength: number | null;
}

function checkName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 0) throw new LocalProtocolError('Invalid header name "": empty');
  for (let i = 0; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    if (code > 0x7f || TOKEN[code] !== 1) {
      throw new LocalProtocolError(`Invalid header name ${quote(name)}`);
    }
  }
  return lower;
}

function checkValue(value: string, name: string): string {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff || FIELD_VALUE[code] !== 1) {
      throw new LocalProtocolError(
        `Invalid value of header ${quote(name)}: character ${i} ${quote(value.charAt(i))}`,
      );
    }
  }
  return value;
}

/**
 * Builds the head. Throws {@linkcode LocalProtocolError} for a request HTTP/2 cannot
 * carry: `CONNECT`, an `Upgrade` (HTTP/2 has no upgrade), a bad name or value, a bad
 * `Content-Length`.
 */
export function http2RequestHead(request: Request): Http2RequestHead {
  const method = request.method;
  const url = request.url;
  if (method === "CONNECT") {
    throw new LocalProtocolError(
      `Cannot send ${quote(method)} over HTTP/2: tunnels need an HTTP/1.1 connection`,
    );
  }
  for (let i = 0; i < method.length; i++) {
    if (TOKEN[method.charCodeAt(i)] !== 1) {
      throw new LocalProtocolError(`Invalid method ${quote(method)}`);
    }
  }
  const target = (request.extensions.target as string | undefined) ?? request.target;
  if (!/^[\x21-\x7e]+$/.test(target)) {
    throw new LocalProtocolError(`Invalid request target ${quote(target)}`);
  }
  const fields: [string, string][] = [];
  let authority = url.host;
  let contentLength: number | null = null;
  for (const [name, value] of request.headers.pairs()) {
    const lower = checkName(name);
    checkValue(value, name);
    if (lower === "upgrade") {
      throw new LocalProtocolError(
        `Cannot upgrade to ${quote(value)} over HTTP/2: upgrades need an HTTP/1.1 connection`,
      );
    }
    if (lower === "host") authority = value.trim();
    if (CONNECTION_SPECIFIC.has(lower)) continue;
    if (lower === "te" && value.trim().toLowerCase() !== "trailers") continue;
    if (lower === "content-length") {
      const trimmed = value.trim();
      if (!/^[0-9]{1,16}$/.test(trimmed) || Number(trimmed) > Number.MAX_SAFE_INTEGER) {
        throw new LocalProtocolError(`Invalid Content-Length ${quote(value)}`);
      }
      if (contentLength !== null && contentLength !== Number(trimmed)) {
        throw new LocalProtocolError(`Conflicting Content-Length values ${quote(value)}`);
      }
      contentLength = Number(trimmed);
    }
    fields.push([lower, value]);
  }
  const headers: [string, string][] = [
    [":method", method],
    [":scheme", url.protocol === "https:" ? "https" : "http"],
    [":authority", authority],
    [":path", target],
  ];
  for (const field of fields) headers.push(field);

  let content: RequestContent | null = request.content;
  if (typeof content === "string") content = encoder.encode(content);
  let bytes: Uint8Array | null = null;
  let chunks: AsyncIterable<Uint8Array> | null = null;
  if (content instanceof Uint8Array) {
    if (contentLength !== null && contentLength !== content.length) {
      throw new LocalProtocolError(
        `Content-Length ${
          quote(String(contentLength))
        } does not match the body of ${content.length} bytes`,
      );
    }
    if (content.length > 0) bytes = content;
  } else if (content !== null) {
    chunks = contentLength === null ? chunksOf(content) : counted(chunksOf(content), contentLength);
  } else if (contentLength !== null && contentLength !== 0) {
    throw new LocalProtocolError(
      `Content-Length ${quote(String(contentLength))} was given without a body`,
    );
  }
  return { headers, bytes, chunks, contentLength };
}
