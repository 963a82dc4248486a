/**
 * A network stream that first returns bytes already read for it: the bytes a server sent
 * right after its `101` or its `2xx` to `CONNECT`, or a proxy right after opening a
 * tunnel. They belong to whoever uses the stream next, so they are handed back in front.
 *
 * @module
 */

import {
  DEFAULT_READ_SIZE,
  type ExtraInfoKey,
  type NetworkStreamInterface,
  type TlsOptions,
} from "./types.ts";
import { inspectAsRepr } from "../_inspect.ts";

const EMPTY = new Uint8Array(0);

/** Options of a {@linkcode PrefixedStream}. */
export interface PrefixedStreamOptions {
  /**
   * The error for `startTls` while some of the prefix is unread (those bytes would be
   * lost under TLS), given how many bytes are left.
   */
  tlsRefused(unread: number): Error;
  /** Closes in place of the wrapped stream's `close` (a connection closing itself). */
  close?: () => Promise<void>;
}

/**
 * Wraps a stream so that its first reads return `prefix`, then read from the stream.
 * Writes, `getExtraInfo` and `closed` are the wrapped stream's; `startTls` is refused
 * while some of the prefix is unread.
 *
 * @example
 * ```ts ignore
 * const stream = new PrefixedStream(inner, early, {
 *   tlsRefused: (unread) => new ProxyError(`The proxy sent ${unread} bytes too early`),
 * });
 * ```
 */
export class PrefixedStream implements NetworkStreamInterface {
  #inner: NetworkStreamInterface;
  #prefix: Uint8Array;
  #options: PrefixedStreamOptions;

  /** Wraps `inner`, which the new stream owns from now on. */
  constructor(inner: NetworkStreamInterface, prefix: Uint8Array, options: PrefixedStreamOptions) {
    this.#inner = inner;
    this.#prefix = prefix;
    this.#options = options;
  }

  /** Reads the prefix first (up to `maxBytes` of it), then the wrapped stream. */
  read(maxBytes: number = DEFAULT_READ_SIZE, timeoutMs?: number | null): Promise<Uint8Array> {
    const prefix = this.#prefix;
    if (prefix.length === 0) return this.#inner.read(maxBytes, timeoutMs);
    const size = Math.min(maxBytes, prefix.length);
    this.#prefix = prefix.subarray(size);
    return Promise.resolve(prefix.subarray(0, size));
  }

  /** Writes to the wrapped stream. */
  write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    return this.#inner.write(data, timeoutMs);
  }

  /** Starts TLS on the wrapped stream, once the prefix is read. */
  startTls(options?: TlsOptions, timeoutMs?: number | null): Promise<NetworkStreamInterface> {
    if (this.#prefix.length > 0) {
      return Promise.reject(this.#options.tlsRefused(this.#prefix.length));
    }
    return this.#inner.startTls(options, timeoutMs);
  }

  /** The wrapped stream's information. */
  getExtraInfo(key: ExtraInfoKey): unknown {
    return this.#inner.getExtraInfo(key);
  }

  /** Drops the unread prefix and closes (the wrapped stream, or as the options say). */
  close(): Promise<void> {
    this.#prefix = EMPTY;
    const close = this.#options.close;
    return close !== undefined ? close() : this.#inner.close();
  }

  /** Whether the wrapped stream is closed. */
  get closed(): boolean | undefined {
    return this.#inner.closed;
  }

  /** The wrapped stream's repr. */
  toString(): string {
    return String(this.#inner);
  }
}

inspectAsRepr(PrefixedStream);
