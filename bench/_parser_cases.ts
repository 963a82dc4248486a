/**
 * The parser benchmark cases and the two parsers that run them: Ferry's
 * `ResponseParser` and the `HTTPParser` of `node:_http_common` (Node's llhttp, also
 * present in Deno). Both consume the same bytes and decode the same header strings.
 */

import { Buffer } from "node:buffer";
import { HTTPParser } from "node:_http_common";
import { ResponseParser } from "../src/http11/parser.ts";

/** One benchmark case: what is fed, in which reads, and how many messages it holds. */
export interface ParserCase {
  name: string;
  /** The reads, in order, as Uint8Array (Ferry) and Buffer (llhttp; same memory). */
  reads: Uint8Array[];
  buffers: Buffer[];
  /** Responses in the input. */
  messages: number;
  /** Bytes in the input. */
  bytes: number;
  /** Body bytes the parsers must report (a check that both did the work). */
  bodyBytes: number;
}

const encoder = new TextEncoder();

/** A small typical response: six headers and a 12-byte body. */
export const SMALL_RESPONSE: string = "HTTP/1.1 200 OK\r\n" +
  "Date: Sat, 21 Nov 2026 23:00:00 GMT\r\n" +
  "Server: nginx/1.26.0\r\n" +
  "Content-Type: text/plain; charset=utf-8\r\n" +
  "Content-Length: 12\r\n" +
  "Connection: keep-alive\r\n" +
  "Cache-Control: no-cache\r\n" +
  "\r\n" +
  "hello world!";

function makeCase(
  name: string,
  reads: Uint8Array[],
  messages: number,
  bodyBytes: number,
): ParserCase {
  const buffers = reads.map((read) => Buffer.from(read.buffer, read.byteOffset, read.length));
  const bytes = reads.reduce((sum, read) => sum + read.length, 0);
  return { name, reads, buffers, messages, bytes, bodyBytes };
}

function chunkedBody(size: number, chunk: number): string {
  let out = "";
  const piece = "x".repeat(chunk);
  for (let sent = 0; sent < size; sent += chunk) {
    out += chunk.toString(16) + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const reads: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) reads.push(bytes.subarray(i, i + size));
  return reads;
}

/** The four cases of issue 2. */
export function parserCases(): ParserCase[] {
  const small = encoder.encode(SMALL_RESPONSE);
  const pipelined = encoder.encode(SMALL_RESPONSE.repeat(1000));
  const chunked = encoder.encode(
    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
      chunkedBody(65536, 4096),
  );
  const bigHead = encoder.encode(
    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n",
  );
  const big = new Uint8Array(bigHead.length + 1048576).fill(0x78);
  big.set(bigHead);
  return [
    makeCase("small response (6 headers, 12-byte body)", [small], 1, 12),
    makeCase("1000 pipelined small responses, one buffer", [pipelined], 1000, 12000),
    makeCase("64 KiB chunked body (16 chunks of 4 KiB)", [chunked], 1, 65536),
    makeCase("1 MiB body in 64 KiB reads", split(big, 65536), 1, 1048576),
  ];
}

/** Parses a case with Ferry; returns the body bytes seen. */
export function parseWithFerry(input: ParserCase): number {
  const parser = new ResponseParser();
  parser.startResponse("GET");
  let body = 0;
  let headers = 0;
  for (const read of input.reads) {
    parser.feed(read);
    for (let event = parser.next(); event !== null; event = parser.next()) {
      if (event.type === "data") body += event.data.length;
      else if (event.type === "head") headers += event.headers.length;
      else if (event.type === "end") parser.startResponse("GET");
    }
  }
  return body + headers * 0;
}

// deno-lint-ignore no-explicit-any
const Llhttp: any = HTTPParser;
// deno-lint-ignore no-explicit-any
let llhttp: any = null;
let llhttpBody = 0;

/** Parses a case with Node's llhttp; returns the body bytes seen. */
export function parseWithLlhttp(input: ParserCase): number {
  if (llhttp === null) {
    llhttp = new Llhttp();
    llhttp[Llhttp.kOnHeaders] = () => {};
    llhttp[Llhttp.kOnHeadersComplete] = () => 0;
    llhttp[Llhttp.kOnBody] = (chunk: Uint8Array) => {
      llhttpBody += chunk.length;
    };
    llhttp[Llhttp.kOnMessageComplete] = () => {};
  }
  // As Node's http client does with its pooled parsers: initialize per connection.
  llhttp.initialize(Llhttp.RESPONSE, {});
  llhttpBody = 0;
  for (const buffer of input.buffers) {
    const result = llhttp.execute(buffer);
    if (typeof result !== "number") throw result;
  }
  return llhttpBody;
}
