/**
 * The body types shared by requests, responses and the transports below them.
 *
 * @module
 */

/**
 * A pull source of body bytes, as the connection layer hands a response body up.
 * Reading after the end keeps returning `null`.
 */
export interface BodySource {
  /** The next chunk of the body, or `null` at its end. */
  read(): Promise<Uint8Array | null>;
  /**
   * Stops reading early (or after the end): the connection decides whether to drain the
   * rest, keep the connection, or close it. Calling it twice is harmless.
   */
  close(): Promise<void>;
  /**
   * Whether the chunks are borrowed: views into a buffer the source reuses, valid only
   * until the next `read()`. A reader that keeps a chunk longer must copy it. Absent or
   * `false`: the chunks belong to the reader.
   */
  readonly borrowed?: boolean;
  /**
   * The whole body at once, when it is already in memory and nothing of it was read yet
   * (a response that came whole with its head); else `null`. Taking it counts as reading
   * it to the end: `close()` still follows. Lets `Response.bytes()` skip the chunk loop.
   */
  takeWhole?(): Uint8Array | null;
}

/** What a request body can be given as. */
export type RequestContent =
  | Uint8Array
  | string
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

const encoder = new TextEncoder();

/** Encodes a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Joins chunks into one array (no copy for a single chunk). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const size = total ?? chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** A {@linkcode BodySource} over bytes that are already in memory. */
export function bytesSource(bytes: Uint8Array): BodySource {
  return new BytesSource(bytes);
}

/** One object, no closures: a source per in-memory response. */
class BytesSource implements BodySource {
  #bytes: Uint8Array | null;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes.length === 0 ? null : bytes;
  }

  read(): Promise<Uint8Array | null> {
    const bytes = this.#bytes;
    this.#bytes = null;
    return Promise.resolve(bytes);
  }

  close(): Promise<void> {
    this.#bytes = null;
    return Promise.resolve();
  }
}

/**
 * A request body that can be sent again from the start, such as a `Blob`'s bytes: each
 * iteration opens a fresh stream. Requests with one are replayable (redirects with 307 or
 * 308, auth challenges) without holding a copy of the bytes.
 */
export class ReplayableBody implements AsyncIterable<Uint8Array> {
  readonly #open: () => ReadableStream<Uint8Array>;

  /** `open` returns a new stream over the whole body each time it is called. */
  constructor(open: () => ReadableStream<Uint8Array>) {
    this.#open = open;
  }

  /** Reads the body from its start. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    const reader = this.#open().getReader();
    try {
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        yield next.value;
      }
    } finally {
      reader.releaseLock();
    }
  }
}
