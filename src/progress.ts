/**
 * Upload and download progress: the `onUploadProgress` and `onDownloadProgress` request
 * options, with ky's shape (`{ percent, transferredBytes, totalBytes }`, and the chunk).
 *
 * - `totalBytes` is the `Content-Length` (of the request, or of the response as sent,
 *   still compressed when a `Content-Encoding` is set), or 0 when the length is unknown:
 *   then `percent` stays 0 until the end. `percent` reaches 1 only at the end (a wrong
 *   length cannot show 100% early), where `totalBytes` becomes at least what was
 *   transferred.
 * - Calls are throttled: at most one per `progressInterval` milliseconds (16 by default;
 *   the first chunk is reported at once), and always one at the end, for an empty body
 *   too. The chunk given is the latest (downloads: as received, still compressed when
 *   `Content-Encoding` is set), each at most once (the end gets the last one when it was
 *   not reported yet): with throttling, not every chunk is seen.
 * - An upload counts bytes as they are handed to the connection; a byte body is handed over
 *   in 64 KiB pieces so that its progress moves. A body sent again (a redirect, an auth
 *   challenge, a retry) counts from 0 again.
 * - A download counts bytes as they are read from the connection, whichever way the body
 *   is read; its end is reported when the body has been read to the end.
 * - A callback that throws fails the upload or the read of the body with its error.
 *
 * @module
 */

import { type BodySource, ReplayableBody, type RequestContent, utf8 } from "./models/body.ts";
import { type Response, WRAP_SOURCE } from "./models/response.ts";

/**
 * Where a transfer stands.
 *
 * @example Show a percentage
 * ```ts
 * import type { Progress } from "@ferry/ferry";
 * const show = ({ percent, transferredBytes }: Progress) =>
 *   console.log(`${Math.round(percent * 100)}% (${transferredBytes} bytes)`);
 * show({ percent: 0.5, transferredBytes: 512, totalBytes: 1024 }); // 50% (512 bytes)
 * ```
 */
export interface Progress {
  /** From 0 to 1; 0 while the total is unknown; 1 only at the end. */
  percent: number;
  /** Bytes transferred so far. */
  transferredBytes: number;
  /** The total in bytes (`Content-Length`), or 0 when unknown. */
  totalBytes: number;
}

/**
 * A progress callback: the progress, and the latest chunk transferred.
 *
 * @example Count the chunks of a download
 * ```ts ignore
 * import { Client, type ProgressCallback } from "@ferry/ferry";
 * let chunks = 0;
 * const onDownloadProgress: ProgressCallback = (_progress, chunk) => void (chunks += chunk.length > 0 ? 1 : 0);
 * await using client = new Client();
 * await client.get("https://example.com/", { onDownloadProgress, progressInterval: 0 });
 * ```
 */
export type ProgressCallback = (progress: Progress, chunk: Uint8Array) => void;

/** The default of the `progressInterval` option, in milliseconds. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 16;

/** Upload pieces of a byte body, so that its progress moves. */
const UPLOAD_PIECE = 64 * 1024;
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Counts bytes and calls back, throttled, and once at the end; each chunk is given to
 * the callback at most once (the end gets the last chunk when it was not reported yet).
 */
class Meter {
  readonly #total: number;
  readonly #callback: ProgressCallback;
  readonly #interval: number;
  #transferred = 0;
  #lastCall = -Infinity;
  #unreported: Uint8Array = EMPTY;
  #ended = false;

  constructor(total: number, callback: ProgressCallback, interval: number) {
    this.#total = total;
    this.#callback = callback;
    this.#interval = interval;
  }

  /** Counts bytes without calling back. */
  count(bytes: number): void {
    this.#transferred += bytes;
  }

  add(chunk: Uint8Array): void {
    this.#transferred += chunk.length;
    const now = performance.now();
    if (now - this.#lastCall < this.#interval) {
      this.#unreported = chunk;
      return;
    }
    this.#lastCall = now;
    this.#unreported = EMPTY;
    let percent = this.#total === 0 ? 0 : this.#transferred / this.#total;
    // A body longer than announced never shows 100% before its end.
    if (percent >= 1) percent = 1 - Number.EPSILON;
    this.#callback({
      percent,
      transferredBytes: this.#transferred,
      totalBytes: Math.max(this.#total, this.#transferred),
    }, chunk);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#callback({
      percent: 1,
      transferredBytes: this.#transferred,
      totalBytes: Math.max(this.#total, this.#transferred),
    }, this.#unreported);
  }
}

/** Checks a `progressInterval` option (milliseconds, at least 0, `Infinity` allowed). */
export function checkProgressInterval(value: number | undefined): number {
  if (value === undefined) return DEFAULT_PROGRESS_INTERVAL_MS;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`Invalid progressInterval "${value}": expected milliseconds, at least 0`);
  }
  return value;
}

/** Checks a progress callback option. */
export function checkProgressCallback(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Invalid ${name} "${String(value)}": expected a function`);
  }
}

/**
 * The request body, reporting upload progress as it is handed to the connection. A body
 * that could be sent again still can (each sending counts from 0); `total` is the
 * `Content-Length`, or `null` when unknown.
 */
export function withUploadProgress(
  content: RequestContent,
  total: number | null,
  callback: ProgressCallback,
  interval: number,
): RequestContent {
  const pieces = (): AsyncIterable<Uint8Array> => {
    if (typeof content === "string" || content instanceof Uint8Array) {
      const bytes = typeof content === "string" ? utf8(content) : content;
      return split(bytes);
    }
    return content as AsyncIterable<Uint8Array>;
  };
  const metered = async function* (): AsyncGenerator<Uint8Array, void, undefined> {
    const meter = new Meter(total ?? 0, callback, interval);
    const source = pieces();
    if (source instanceof ReadableStream) {
      const reader = source.getReader();
      try {
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          meter.add(next.value);
          yield next.value;
        }
      } finally {
        reader.releaseLock();
      }
    } else if (Symbol.asyncIterator in source) {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        meter.add(chunk);
        yield chunk;
      }
    } else {
      for (const chunk of source as Iterable<Uint8Array>) {
        meter.add(chunk);
        yield chunk;
      }
    }
    meter.end();
  };
  const replayable = typeof content === "string" || content instanceof Uint8Array ||
    content instanceof ReplayableBody;
  return replayable ? new ReplayableBody(() => streamOf(metered())) : metered();
}

async function* split(bytes: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  for (let offset = 0; offset < bytes.length; offset += UPLOAD_PIECE) {
    yield bytes.subarray(offset, offset + UPLOAD_PIECE);
  }
}

function streamOf(chunks: AsyncGenerator<Uint8Array, void, undefined>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  }, { highWaterMark: 0 });
}

/**
 * Makes `response` report download progress as its body is read (any way it is read):
 * `totalBytes` from its `Content-Length` (0 when absent or not a number).
 */
export function reportDownloadProgress(
  response: Response,
  callback: ProgressCallback,
  interval: number,
): void {
  const length = Number(response.headers.get("content-length"));
  const meter = new Meter(
    Number.isSafeInteger(length) && length > 0 ? length : 0,
    callback,
    interval,
  );
  if (response.isStreamConsumed) {
    // Already read (an auth flow that reads each response): it has arrived, whole.
    meter.count(response.numBytesDownloaded);
    return meter.end();
  }
  response[WRAP_SOURCE]((source): BodySource => ({
    async read(): Promise<Uint8Array | null> {
      const chunk = await source.read();
      if (chunk === null) meter.end();
      else meter.add(chunk);
      return chunk;
    },
    close: () => source.close(),
    borrowed: source.borrowed,
  }));
}
