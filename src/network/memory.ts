/**
 * In-memory network streams for tests: a connected pair of streams (what one writes, the
 * other reads), and a backend whose every `connect()` makes such a pair and hands the far
 * end to a server function.
 *
 * Options that help test the layers above: `oneByte` (every read returns at most one
 * byte, as the httpx parser tests trickle input), `capacity` (writes wait while the peer
 * has that many unread bytes, so a peer that never reads makes a write time out), and
 * `closeWrite()` (end of input for the peer while this side can still read).
 *
 * @module
 */

import { ConnectError, ReadError, WriteError } from "../errors.ts";
import { currentDeadline, withDeadline } from "../timeout.ts";
import { streamRepr } from "./_common.ts";
import {
  type ConnectOptions,
  type ConnectUnixOptions,
  DEFAULT_READ_SIZE,
  type ExtraInfoKey,
  type NetAddress,
  type NetworkBackendInterface,
  type NetworkStreamInterface,
  type TlsOptions,
} from "./types.ts";
import { inspectAsRepr } from "../_inspect.ts";

/** Options of {@linkcode memoryStreamPair}. */
export interface MemoryStreamOptions {
  /** Every read returns at most one byte. Default `false`. */
  oneByte?: boolean;
  /**
   * How many unread bytes a stream holds before writes to it wait for the reader.
   * Default `Infinity` (writes never wait).
   */
  capacity?: number;
  /** The label in reprs and messages. Default `"memory"`. */
  label?: string;
}

/**
 * One direction of an in-memory connection: the bytes one end wrote and the other has not
 * read yet. Made by {@linkcode memoryStreamPair}; exported for its type only.
 */
export class MemoryPipe {
  /** Written, unread chunks (copies). */
  chunks: Uint8Array[] = [];
  /** Bytes in {@linkcode MemoryPipe.chunks}. */
  buffered = 0;
  /** The writer closed its side: end of input after the chunks. */
  ended = false;
  /** The reader closed its side: writes fail. */
  readerGone = false;
  /** Wakes the waiting read, if any. */
  reader: (() => void) | null = null;
  /** Wake the writes waiting for room. */
  writers: (() => void)[] = [];

  /** Wakes the waiting read. */
  wakeReader(): void {
    const reader = this.reader;
    this.reader = null;
    reader?.();
  }

  /** Wakes the waiting writes. */
  wakeWriters(): void {
    const writers = this.writers;
    this.writers = [];
    for (const writer of writers) writer();
  }
}

const EMPTY = new Uint8Array(0);

/**
 * One end of an in-memory connection. Made by {@linkcode memoryStreamPair} or
 * {@linkcode MemoryNetworkBackend}.
 *
 * Written bytes are copied, so a writer may reuse its buffer. `read()` resolves with an
 * empty array once the peer closed (or called `closeWrite()`) and everything was read. A
 * read or write that times out leaves the stream usable; using a closed stream fails with
 * {@linkcode ReadError} or {@linkcode WriteError}.
 *
 * @example
 * ```ts
 * import { memoryStreamPair } from "@ferry/ferry/testing";
 * const [client, server] = memoryStreamPair();
 * await client.write(new TextEncoder().encode("ping"));
 * console.log(new TextDecoder().decode(await server.read())); // "ping"
 * await client.close();
 * console.log((await server.read()).length); // 0: end of input
 * await server.close();
 * ```
 */
export class MemoryNetworkStream implements NetworkStreamInterface {
  #in: MemoryPipe;
  #out: MemoryPipe;
  #oneByte: boolean;
  #capacity: number;
  #label: string;
  #closed = false;
  #upgraded = false;
  #tls: TlsOptions | null;
  #alpn: string | null;
  #info: Record<string, unknown>;

  /** Use {@linkcode memoryStreamPair}; this is for the pair and its upgrades. */
  constructor(
    incoming: MemoryPipe,
    outgoing: MemoryPipe,
    options: {
      oneByte?: boolean;
      capacity?: number;
      label?: string;
      tls?: TlsOptions | null;
      alpnProtocol?: string | null;
      info?: Record<string, unknown>;
    } = {},
  ) {
    this.#in = incoming;
    this.#out = outgoing;
    this.#oneByte = options.oneByte ?? false;
    this.#capacity = options.capacity ?? Infinity;
    this.#label = options.label ?? "memory";
    this.#tls = options.tls ?? null;
    this.#alpn = options.alpnProtocol ?? null;
    this.#info = options.info ?? {};
  }

