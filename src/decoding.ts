/**
 * Content decoding (`Content-Encoding`) through `node:zlib`, which Deno, Node and Bun all
 * have, with memory bounded by the decoder's backpressure (see `_zlib_source.ts`).
 *
 * What each runtime decodes (checked at load time, not assumed):
 *
 * | encoding | Deno 2.9 | Node 24 | Node 20 | Bun 1.x |
 * |---|---|---|---|---|
 * | gzip, deflate, br | yes | yes | yes | yes |
 * | zstd | where `node:zlib` has it | yes | no | yes |
 *
 * A coding the runtime lacks can be added with {@linkcode registerDecoder};
 * `Accept-Encoding` only ever lists what can be decoded. "deflate" is zlib-wrapped by the
 * standard but raw in some servers: the first two bytes decide. Errors from the body's
 * source (timeouts, resets) pass through unchanged; anything the decompressor rejects
 * becomes a {@linkcode DecodingError}.
 *
 * Limits against a hostile server: at most {@linkcode MAX_CONTENT_CODINGS} codings (more is
 * a `DecodingError` before anything is decoded), and at most `maxDecompressedSize` decoded
 * bytes, which also bounds memory (one input chunk and a few output chunks per coding).
 * A body with a coding that cannot be decoded is handed up as sent, undecoded as a whole
 * (its `Content-Encoding` header says so), never half-decoded.
 *
 * @module
 */

import * as zlib from "node:zlib";
import type { Transform } from "node:stream";
import type { BodySource } from "./models/body.ts";
import { DecodingError, HTTPError } from "./errors.ts";
import { zlibSource } from "./_zlib_source.ts";
import { ZstdFrames } from "./_zstd_frames.ts";

/** Turns a stream of encoded bytes into a stream of decoded bytes. */
export type StreamDecoder = (input: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;

/** Default limit on a decompressed body: 256 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 256 * 1024 * 1024;

/** The most content codings a response may list (as undici); more is a `DecodingError`. */
export const MAX_CONTENT_CODINGS = 5;

/** Decodes a source of encoded bytes into a source of decoded bytes. */
type SourceDecoder = (input: BodySource, encoding: string) => BodySource;

const decoders = new Map<string, SourceDecoder>();

function viaZlib(create: () => Transform): SourceDecoder {
  return (input, encoding) => zlibSource(create(), input, encoding);
}

/** zlib-wrapped or raw deflate: the first two bytes of a zlib stream are a checked header. */
function deflateDecoder(input: BodySource, encoding: string): BodySource {
  let inner: BodySource | null = null;
  return {
    async read(): Promise<Uint8Array | null> {
      if (inner === null) {
        let head = new Uint8Array(0);
        while (head.length < 2) {
          const next = await input.read();
          if (next === null) break;
          const joined = new Uint8Array(head.length + next.length);
          joined.set(head);
          joined.set(next, head.length);
          head = joined;
        }
        const wrapped = head.length >= 2 && (head[0] & 0x0f) === 8 &&
          ((head[0] << 8) | head[1]) % 31 === 0;
        let first: Uint8Array | null = head.length > 0 ? head : null;
        const rest: BodySource = {
          read() {
            if (first === null) return input.read();
            const chunk = first;
            first = null;
            return Promise.resolve(chunk);
          },
          close: () => input.close(),
        };
        inner = zlibSource(
          wrapped ? zlib.createInflate() : zlib.createInflateRaw(),
          rest,
          encoding,
        );
      }
      return await inner.read();
    },
    close(): Promise<void> {
      return inner ? inner.close() : input.close();
    },
  };
}

/** Whether `create` makes a working decompressor here (a runtime may stub one). */
function works(create: (() => Transform) | undefined): create is () => Transform {
  if (typeof create !== "function") return false;
  try {
    create().destroy();
    return true;
  } catch {
    return false;
  }
}

decoders.set("gzip", viaZlib(() => zlib.createGunzip()));
decoders.set("x-gzip", viaZlib(() => zlib.createGunzip()));
decoders.set("deflate", deflateDecoder);
decoders.set("br", viaZlib(() => zlib.createBrotliDecompress()));
// deno-lint-ignore no-explicit-any
const createZstd = (zlib as any).createZstdDecompress as (() => Transform) | undefined;
if (works(createZstd)) {
  decoders.set("zstd", (input, encoding) => {
    const checked = framed(input);
    const inner = zlibSource(createZstd(), checked, encoding);
    return {
      async read(): Promise<Uint8Array | null> {
        const chunk = await inner.read();
        // The decompressor may stop before the input does (after the first frame): the
        // rest is read through the frame check, which refuses what was not decoded.
        if (chunk !== null) return chunk;
        try {
          while (await checked.read() !== null) { /* checked, not decoded */ }
        } catch (error) {
          await inner.close();
          throw error;
        }
        return null;
      },
      close: () => inner.close(),
    };
  });
}

/**
 * Whether this runtime's zstd decodes every frame of a stream (Bun's does; Node's and
 * Deno's stop after the first, nodejs/node#64741).
 */
function decodesEveryZstdFrame(): boolean {
  try {
    // deno-lint-ignore no-explicit-any
    const z = zlib as any;
    const frame = z.zstdCompressSync(new Uint8Array([1]));
    const both = new Uint8Array(frame.length * 2);
    both.set(frame);
    both.set(frame, frame.length);
    return z.zstdDecompressSync(both).length === 2;
  } catch {
    return false;
  }
}

let everyZstdFrame: boolean | null = null;

/**
 * Refuses a zstd stream that ends mid-frame, which some runtimes' zstd accepts, and one of
 * several frames where the runtime would decode only the first: never a part as the whole.
 */
function framed(input: BodySource): BodySource {
  const frames = new ZstdFrames();
  everyZstdFrame ??= decodesEveryZstdFrame();
  return {
    async read(): Promise<Uint8Array | null> {
      const chunk = await input.read();
      if (chunk !== null) {
        frames.push(chunk);
        if (frames.started > 1 && !everyZstdFrame) {
          throw new DecodingError(
            'A "zstd" encoded body of several frames: this runtime decodes only the first',
          );
        }
      } else if (!frames.complete) throw new DecodingError('Truncated "zstd" encoded body');
      return chunk;
    },
    close: () => input.close(),
  };
}

/** A {@linkcode SourceDecoder} over a web {@linkcode StreamDecoder}. */
function viaStream(decoder: StreamDecoder): SourceDecoder {
  return (input, encoding) => {
    const reader = decoder(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          const chunk = await input.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: () => input.close(),
      }, { highWaterMark: 0 }),
    ).getReader();
    let done = false;
    return {
      async read(): Promise<Uint8Array | null> {
        if (done) return null;
        try {
          const next = await reader.read();
          if (!next.done) return next.value;
        } catch (error) {
          done = true;
          await input.close();
          if (error instanceof HTTPError) throw error; // the source's: timeouts, resets
          throw new DecodingError(`Invalid ${JSON.stringify(encoding)} encoded body`, {
            cause: error,
          });
        }
        done = true;
        return null;
      },
      async close(): Promise<void> {
        if (!done) {
          done = true;
          await reader.cancel().catch(() => {});
        }
        await input.close();
      },
    };
  };
}

