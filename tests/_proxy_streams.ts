/**
 * An in-memory stream pair for the proxy handshake tests: what one end writes, the other
 * reads, with `read(maxBytes)` honoured so that tests can check a handshake never reads
 * past its own bytes. `startTls` is not supported (the handshakes never call it).
 */

import type { NetworkStreamInterface } from "../src/network/types.ts";

class Pipe {
  chunks: Uint8Array[] = [];
  ended = false;
  waiter: (() => void) | null = null;

  /** Whether writes arrive one byte per chunk (a reader then gets one byte per read). */
  trickle = false;

  push(data: Uint8Array): void {
    if (this.trickle) { for (const byte of data) this.chunks.push(Uint8Array.of(byte)); }
    else if (data.length > 0) this.chunks.push(data.slice());
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  async take(maxBytes: number): Promise<Uint8Array> {
    while (this.chunks.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => this.waiter = resolve);
    }
    if (this.chunks.length === 0) return new Uint8Array(0);
    const first = this.chunks[0];
    if (first.length <= maxBytes) {
      this.chunks.shift();
      return first;
    }
    this.chunks[0] = first.subarray(maxBytes);
    return first.subarray(0, maxBytes);
  }
}

/** One end of a {@linkcode memoryPair}; `written` is every byte this end wrote. */
export class MemoryStream implements NetworkStreamInterface {
  #in: Pipe;
  #out: Pipe;
  /** Every byte written by this end, in order. */
  written: number[] = [];
  /** The largest `maxBytes` a read asked for, and how many reads there were. */
  reads: number[] = [];
  closed = false;

  constructor(incoming: Pipe, outgoing: Pipe) {
    this.#in = incoming;
    this.#out = outgoing;
  }

  read(maxBytes = 65536): Promise<Uint8Array> {
    this.reads.push(maxBytes);
    return this.#in.take(maxBytes);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("write after close"));
    this.written.push(...data);
    this.#out.push(data);
    return Promise.resolve();
  }

  startTls(): Promise<NetworkStreamInterface> {
    return Promise.reject(new Error("no TLS in memory"));
  }

  getExtraInfo(): unknown {
    return undefined;
  }

  close(): Promise<void> {
    this.closed = true;
    this.#out.end();
    return Promise.resolve();
  }

  /** Reads until `length` bytes arrived (test servers use it). */
  async readBytes(length: number): Promise<number[]> {
    const out: number[] = [];
    while (out.length < length) {
      const chunk = await this.read(length - out.length);
      if (chunk.length === 0) throw new Error(`peer closed after ${out.length} bytes`);
      out.push(...chunk);
    }
    return out;
  }

  /** Reads until `marker` (text) has arrived; returns everything read as text. */
  async readUntil(marker: string): Promise<string> {
    let text = "";
    while (!text.includes(marker)) {
      const chunk = await this.read(1);
      if (chunk.length === 0) throw new Error(`peer closed before ${JSON.stringify(marker)}`);
      text += String.fromCharCode(...chunk);
    }
    return text;
  }
}

/**
 * Two connected in-memory streams: `[client, server]`. With `trickle`, what the server
 * writes reaches the client one byte per read.
 */
export function memoryPair(options: { trickle?: boolean } = {}): [MemoryStream, MemoryStream] {
  const toServer = new Pipe();
  const toClient = new Pipe();
  toClient.trickle = options.trickle ?? false;
  return [new MemoryStream(toClient, toServer), new MemoryStream(toServer, toClient)];
}

/** Bytes of a string (latin-1). */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