  /** Whether the stream was closed or replaced by its TLS stream. */
  get closed(): boolean {
    return this.#closed || this.#upgraded;
  }

  /** The TLS options `startTls()` was given, on the stream it returned; else `null`. */
  get tlsOptions(): TlsOptions | null {
    return this.#tls;
  }

  /** How many written bytes wait for this stream's reader. */
  get bufferedAmount(): number {
    return this.#in.buffered;
  }

  /** Reads up to `maxBytes` (one byte in one-byte mode); empty at end of input. */
  read(maxBytes: number = DEFAULT_READ_SIZE, timeoutMs?: number | null): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.#unusable("read from", ReadError));
    if (!(maxBytes > 0)) return Promise.reject(new RangeError(`Invalid maxBytes "${maxBytes}"`));
    if (this.#oneByte) maxBytes = 1;
    const pipe = this.#in;
    if (pipe.chunks.length > 0) return Promise.resolve(this.#take(maxBytes));
    if (pipe.ended) return Promise.resolve(EMPTY);
    if (pipe.reader !== null) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": a read is already waiting`),
      );
    }
    const wait = (): Promise<Uint8Array> =>
      new Promise<Uint8Array>((resolve, reject) => {
        pipe.reader = () => {
          if (this.#closed) {
            reject(new ReadError(`Cannot read from "${this.#label}": the stream was closed`));
          } else if (pipe.chunks.length > 0) resolve(this.#take(maxBytes));
          else resolve(EMPTY);
        };
      });
    if (timeoutMs == null && currentDeadline() === Infinity) return wait();
    return withDeadline("read", timeoutMs, wait, () => {
      pipe.reader = null;
    });
  }

  /**
   * Reads up to `target.length` bytes (one in one-byte mode) into `target`; resolves with
   * the count, `0` at end of input.
   */
  readInto(target: Uint8Array, timeoutMs?: number | null): Promise<number> {
    if (!(target.length > 0)) {
      return Promise.reject(new RangeError(`Invalid target length "${target.length}"`));
    }
    return this.read(target.length, timeoutMs).then((bytes) => {
      target.set(bytes);
      return bytes.length;
    });
  }

