/**
 * A pull {@linkcode BodySource} over one of `node:zlib`'s decompression streams, with the
 * stream's own backpressure bounding memory: one input chunk is written at a time, and zlib
 * stops inflating once its readable side holds a chunk nobody has read. A bomb therefore
 * costs a few output chunks per stage, whatever its ratio, on every runtime whose
 * `node:zlib` honours backpressure (Deno, Node and Bun do: measured by
 * `tests/decoding_memory_test.ts`).
 *
 * `node:zlib` rather than `DecompressionStream`: Deno's turns one input chunk into one
 * output chunk of any size (a 1.6 KB brotli body into a single 1 GiB chunk), and Node 20's
 * has no brotli.
 *
 * @module
 */

import type { Transform } from "node:stream";
import type { BodySource } from "./models/body.ts";
import { DecodingError } from "./errors.ts";

/** Decodes `input` through `stream`; decoder failures become a {@linkcode DecodingError}. */
export function zlibSource(stream: Transform, input: BodySource, encoding: string): BodySource {
  let failure: unknown = null;
  let ended = false;
  let writing = false;
  let inputDone = false;
  let closed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  stream.on("readable", notify);
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("error", (error) => {
    failure ??= error;
    notify();
  });

  async function shut(): Promise<void> {
    if (closed) return;
    closed = true;
    stream.destroy();
    await input.close();
  }

  return {
    async read(): Promise<Uint8Array | null> {
      for (;;) {
        if (closed) return null;
        if (failure !== null) {
          const cause = failure;
          await shut();
          throw new DecodingError(`Invalid ${JSON.stringify(encoding)} encoded body`, { cause });
        }
        const chunk = stream.read() as Uint8Array | null;
        if (chunk !== null) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
        if (ended) return null;
        const event = new Promise<void>((resolve) => wake = resolve);
        if (!writing && !inputDone) {
          let data: Uint8Array | null;
          try {
            data = await input.read();
          } catch (error) {
            // Timeouts, resets and the like pass through unchanged.
            closed = true;
            stream.destroy();
            await input.close();
            throw error;
          }
          if (data === null) {
            inputDone = true;
            stream.end();
          } else {
            writing = true;
            stream.write(data, () => {
              writing = false;
              notify();
            });
          }
          // The write may have produced output (or failed) already.
          if (wake === null) continue;
        }
        await event;
      }
    },
    close: shut,
  };
}
