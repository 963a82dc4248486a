/**
 * The body of a response on a connection: read from the connection's parser on demand
 * ({@linkcode ConnectionBody}) or handed over whole when it came with the head
 * ({@linkcode BufferedBody}). Reading to the end, or closing, ends the exchange: a small
 * unread remainder (known length, at most 64 KiB) is drained to keep the connection,
 * anything else closes it.
 *
 * Borrowed body reads (the opt-in request extension `borrowBodyChunks`): with a stream that
 * has `readInto()`, body reads go into one 256 KiB buffer per connection, and the parser's
 * `data` views into it are handed up as they are (the body source says `borrowed`), void
 * once the next chunk is asked for. Reusing the buffer is safe for the parser: when it asks
 * for more input it has consumed all it was fed (a line cut by a read is copied into its
 * scratch). This saves the allocation, zeroing and collection of fresh memory per read,
 * which otherwise costs a large download about half of a raw socket loop's speed. Without
 * the extension every read returns fresh bytes that belong to the caller.
 *
 * @module
 */

import { ReadError, RemoteProtocolError } from "../errors.ts";
import type { BodySource } from "../models/body.ts";
import { DEFAULT_READ_SIZE } from "../network/types.ts";
import type { ConnectionCore } from "./core.ts";

/** The largest body read, and the size of the borrowed read buffer. */
export const MAX_BODY_READ_SIZE = 262144;
/** The most body bytes read to save a connection whose response was closed early. */
export const MAX_DRAIN_BYTES = 65536;