/**
 * Adds (or replaces, or with `null` removes) the decoder of a content coding.
 * `Accept-Encoding` picks it up. The decompressed size limit applies to its output; how
 * much memory it takes to produce one chunk is up to the decoder.
 *
 * @example Add a coding
 * ```ts
 * import { registerDecoder, supportedEncodings } from "@ferry/ferry/advanced";
 * registerDecoder("x-reverse", (input) =>
 *   input.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
 *     transform: (chunk, controller) => controller.enqueue(chunk.slice().reverse()),
 *   })));
 * console.log(supportedEncodings().includes("x-reverse")); // true
 * registerDecoder("x-reverse", null);
 * ```
 */
export function registerDecoder(encoding: string, decoder: StreamDecoder | null): void {
  if (decoder === null) decoders.delete(encoding.toLowerCase());
  else decoders.set(encoding.toLowerCase(), viaStream(decoder));
}

/**
 * The content codings this runtime can decode, in preference order.
 *
 * @example
 * ```ts
 * import { supportedEncodings } from "@ferry/ferry/advanced";
 * console.log(supportedEncodings()); // ["gzip", "deflate", "br", "zstd"] on Node 24
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

/** Counts decoded bytes against the limit. */
function limited(inner: BodySource, encoding: string, maxSize: number | null): BodySource {
  let total = 0;
  return {
    async read(): Promise<Uint8Array | null> {
      const chunk = await inner.read();
      if (chunk === null || maxSize === null) return chunk;
      total += chunk.length;
      if (total > maxSize) {
        await inner.close();
        throw new DecodingError(
          `Decompressed body exceeds the limit of ${maxSize} bytes (${
            JSON.stringify(encoding)
          } encoding)`,
        );
      }
      return chunk;
    },
    close: () => inner.close(),
  };
}

/**
 * Wraps a raw body source in the decoders that `codings` names (innermost last). More than
 * {@linkcode MAX_CONTENT_CODINGS} codings is a {@linkcode DecodingError} at the first read;
 * a coding that cannot be decoded leaves the whole body as sent, as httpx and undici do.
 */
export function decodedSource(
  raw: BodySource,
  codings: readonly string[],
  maxSize: number | null = DEFAULT_MAX_DECOMPRESSED_SIZE,
): BodySource {
  const tooMany = codings.length > MAX_CONTENT_CODINGS;
  if (!tooMany && (codings.length === 0 || !codings.every((coding) => decoders.has(coding)))) {
    return raw;
  }
  // The pipeline is built on the first non-empty chunk: an empty body (HEAD, 204, 304)
  // with a Content-Encoding header is empty, not a truncated stream.
  let inner: BodySource | null = null;
  let ended = false;
  return {
    async read(): Promise<Uint8Array | null> {
      if (inner !== null) return await inner.read();
      if (ended) return null;
      if (tooMany) {
        ended = true;
        await raw.close();
        throw new DecodingError(
          `Too many content codings: ${codings.length} (the limit is ${MAX_CONTENT_CODINGS})`,
        );
      }
      let first: Uint8Array | null;
      do first = await raw.read(); while (first !== null && first.length === 0);
      if (first === null) {
        ended = true;
        return null;
      }
      let pending: Uint8Array | null = first;
      let source: BodySource = {
        read() {
          if (pending === null) return raw.read();
          const chunk = pending;
          pending = null;
          return Promise.resolve(chunk);
        },
        close: () => raw.close(),
      };
      for (let i = codings.length - 1; i >= 0; i--) {
        source = decoders.get(codings[i])!(source, codings[i]);
      }
      inner = limited(source, codings.join(", "), maxSize);
      return await inner.read();
    },
    async close(): Promise<void> {
      ended = true;
      if (inner !== null) await inner.close();
      else await raw.close();
    },
  };
}
