/**
 * A Node `Duplex` over a Ferry {@linkcode NetworkStreamInterface}, so that `node:http2`
 * speaks over Ferry's own streams: TCP or TLS from any backend, a CONNECT tunnel, SOCKS5,
 * TLS inside TLS, or the in-memory backend in tests.
 *
 * Reads and writes run outside every deadline scope (`outsideScopes`): the stream is
 * shared by all the HTTP/2 streams of the connection, so the scope of the request that
 * happened to start a read must not close it for the others. Deadlines are applied per
 * HTTP/2 stream by the connection instead.
 *
 * Copies: none here. A chunk read from the network stream is pushed as it is (Node wraps
 * it in a `Buffer` view); a chunk node:http2 writes is handed to the network stream as it
 * is.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { NetworkStreamInterface } from "../network/types.ts";
import { outsideScopes } from "../timeout.ts";
import { FrameWatcher, type SentGoaway } from "./_frame_watch.ts";

/** `node:stream`, loaded on first use (runtime-neutral modules import no `node:*`). */
export function loadBuiltin<T>(name: string): T {
  // deno-lint-ignore no-explicit-any
  const getBuiltin = (globalThis as any).process?.getBuiltinModule;
  const module = typeof getBuiltin === "function" ? getBuiltin(name) : undefined;
  if (module === undefined) {
    throw new TypeError(`HTTP/2 needs ${name}, which this runtime does not provide`);
  }
  return module as T;
}

/** Writes of at most this many bytes in all are joined into one. */
const JOIN_LIMIT = 16384;

type DuplexClass = new (
  stream: NetworkStreamInterface,
  onGoawaySent: (goaway: SentGoaway) => void,
) => Duplex;
let StreamDuplex: DuplexClass | null = null;

/**
 * A `Duplex` reading from and writing to `stream`; destroying it closes `stream`.
 * `onGoawaySent` is called once a GOAWAY frame the client sent has been written.
 */
export function streamDuplex(
  stream: NetworkStreamInterface,
  onGoawaySent: (goaway: SentGoaway) => void,
): Duplex {
  StreamDuplex ??= makeClass(loadBuiltin<typeof import("node:stream")>("node:stream").Duplex);
  return new StreamDuplex(stream, onGoawaySent);
}

function makeClass(Base: typeof Duplex): DuplexClass {
  return class extends Base {
    #stream: NetworkStreamInterface;
    #reading = false;
    #watcher = new FrameWatcher();
    #onGoawaySent: (goaway: SentGoaway) => void;

    constructor(stream: NetworkStreamInterface, onGoawaySent: (goaway: SentGoaway) => void) {
      super({ allowHalfOpen: false, decodeStrings: false });
      this.#stream = stream;
      this.#onGoawaySent = onGoawaySent;
    }

    /** After a write: reports a GOAWAY that went out with it. */
    #written = (error?: unknown): void => {
      const sent = this.#watcher.sent;
      if (sent !== null) {
        this.#watcher.sent = null;
        this.#onGoawaySent(sent);
      }
      if (error !== undefined) throw error;
    };

    override _read(): void {
      if (this.#reading) return;
      this.#reading = true;
      outsideScopes(() => this.#pump());
    }

    async #pump(): Promise<void> {
      try {
        for (;;) {
          const chunk = await this.#stream.read();
          if (chunk.length === 0) {
            this.#reading = false;
            this.push(null);
            return;
          }
          if (!this.push(chunk)) break;
        }
        this.#reading = false;
      } catch (error) {
        this.#reading = false;
        this.destroy(error as Error);
      }
    }

    override _write(
      chunk: Uint8Array,
      _encoding: string,
      callback: (error?: Error | null) => void,
    ): void {
      this.#watcher.feed(chunk);
      outsideScopes(() => this.#stream.write(chunk)).then(() => this.#written(), this.#written)
        .then(() => callback(), callback);
    }

    override _writev(
      chunks: { chunk: Uint8Array }[],
      callback: (error?: Error | null) => void,
    ): void {
      for (const { chunk } of chunks) this.#watcher.feed(chunk);
      outsideScopes(() => this.#writeAll(chunks)).then(() => this.#written(), this.#written)
        .then(() => callback(), callback);
    }

    /**
     * Frames come in bursts (a HEADERS frame, DATA frame heads and payloads): small ones
     * are joined into one write (one copy, one syscall); large payloads go as they are.
     */
    async #writeAll(chunks: { chunk: Uint8Array }[]): Promise<void> {
      let size = 0;
      for (const { chunk } of chunks) size += chunk.length;
      if (size <= JOIN_LIMIT) {
        const joined = new Uint8Array(size);
        let offset = 0;
        for (const { chunk } of chunks) {
          joined.set(chunk, offset);
          offset += chunk.length;
        }
        return await this.#stream.write(joined);
      }
      for (const { chunk } of chunks) await this.#stream.write(chunk);
    }

    override _final(callback: (error?: Error | null) => void): void {
      callback();
    }

    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      this.#stream.close().then(() => callback(error), () => callback(error));
    }
  };
}