/** The body of a response on a connection: pulls from the connection's parser. */
export class ConnectionBody implements BodySource {
  #core: ConnectionCore;
  #exchange: number;
  /** Chunks are views into the connection's reused read buffer (`borrowBodyChunks`). */
  readonly borrowed: boolean;
  constructor(core: ConnectionCore, exchange: number, borrowed: boolean) {
    this.#core = core;
    this.#exchange = exchange;
    this.borrowed = borrowed;
  }
  read(): Promise<Uint8Array | null> {
    return readBody(this.#core, this.#exchange);
  }
  close(): Promise<void> {
    return closeBody(this.#core, this.#exchange);
  }
}

/** A body that arrived whole with its head; ending or closing it releases the connection. */
export class BufferedBody implements BodySource {
  #core: ConnectionCore;
  #exchange: number;
  #bytes: Uint8Array | null;
  constructor(core: ConnectionCore, exchange: number, bytes: Uint8Array) {
    this.#core = core;
    this.#exchange = exchange;
    this.#bytes = bytes.length === 0 ? null : bytes;
  }
  #untouched = true;
  takeWhole(): Uint8Array | null {
    if (!this.#untouched) return null;
    this.#untouched = false;
    const bytes = this.#bytes ?? EMPTY;
    this.#bytes = null;
    return bytes;
  }
  read(): Promise<Uint8Array | null> {
    this.#untouched = false;
    const bytes = this.#bytes;
    if (bytes !== null) {
      this.#bytes = null;
      return Promise.resolve(bytes);
    }
    // The whole body was parsed: ending the exchange needs no read (and, untraced, no wait).
    const ending = this.#core.endExchange(this.#exchange);
    return ending === undefined ? NULL : ending.then(() => null);
  }
  close(): Promise<void> {
    this.#untouched = false;
    this.#bytes = null;
    return this.#core.endExchange(this.#exchange) ?? RESOLVED;
  }
}

const EMPTY = new Uint8Array(0);

const NULL: Promise<null> = Promise.resolve(null);
const RESOLVED: Promise<void> = Promise.resolve();

/** The next chunk of exchange `exchange`'s body, `null` at its end. */
async function readBody(core: ConnectionCore, exchange: number): Promise<Uint8Array | null> {
  if (exchange !== core.exchangeId) throw bodyLost(core);
  const x = core.x;
  if (x.bodyDone) return null;
  const pending = x.pending;
  if (pending !== null) {
    const chunk = pending.shift()!;
    if (pending.length === 0) x.pending = null;
    return chunk;
  }
  const trace = x.trace;
  try {
    if (trace && !x.bodyStarted) {
      x.bodyStarted = true;
      await trace("http11.receive_response_body.started", { request: x.request });
    }
    const parser = core.parser;
    const stream = core.stream!;
    for (;;) {
      const event = parser.next();
      if (event === null) {
        if (x.borrow && core.armed === null) {
          // Borrowed: every read lands in the same buffer. The parser has consumed all
          // it was fed (it returned null; a partial line is copied into its scratch),
          // and the caller was told that the last chunk is void once it reads again.
          const buffer = core.borrowBuffer ??= new Uint8Array(MAX_BODY_READ_SIZE);
          const count = await stream.readInto!(buffer, x.readMs);
          if (exchange !== core.exchangeId) throw bodyLost(core);
          if (count === 0) parser.feedEnd();
          else parser.feed(buffer.subarray(0, count));
          continue;
        }
        const size = core.bodyReadSize;
        const bytes = await core.readChunk(stream, size);
        if (exchange !== core.exchangeId) throw bodyLost(core);
        if (bytes.length === size) {
          if (size < MAX_BODY_READ_SIZE) core.bodyReadSize = size * 2;
        } else if (bytes.length < size >> 1 && size > DEFAULT_READ_SIZE) {
          core.bodyReadSize = size >> 1;
        }
        if (bytes.length === 0) parser.feedEnd();
        else parser.feed(bytes);
      } else if (event.type === "data") {
        if (x.remaining !== null) x.remaining -= event.data.length;
        return event.data;
      } else if (event.type === "end") {
        x.keepAlive &&= event.keepAlive;
        x.bodyDone = true;
        if (trace) await trace("http11.receive_response_body.complete", { return_value: null });
        const ending = core.endExchange(exchange);
        if (ending !== undefined) await ending;
        return null;
      } else {
        throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} in the body`);
      }
    }
  } catch (error) {
    const failure = core.failure(error, x.request!);
    if (trace) {
      await Promise.resolve(trace("http11.receive_response_body.failed", { exception: failure }))
        .catch(() => {});
    }
    if (exchange === core.exchangeId) await core.close();
    throw failure;
  }
}

/** Why a body cannot be read on: the exchange was aborted or the connection closed. */
function bodyLost(core: ConnectionCore): unknown {
  const signal = core.x.signal;
  if (signal?.aborted) return signal.reason;
  return new ReadError(
    `Connection to ${JSON.stringify(core.originText)} was closed while the body was read`,
    { request: core.x.request },
  );
}

/** The response was closed: drain a small remainder to keep the connection, or close it. */
async function closeBody(core: ConnectionCore, exchange: number): Promise<void> {
  if (exchange !== core.exchangeId) return;
  const x = core.x;
  if (x.bodyDone) {
    const ending = core.endExchange(exchange);
    if (ending !== undefined) await ending;
    return;
  }
  // What is buffered is drained; more is read only when the length is known and the
  // rest is at most 64 KiB. Otherwise closing is cheaper than reading on.
  x.pending = null;
  try {
    const parser = core.parser;
    const stream = core.stream!;
    for (;;) {
      const event = parser.next();
      if (event === null) {
        const remaining = x.remaining;
        if (remaining === null || remaining > MAX_DRAIN_BYTES || x.signal?.aborted) break;
        const bytes = await core.readChunk(stream);
        if (exchange !== core.exchangeId) return;
        if (bytes.length === 0) parser.feedEnd();
        else parser.feed(bytes);
      } else if (event.type === "data") {
        if (x.remaining !== null) x.remaining -= event.data.length;
      } else if (event.type === "end") {
        x.keepAlive &&= event.keepAlive;
        x.bodyDone = true;
        const ending = core.endExchange(exchange);
        if (ending !== undefined) await ending;
        return;
      } else break;
    }
  } catch {
    // Falls through to closing: the connection cannot be saved.
  }
  if (exchange === core.exchangeId) await core.close();
}