  #take(maxBytes: number): Uint8Array {
    const pipe = this.#in;
    const head = pipe.chunks[0];
    let bytes: Uint8Array;
    if (head.length <= maxBytes) {
      pipe.chunks.shift();
      bytes = head;
    } else {
      pipe.chunks[0] = head.subarray(maxBytes);
      bytes = head.subarray(0, maxBytes);
    }
    pipe.buffered -= bytes.length;
    if (pipe.writers.length > 0) pipe.wakeWriters();
    return bytes;
  }

  /** Writes a copy of `data` for the peer; waits while the peer holds `capacity` bytes. */
  write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    if (this.closed) return Promise.reject(this.#unusable("write to", WriteError));
    const pipe = this.#out;
    if (pipe.readerGone) {
      return Promise.reject(
        new WriteError(`Could not write to "${this.#label}": the peer closed the stream`),
      );
    }
    if (pipe.ended) {
      return Promise.reject(
        new WriteError(`Cannot write to "${this.#label}": closeWrite() was called`),
      );
    }
    if (data.length === 0) return Promise.resolve();
    if (pipe.buffered < this.#capacity) {
      this.#push(data);
      return Promise.resolve();
    }
    let cancelled = false;
    const wait = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const retry = (): void => {
          if (cancelled) return;
          if (this.#closed) {
            reject(new WriteError(`Cannot write to "${this.#label}": the stream was closed`));
          } else if (pipe.readerGone) {
            reject(
              new WriteError(`Could not write to "${this.#label}": the peer closed the stream`),
            );
          } else if (pipe.buffered < this.#capacity) {
            this.#push(data);
            resolve();
          } else {
            pipe.writers.push(retry);
          }
        };
        pipe.writers.push(retry);
      });
    return withDeadline("write", timeoutMs, wait, () => {
      cancelled = true;
    });
  }

  #push(data: Uint8Array): void {
    const pipe = this.#out;
    pipe.chunks.push(data.slice());
    pipe.buffered += data.length;
    pipe.wakeReader();
  }

  /** Ends this side's output: the peer reads what is buffered, then end of input. */
  closeWrite(): Promise<void> {
    this.#out.ended = true;
    this.#out.wakeReader();
    return Promise.resolve();
  }

  /**
   * Marks the stream as TLS (no encryption happens) and returns it as a new stream; the
   * options are kept in {@linkcode MemoryNetworkStream.tlsOptions}. The negotiated ALPN
   * protocol is the first offered one that the backend accepts (`http/1.1` by default).
   */
  startTls(options: TlsOptions = {}, _timeoutMs?: number | null): Promise<MemoryNetworkStream> {
    if (this.closed) {
      return Promise.reject(
        new ConnectError(`Cannot start TLS on "${this.#label}": the stream is closed`),
      );
    }
    if (this.#tls !== null) {
      return Promise.reject(
        new ConnectError(`Cannot start TLS on "${this.#label}": TLS is already active`),
      );
    }
    const accepted = (this.#info.acceptAlpn as string[] | undefined) ?? ["http/1.1"];
    const alpn = options.alpnProtocols?.find((protocol) => accepted.includes(protocol)) ?? null;
    this.#upgraded = true;
    return Promise.resolve(
      new MemoryNetworkStream(this.#in, this.#out, {
        oneByte: this.#oneByte,
        capacity: this.#capacity,
        label: this.#label,
        tls: { ...options },
        alpnProtocol: alpn,
        info: this.#info,
      }),
    );
  }

  /** `client_addr`, `server_addr`, `alpn_protocol`, `tls`, `tls_info`; `socket` is `null`. */
  getExtraInfo(key: ExtraInfoKey): unknown {
    switch (key) {
      case "client_addr":
      case "server_addr":
        return this.#info[key] ?? null;
      case "alpn_protocol":
        return this.#alpn;
      case "tls":
        return this.#tls !== null;
      case "tls_info":
        return this.#tls === null
          ? null
          : { alpnProtocol: this.#alpn, serverName: this.#tls.hostname ?? null };
      case "socket":
        return null;
      default:
        return this.#info[key];
    }
  }

  /** Closes this end: the peer reads end of input, the peer's writes fail. Twice is harmless. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#upgraded) return Promise.resolve();
    this.#out.ended = true;
    this.#out.wakeReader();
    this.#in.readerGone = true;
    this.#in.chunks = [];
    this.#in.buffered = 0;
    this.#in.wakeReader();
    this.#in.wakeWriters();
    this.#out.wakeWriters();
    return Promise.resolve();
  }

  /** Closes the stream; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<NetworkStream ["memory" TLS CLOSED]>` */
  toString(): string {
    return streamRepr(this.#label, this.#tls !== null, this.closed);
  }

  #unusable(what: string, ErrorClass: typeof ReadError | typeof WriteError): Error {
    const reason = this.#upgraded && !this.#closed
      ? "the stream was upgraded to TLS"
      : "the stream is closed";
    return new ErrorClass(`Cannot ${what} "${this.#label}": ${reason}`);
  }
}

inspectAsRepr(MemoryNetworkStream);

/**
 * Two connected in-memory streams: what one writes, the other reads.
 *
 * @example Trickle a response one byte at a time
 * ```ts
 * import { memoryStreamPair } from "@ferry/ferry/testing";
 * const [client, server] = memoryStreamPair({ oneByte: true });
 * await server.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n"));
 * console.log((await client.read()).length); // 1
 * await client.close();
 * await server.close();
 * ```
 */
export function memoryStreamPair(
  options: MemoryStreamOptions = {},
): [MemoryNetworkStream, MemoryNetworkStream] {
  const forward = new MemoryPipe();
  const backward = new MemoryPipe();
  return [
    new MemoryNetworkStream(backward, forward, options),
    new MemoryNetworkStream(forward, backward, options),
  ];
}

/** What a {@linkcode MemoryNetworkBackend} server function learns about a connection. */
export interface MemoryConnectInfo {
  /** The host passed to `connect()`, or the path passed to `connectUnix()`. */
  host: string;
  /** The port passed to `connect()`, or 0. */
  port: number;
  /** The options passed to `connect()` or `connectUnix()`. */
  options: ConnectOptions | ConnectUnixOptions;
}

