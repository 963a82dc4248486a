/**
 * Content decoding (`Content-Encoding`) on the runtime's own `DecompressionStream`.
 *
 * What each runtime offers (checked at load time, not assumed):
 *
 * | encoding | Deno 2.9 | Node 24 | Node 20 |
 * |---|---|---|---|
 * | gzip, deflate | yes | yes | yes |
 * | br | yes (`"brotli"`) | yes (`"brotli"`) | no |
 * | zstd | no | no | no |
 *
 * A format the runtime lacks can be added with {@linkcode registerDecoder} (for example
 * from `node:zlib` in a Node program); `Accept-Encoding` only ever lists what can be
 * decoded. "deflate" is zlib-wrapped by the standard but raw in some servers: the first
 * two bytes decide. Errors from the body's source (timeouts, resets) pass through
 * unchanged; anything the decompressor rejects becomes a {@linkcode DecodingError}.
 *
 * @module
 */

import type { BodySource } from "./models/body.ts";
import { DecodingError, HTTPError } from "./errors.ts";

/** Turns a stream of encoded bytes into a stream of decoded bytes. */
export type StreamDecoder = (input: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;

/** Default limit on a decompressed body: 256 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 256 * 1024 * 1024;

const decoders = new Map<string, StreamDecoder>();

function runtimeHas(format: string): boolean {
  try {
    new DecompressionStream(format as CompressionFormat);
    return true;
  } catch {
    return false;
  }
}

function viaDecompressionStream(format: string): StreamDecoder {
  return (input) =>
    input.pipeThrough(
      new DecompressionStream(format as CompressionFormat) as unknown as TransformStream<
        Uint8Array,
        Uint8Array
      >,
    );
}

/** zlib-wrapped or raw deflate: the first two bytes of a zlib stream are a checked header. */
function deflateDecoder(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  let head = new Uint8Array(0);
  let inner: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (inner === null) {
        while (head.length < 2) {
          const next = await reader.read();
          if (next.done) break;
          const joined = new Uint8Array(head.length + next.value.length);
          joined.set(head);
          joined.set(next.value, head.length);
          head = joined;
        }
        const zlib = head.length >= 2 && (head[0] & 0x0f) === 8 &&
          ((head[0] << 8) | head[1]) % 31 === 0;
        const first = head;
        let sentFirst = false;
        const rest = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (!sentFirst) {
              sentFirst = true;
              if (first.length > 0) return c.enqueue(first);
            }
            const next = await reader.read();
            if (next.done) c.close();
            else c.enqueue(next.value);
          },
          cancel(reason) {
            return reader.cancel(reason);
          },
        }, { highWaterMark: 0 });
        inner = viaDecompressionStream(zlib ? "deflate" : "deflate-raw")(rest).getReader();
      }
      const next = await inner.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return inner ? inner.cancel(reason) : reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

if (runtimeHas("gzip")) {
  decoders.set("gzip", viaDecompressionStream("gzip"));
  decoders.set("x-gzip", viaDecompressionStream("gzip"));
}
if (runtimeHas("deflate") && runtimeHas("deflate-raw")) decoders.set("deflate", deflateDecoder);
if (runtimeHas("br")) decoders.set("br", viaDecompressionStream("br"));
else if (runtimeHas("brotli")) decoders.set("br", viaDecompressionStream("brotli"));
if (runtimeHas("zstd")) decoders.set("zstd", viaDecompressionStream("zstd"));

/**
 * Adds (or replaces, or with `null` removes) the decoder of a content coding, such as
 * `"br"` from `node:zlib` on a runtime whose `DecompressionStream` lacks it.
 * `Accept-Encoding` picks it up.
 *
 * @example Add brotli on Node 20 from node:zlib
 * ```ts ignore
 * import { registerDecoder } from "@ferry/ferry/advanced";
 * import { createBrotliDecompress } from "node:zlib";
 * import { Duplex } from "node:stream";
 * registerDecoder("br", (input) =>
 *   input.pipeThrough(Duplex.toWeb(createBrotliDecompress()) as TransformStream<Uint8Array, Uint8Array>));
 * ```
 */