/**
 * Serves one in-memory connection: gets the server end of the pair. It may return a
 * promise; the backend keeps it in {@linkcode MemoryNetworkBackend.served}.
 */
export type MemoryServer = (
  stream: MemoryNetworkStream,
  info: MemoryConnectInfo,
) => void | Promise<void>;

/** Options of {@linkcode MemoryNetworkBackend}. */
export interface MemoryBackendOptions extends MemoryStreamOptions {
  /** ALPN protocols the fake server accepts, in order. Default `["http/1.1"]`. */
  acceptAlpn?: string[];
  /** Hosts (`host:port` or a UNIX path) whose connections are refused with `ConnectError`. */
  refuse?: string[];
}

/**
 * A network backend that connects to an in-process server function over in-memory
 * streams. Each `connect()` makes a pair, hands the server end to `server`, and returns
 * the client end.
 *
 * @example An echo server
 * ```ts
 * import { MemoryNetworkBackend } from "@ferry/ferry/testing";
 * const backend = new MemoryNetworkBackend(async (stream) => {
 *   for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
 *     await stream.write(part);
 *   }
 *   await stream.close();
 * });
 * const stream = await backend.connect("example.com", 80);
 * await stream.write(new TextEncoder().encode("hi"));
 * console.log(new TextDecoder().decode(await stream.read())); // "hi"
 * await stream.close();
 * await Promise.all(backend.served);
 * ```
 */
export class MemoryNetworkBackend implements NetworkBackendInterface {
  #server: MemoryServer;
  #options: MemoryBackendOptions;
  #nextPort = 40000;
  /** The client ends handed out so far, in order. */
  readonly connections: MemoryNetworkStream[] = [];
  /** The promises the server function returned, one per connection. */
  readonly served: Promise<void>[] = [];

  /** Creates the backend; `server` serves each connection. */
  constructor(server: MemoryServer, options: MemoryBackendOptions = {}) {
    this.#server = server;
    this.#options = options;
  }

  /** Makes a pair and serves it; `host:port` is only recorded (and checked against `refuse`). */
  connect(host: string, port: number, options: ConnectOptions = {}): Promise<MemoryNetworkStream> {
    return this.#open(host, port, `${host}:${port}`, options);
  }

  /** Like {@linkcode MemoryNetworkBackend.connect}, for a UNIX socket path. */
  connectUnix(path: string, options: ConnectUnixOptions = {}): Promise<MemoryNetworkStream> {
    return this.#open(path, 0, path, options);
  }

  async #open(
    host: string,
    port: number,
    label: string,
    options: ConnectOptions | ConnectUnixOptions,
  ): Promise<MemoryNetworkStream> {
    if (options.signal?.aborted) throw options.signal.reason;
    if (this.#options.refuse?.includes(label)) {
      throw new ConnectError(`Could not connect to "${label}": connection refused (in memory)`);
    }
    const unix = port === 0;
    const info = {
      client_addr: {
        hostname: unix ? "" : "127.0.0.1",
        port: unix ? 0 : this.#nextPort++,
        transport: unix ? "unix" : "tcp",
      } satisfies NetAddress,
      server_addr: { hostname: host, port, transport: unix ? "unix" : "tcp" } satisfies NetAddress,
      acceptAlpn: this.#options.acceptAlpn,
    };
    const forward = new MemoryPipe();
    const backward = new MemoryPipe();
    const streamOptions = {
      oneByte: this.#options.oneByte,
      capacity: this.#options.capacity,
      label: this.#options.label ?? label,
      info,
    };
    const client = new MemoryNetworkStream(backward, forward, streamOptions);
    const server = new MemoryNetworkStream(forward, backward, streamOptions);
    this.connections.push(client);
    const served = (async () => await this.#server(server, { host, port, options }))();
    served.catch(() => {}); // Reported to whoever awaits `served`, never unhandled.
    this.served.push(served);
    let stream = client;
    const tls = (options as ConnectOptions).tls;
    if (tls !== undefined) stream = await client.startTls(tls);
    return stream;
  }

  /** `<NetworkBackend [memory]>` */
  toString(): string {
    return "<NetworkBackend [memory]>";
  }
}

inspectAsRepr(MemoryNetworkBackend);