export function registerDecoder(encoding: string, decoder: StreamDecoder | null): void {
  if (decoder === null) decoders.delete(encoding.toLowerCase());
  else decoders.set(encoding.toLowerCase(), decoder);
}

/**
 * The content codings this runtime can decode, in preference order.
 *
 * @example
 * ```ts
 * import { supportedEncodings } from "@ferry/ferry/advanced";
 * console.log(supportedEncodings()); // ["gzip", "deflate", "br"] on Deno
 * ```
 */
export function supportedEncodings(): string[] {
  return [...decoders.keys()].filter((name) => name !== "x-gzip");
}

/** The `Accept-Encoding` value listing what can be decoded. */
export function acceptEncoding(): string {
  return supportedEncodings().join(", ");
}

/** The codings of a `Content-Encoding` value that need decoding, in the order applied. */
export function parseContentEncoding(value: string | null): string[] {
  if (value === null) return [];
  const codings: string[] = [];
  for (const part of value.split(",")) {
    const coding = part.trim().toLowerCase();
    if (coding && coding !== "identity") codings.push(coding);
  }
  return codings;
}

/** A source over a stream reader, used by {@linkcode decodedSource}. */
function readerSource(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  encoding: string,
  maxSize: number | null,
  raw: BodySource,
): BodySource {
  let total = 0;
  let done = false;
  return {
    async read(): Promise<Uint8Array | null> {
      if (done) return null;
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        done = true;
        await raw.close();
        if (error instanceof HTTPError) throw error;
        throw new DecodingError(`Invalid ${JSON.stringify(encoding)} encoded body`, {
          cause: error,
        });
      }
      if (next.done) {
        done = true;
        return null;
      }
      total += next.value.length;
      if (maxSize !== null && total > maxSize) {
        done = true;
        await reader.cancel().catch(() => {});
        await raw.close();
        throw new DecodingError(
          `Decompressed body exceeds the limit of ${maxSize} bytes (${
            JSON.stringify(encoding)
          } encoding)`,
        );
      }
      return next.value;
    },
    async close(): Promise<void> {
      if (!done) {
        done = true;
        await reader.cancel().catch(() => {});
      }
      await raw.close();
    },
  };
}

/**
 * Wraps a raw body source in the decoders that `contentEncoding` names. Unknown codings
 * are left alone (the body is returned as sent), as httpx does.
 */
export function decodedSource(
  raw: BodySource,
  codings: readonly string[],
  maxSize: number | null = DEFAULT_MAX_DECOMPRESSED_SIZE,
): BodySource {
  const known = codings.filter((coding) => decoders.has(coding));
  if (known.length === 0) return raw;
  // The pipeline is built on the first non-empty chunk: an empty body (HEAD, 204, 304)
  // with a Content-Encoding header is empty, not a truncated stream.
  let inner: BodySource | null = null;
  let ended = false;
  return {
    async read(): Promise<Uint8Array | null> {
      if (inner !== null) return await inner.read();
      if (ended) return null;
      let first: Uint8Array | null;
      do first = await raw.read(); while (first !== null && first.length === 0);
      if (first === null) {
        ended = true;
        return null;
      }
      let pending: Uint8Array | null = first;
      let stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (pending !== null) {
            controller.enqueue(pending);
            pending = null;
            return;
          }
          for (;;) {
            const chunk = await raw.read();
            if (chunk === null) return controller.close();
            if (chunk.length > 0) return controller.enqueue(chunk);
          }
        },
        cancel() {
          return raw.close();
        },
      }, { highWaterMark: 0 });
      for (let i = known.length - 1; i >= 0; i--) stream = decoders.get(known[i])!(stream);
      inner = readerSource(stream.getReader(), known.join(", "), maxSize, raw);
      return await inner.read();
    },
    async close(): Promise<void> {
      ended = true;
      if (inner !== null) await inner.close();
      else await raw.close();
    },
  };
}
