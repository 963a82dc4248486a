/**
 * The network backend for Node (and Bun): TCP and UNIX sockets from `node:net`, TLS from
 * `node:tls`.
 *
 * Reading copies nothing. On Node a plain (TCP or UNIX) socket reads in `onread` mode: the
 * kernel writes straight into a 64 KiB slab of the stream's, the filled part is handed out
 * as a view and the next read goes into the rest of the slab (a new slab when little is
 * left), so a read costs neither a buffer of its own nor a trip through Node's readable
 * stream machinery ('data' events, `push`, a `nextTick` per chunk): 3-6 µs per request
 * less on Node 20 and 24. TLS sockets, and every socket under Bun (whose `onread` is slower
 * than its 'data' events), read through 'data' events instead. Either way reading stops
 * while received chunks wait in a queue, {@linkcode NodeNetworkStream.read} hands out views
 * onto them (splitting a chunk that is larger than asked for, without copying), and it
 * starts again only when the queue is empty and somebody waits for bytes. A view keeps its
 * slab alive: copy small pieces you keep for long.
 *
 * Writing resolves once Node has handed the bytes to the kernel, which is the backpressure
 * the layers above need. The first write of an event loop turn goes at once; small writes
 * that follow it in the same turn (up to 16 KiB, with nothing waiting in Node's buffer), on
 * any stream, join a batch that goes out at the end of the turn (`setImmediate`) and
 * resolve then. A busy pool then handles the responses that came in one turn before it
 * makes its system calls, instead of alternating JavaScript and the kernel (which also
 * wakes the server) request by request: 20-30% less CPU per request at 10 and 100
 * concurrent on Node 20, 24 and Bun, measured against nginx, and nothing changes with one
 * request in flight. Order is kept (a stream's later writes join its batched ones),
 * closing sends what waits, and a write made under a `timeout()` scope goes at once (the
 * batch runs outside every scope).
 *
 * Runtime errors are mapped into Ferry's hierarchy (refusals, DNS and TLS failures become
 * {@linkcode ConnectError}; resets {@linkcode ReadError} or {@linkcode WriteError}) with
 * the runtime's error kept as `cause` and the peer named in the message.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import { ConnectError, HTTPError, ReadError, WriteError } from "../errors.ts";
import { setImmediate } from "node:timers";
import {
  currentDeadline,
  Deadline,
  deadlineError,
  outsideScopes,
  withDeadline,
} from "../timeout.ts";
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
import { describeError, formatHostPort, streamRepr } from "./_common.ts";
import { caPaths, extraCaCertificates, load } from "./ca_certs.ts";
import { getEnv } from "../runtime/env.ts";
import { inspectAsRepr } from "../_inspect.ts";

const EMPTY = new Uint8Array(0);
const RESOLVED: Promise<void> = Promise.resolve();

/** How long closing a TLS stream waits for its close_notify to leave before destroying. */
const TLS_CLOSE_GRACE_MS = 1000;

/** `[::1]` → `::1`: URL hostnames keep IPv6 brackets, sockets do not want them. */
function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Secure contexts are costly to build (the root store is parsed): keep a few per setting. */
const secureContexts = new Map<string, tls.SecureContext>();
const MAX_SECURE_CONTEXTS = 32;

/**
 * The secure context for `options`, or `undefined` for Node's default one. Trust is the
 * runtime's default store (the bundled roots plus `NODE_EXTRA_CA_CERTS`, or the system's
 * with `--use-system-ca`) with the extra CA certificates added to it, never replaced.
 */
async function secureContextFor(options: TlsOptions): Promise<tls.SecureContext | undefined> {
  const paths = caPaths(options);
  const caCerts = options.caCerts ?? [];
  if (caCerts.length === 0 && paths.length === 0 && !options.cert && !options.key) {
    return undefined;
  }
  const key = JSON.stringify([caCerts, paths, options.cert ?? "", options.key ?? ""]);
  let context = secureContexts.get(key);
  if (!context) {
    const extra = await extraCaCertificates(options);
    context = tls.createSecureContext({
      ca: extra.length > 0 ? [...await defaultCaCertificates(), ...extra] : undefined,
      cert: options.cert,
      key: options.key,
    });
    if (secureContexts.size >= MAX_SECURE_CONTEXTS) {
      secureContexts.delete(secureContexts.keys().next().value!);
    }
    secureContexts.set(key, context);
  }
  return context;
}

/**
 * The runtime's default trust store as PEM: `tls.getCACertificates("default")` where it
 * exists (Node 22.15+, Bun); on Node 20 the bundled roots plus `NODE_EXTRA_CA_CERTS`,
 * which Node adds to its default store.
 */
async function defaultCaCertificates(): Promise<readonly string[]> {
  // deno-lint-ignore no-explicit-any
  const getCACertificates = (tls as any).getCACertificates;
  if (typeof getCACertificates === "function") return getCACertificates("default");
  const file = getEnv("NODE_EXTRA_CA_CERTS");
  const extra = file ? await load("NODE_EXTRA_CA_CERTS", file) : [];
  return [...tls.rootCertificates, ...extra];
}

/** Bytes per read slab (`onread` mode). */
const SLAB_SIZE = 65536;
/** A slab with less than this left is replaced before the next read. */
const MIN_TAIL = 16384;

/**
 * Whether plain sockets read in `onread` mode: on Node, where it skips the readable stream
 * machinery; not on Bun, where 'data' events are the faster path (measured), nor under
 * Deno's `node:net`, which does not deliver to `onread`.
 */
const USE_ONREAD: boolean = (() => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun === undefined && g.Deno === undefined;
})();

/**
 * A read slab. Its memory is not zeroed first (7-9 µs a slab, measured, and 64 KiB of
 * cache written for nothing): only bytes the socket wrote into it are ever handed out.
 */
function newSlab(): ArrayBuffer {
  return Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer;
}

/**
 * The receiving end of a socket in `onread` mode: the slab Node reads into, and where the
 * bytes go. Made before the socket (it is a connect option); bytes that arrive before a
 * stream takes over wait in `early`, and reading stops meanwhile (the stream's first
 * `resume()` starts it again). Not public API: made by {@linkcode NodeNetworkBackend} for
 * the streams it opens.
 */
export class SocketInbox {
  #slab = newSlab();
  #offset = 0;
  /** Bytes received before a stream took over. */
  early: Uint8Array[] = [];
  /** Takes received bytes (and pauses the socket when it wants no more for now). */
  deliver: ((bytes: Uint8Array) => void) | null = null;

  /** The socket option. */
  readonly onread: {
    buffer: () => Uint8Array;
    callback: (n: number, buf: Uint8Array) => boolean;
  } = {
    // Node calls `buffer` once for the first read and again after every `callback`.
    buffer: (): Uint8Array => {
      if (SLAB_SIZE - this.#offset < MIN_TAIL) {
        this.#slab = newSlab();
        this.#offset = 0;
      }
      return new Uint8Array(this.#slab, this.#offset, SLAB_SIZE - this.#offset);
    },
    // Node reads into the buffer `buffer` returned last: the slab at `#offset`.
    callback: (n: number): boolean => {
      const bytes = new Uint8Array(this.#slab, this.#offset, n);
      this.#offset += n;
      const deliver = this.deliver;
      if (deliver !== null) {
        deliver(bytes);
        return true;
      }
      this.early.push(bytes);
      return false;
    },
  };
}

/**
 * Writes up to this size (with nothing waiting in Node's buffer) join the batch that goes
 * out at the end of the event loop turn; larger ones go at once.
 */
const BATCH_MAX = 16384;

/** A write waiting in the batch. */
interface BatchedWrite {
  stream: NodeNetworkStream;
  data: Uint8Array;
  timeoutMs: number | null | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Something settled through its own `resolve` and `reject`. */
interface Settles {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The record {@linkcode takeSettlers} gives its promise's settle functions to. */
let settling: Settles | null = null;

function takeSettlers(resolve: () => void, reject: (error: unknown) => void): void {
  settling!.resolve = resolve;
  settling!.reject = reject;
}

/** A promise settled through `record.resolve` and `record.reject` (no closure per call). */
function promiseOf(record: Settles): Promise<void> {
  settling = record;
  const promise = new Promise<void>(takeSettlers);
  settling = null;
  return promise;
}

/** The writes of this turn, oldest first (every stream's). */
let batch: BatchedWrite[] = [];
/** Whether a write went out in this event loop turn (`setImmediate` ends the turn). */
let turnStarted = false;

function nothing(): void {}

/**
 * A byte stream over a `net.Socket` or `tls.TLSSocket`. Made by
 * {@linkcode NodeNetworkBackend}; use the returned stream only.
 *
 * @example Send a request by hand
 * ```ts ignore
 * import { NetworkBackend } from "@ferry/ferry/advanced";
 * // Under Node and Bun the default backend is this one.
 * const stream = await new NetworkBackend().connect("example.com", 80);
 * await stream.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"));
 * console.log(new TextDecoder().decode(await stream.read()));
 * await stream.close();
 * ```
 */
export class NodeNetworkStream implements NetworkStreamInterface {
  #socket: net.Socket;
  #label: string;
  #host: string;
  #unix: boolean;
  #tls: boolean;
  #queue: Uint8Array[] = [];
  /** The `onread` receiver, or `null` when the socket reads through 'data' events. */
  #inbox: SocketInbox | null;
  #eof = false;
  #error: unknown = null;
  #closed = false;
  #closedByUser = false;
  #upgraded = false;
  /** The waiting read's resolve, or `null` when no read waits (reads never overlap). */
  #resolveRead: ((bytes: Uint8Array) => void) | null = null;
  #rejectRead: (error: unknown) => void = nothing;
  #readMax = 0;
  /** Takes the waiting read's resolve and reject: one function per stream, not per read. */
  #holdRead = (resolve: (bytes: Uint8Array) => void, reject: (error: unknown) => void): void => {
    this.#resolveRead = resolve;
    this.#rejectRead = reject;
  };
  /** Whether reading was paused (by this stream): only then does a read resume it. */
  #paused = true;
  #closing: Promise<void> | null = null;
  /** The read deadline, reused read after read (reads never overlap). */
  #readDeadline = new Deadline("read", () => {
    // The read gave up: fail it, keep the bytes that come for a later read.
    if (this.#resolveRead !== null) this.#failRead(this.#readDeadline.error);
    if (!this.#socket.destroyed) this.#pause();
  });
  /**
   * Received bytes: to the waiting read, or into the queue. Returns `false` when reading
   * must pause until somebody waits for bytes again (nobody waits, or bytes are left over).
   */
  #onBytes = (chunk: Uint8Array): boolean => {
    if (this.#resolveRead !== null) {
      this.#readDeadline.stop();
      const maxBytes = this.#readMax;
      if (chunk.length <= maxBytes) {
        this.#settleRead(chunk);
        return true;
      }
      this.#queue.push(chunk.subarray(maxBytes));
      this.#settleRead(view(chunk, maxBytes));
      return false;
    }
    this.#queue.push(chunk);
    return false;
  };
  /** Bytes from the `onread` slab (plain `Uint8Array` views already). */
  #onData = (chunk: Uint8Array): void => {
    if (!this.#onBytes(chunk)) this.#pause();
  };
  /** A 'data' event's `Buffer`: reads hand out plain `Uint8Array`s (a Buffer's `slice` does not copy). */
  #onDataEvent = (chunk: Uint8Array): void => {
    if (!this.#onBytes(view(chunk, chunk.length))) this.#pause();
  };
  #onEnd = (): void => {
    this.#eof = true;
    if (this.#resolveRead !== null) {
      this.#readDeadline.stop();
      this.#settleRead(EMPTY);
    }
  };
  #onError = (error: unknown): void => {
    if (this.#error === null) this.#error = error;
    if (this.#resolveRead !== null) {
      this.#readDeadline.stop();
      this.#failRead(this.#readError(error));
    }
  };
  #onClose = (): void => {
    this.#closed = true;
    if (this.#resolveRead !== null) {
      this.#readDeadline.stop();
      if (this.#error !== null) this.#failRead(this.#readError(this.#error));
      else this.#settleRead(EMPTY);
    }
  };

  /** Resolves the waiting read (there is one) with `bytes`. */
  #settleRead(bytes: Uint8Array): void {
    const resolve = this.#resolveRead!;
    this.#resolveRead = null;
    this.#rejectRead = nothing;
    resolve(bytes);
  }

  /** Fails the waiting read (there is one) with `error`. */
  #failRead(error: unknown): void {
    const reject = this.#rejectRead;
    this.#resolveRead = null;
    this.#rejectRead = nothing;
    reject(error);
  }

  /** Stops reading until a read waits again. */
  #pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  /**
   * Wraps a connected socket; `label` names the peer in reprs and messages. `inbox` is the
   * receiver the socket was made with in `onread` mode (by {@linkcode NodeNetworkBackend});
   * without one the stream listens to 'data' events.
   */
  constructor(
    socket: net.Socket,
    label: string,
    options: { host?: string; unix?: boolean; tls?: boolean; inbox?: SocketInbox } = {},
  ) {
    this.#socket = socket;
    this.#label = label;
    this.#host = options.host ?? label;
    this.#unix = options.unix ?? false;
    this.#tls = options.tls ?? false;
    const inbox = options.inbox ?? null;
    this.#inbox = inbox;
    if (inbox !== null) {
      // Reading stopped if bytes came already; the first read resumes it.
      this.#queue = inbox.early;
      inbox.early = [];
      inbox.deliver = this.#onData;
    } else {
      socket.pause();
      socket.on("data", this.#onDataEvent);
    }
    // Paused, or reading in `onread` mode: the first read resumes it either way.
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    if (socket.destroyed) this.#closed = true;
  }

  /** Whether the stream was closed (by us or because it failed). */
  get closed(): boolean {
    return this.#closed || this.#upgraded || this.#error !== null;
  }

  /**
   * Reads up to `maxBytes` (default 64 KiB). Resolves with an empty array at end of input.
   * The bytes are a view onto what Node received, not a copy; they belong to the caller.
   */
  read(maxBytes: number = DEFAULT_READ_SIZE, timeoutMs?: number | null): Promise<Uint8Array> {
    if (!(maxBytes > 0)) {
      return Promise.reject(new RangeError(`Invalid maxBytes "${maxBytes}": expected more than 0`));
    }
    const queue = this.#queue;
    if (queue.length > 0) return Promise.resolve(this.#take(maxBytes));
    if (this.#upgraded) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": the stream was upgraded to TLS`),
      );
    }
    if (this.#closedByUser) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": the stream is closed`),
      );
    }
    // A clean end of input stays the answer, even if the socket failed afterwards.
    if (this.#eof) return Promise.resolve(EMPTY);
    if (this.#error !== null) return Promise.reject(this.#readError(this.#error));
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": the stream is closed`),
      );
    }
    if (this.#resolveRead !== null) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": a read is already waiting`),
      );
    }
    const refused = this.#readDeadline.start(timeoutMs);
    if (refused !== null) return Promise.reject(refused);
    return this.#wait(maxBytes);
  }

  /**
   * Reads up to `target.length` bytes into `target` and resolves with the count, `0` at
   * end of input. Node hands received bytes over in its own buffers, so they are copied;
   * what it saves is allocating per read. Bytes already queued are copied at once.
   */
  readInto(target: Uint8Array, timeoutMs?: number | null): Promise<number> {
    if (!(target.length > 0)) {
      return Promise.reject(new RangeError(`Invalid target length "${target.length}"`));
    }
    const queue = this.#queue;
    if (queue.length > 0) {
      let filled = 0;
      while (queue.length > 0 && filled < target.length) {
        const bytes = this.#take(target.length - filled);
        target.set(bytes, filled);
        filled += bytes.length;
      }
      return Promise.resolve(filled);
    }
    return this.read(target.length, timeoutMs).then((bytes) => {
      target.set(bytes);
      return bytes.length;
    });
  }

  #wait(maxBytes: number): Promise<Uint8Array> {
    const read = new Promise<Uint8Array>(this.#holdRead);
    this.#readMax = maxBytes;
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
    return read;
  }

  #take(maxBytes: number): Uint8Array {
    const queue = this.#queue;
    const head = queue[0];
    if (head.length <= maxBytes) {
      queue.shift();
      return view(head, head.length);
    }
    queue[0] = head.subarray(maxBytes);
    return view(head, maxBytes);
  }

  /**
   * Writes all of `data`; resolves once Node has passed it on to the kernel. A small write
   * that is not the turn's first waits for the end of the event loop turn and goes out
   * with the other streams' (see the module documentation).
   */
  write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    const refusal = this.#unwritable();
    if (refusal !== null) return Promise.reject(refusal);
    if (data.length === 0) return Promise.resolve();
    if (
      this.#queued > 0 ||
      (turnStarted && data.length <= BATCH_MAX && this.#socket.writableLength === 0)
    ) {
      if (currentDeadline() === Infinity) {
        if (timeoutMs != null) {
          const refused = deadlineError("write", timeoutMs);
          if (refused !== null) return Promise.reject(refused);
        }
        const write: BatchedWrite = {
          stream: this,
          data,
          timeoutMs,
          resolve: nothing,
          reject: nothing,
        };
        this.#queued++;
        batch.push(write);
        return promiseOf(write);
      }
      // Under a deadline scope the write goes now (the batch runs outside every scope), after
      // this stream's queued writes.
      if (this.#queued > 0) NodeNetworkStream.#flushBatch();
    } else if (!turnStarted) {
      // The turn's first write goes at once (alone, as at one request in flight, it gains
      // nothing from waiting); the ones that follow it in this turn join the batch.
      turnStarted = true;
      setImmediate(NodeNetworkStream.#endTurn);
    }
    if (timeoutMs == null && currentDeadline() === Infinity) return this.#write(data);
    const refused = deadlineError("write", timeoutMs);
    if (refused !== null) return Promise.reject(refused);
    return this.#watched(this.#write(data), timeoutMs);
  }

  /** Why the stream cannot be written to, or `null`. */
  #unwritable(): WriteError | null {
    if (this.#upgraded) {
      return new WriteError(`Cannot write to "${this.#label}": the stream was upgraded to TLS`);
    }
    if (this.#error !== null) return this.#writeError(this.#error);
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) {
      return new WriteError(`Cannot write to "${this.#label}": the stream is closed`);
    }
    return null;
  }

  /** `written` under the write limit: only a write that waits for the kernel is watched. */
  #watched(written: Promise<void>, timeoutMs: number | null | undefined): Promise<void> {
    if (written === RESOLVED) return written;
    return withDeadline("write", timeoutMs, () => written, () => {
      // Part of the data may be on its way: the stream cannot be used any more.
      this.#socket.destroy();
    });
  }

  /** Writes of this stream waiting in the batch. */
  #queued = 0;

  /** The end of the turn: the next write goes at once again; the batch goes now. */
  static #endTurn = (): void => {
    turnStarted = false;
    NodeNetworkStream.#flushBatch();
  };

  /** Sends the batch: at the end of the turn, or earlier when order or closing needs it. */
  static #flushBatch = (): void => {
    if (batch.length === 0) return;
    const writes = batch;
    batch = [];
    // The writers' deadline scopes do not apply: only scope-free writes are batched.
    outsideScopes(() => {
      for (const write of writes) write.stream.#flush(write);
    });
  };

  #flush(write: BatchedWrite): void {
    this.#queued--;
    const refusal = this.#unwritable();
    if (refusal !== null) return write.reject(refusal);
    const written = this.#write(write.data);
    if (written === RESOLVED) return write.resolve();
    const timeoutMs = write.timeoutMs;
    (timeoutMs == null ? written : this.#watched(written, timeoutMs)).then(
      write.resolve,
      write.reject,
    );
  }

  /** The last bytes written, and the `Buffer` over the same memory that went to Node. */
  #lastData: Uint8Array | null = null;
  #lastBuffer: Buffer | null = null;

  #write(data: Uint8Array): Promise<void> {
    const socket = this.#socket;
    // Node turns every plain Uint8Array it is given into a Buffer over the same memory
    // (one typed array per write). A connection writes the same request head again and
    // again (see request_head.ts): its Buffer is kept and handed over instead. Only small
    // writes are kept, so that a large body chunk is not held once it went. (The length is
    // compared too: a view that tracks a resizable buffer's length changes its own.)
    let buffer: Uint8Array;
    if (data === this.#lastData && data.length === this.#lastBuffer!.length) {
      buffer = this.#lastBuffer!;
    } else if (Buffer.isBuffer(data)) buffer = data;
    else {
      buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
      if (data.length <= BATCH_MAX) {
        this.#lastData = data;
        this.#lastBuffer = buffer as Buffer;
      }
    }
    let settle: ((error?: Error | null) => void) | null = null;
    socket.write(buffer, (error?: Error | null) => settle?.(error));
    // Node hands small writes to the kernel at once; its buffer is then empty and the
    // bytes are accepted: nothing to wait for (the callback comes a tick later, unheard).
    // A write that failed at once destroyed the socket: its callback brings the error.
    if (socket.writableLength === 0 && !socket.destroyed) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      settle = (error) => {
        if (error) reject(this.#writeError(this.#error ?? error));
        else resolve();
      };
    });
  }

  /**
   * Upgrades the connection to TLS and returns the TLS stream; this one must not be used
   * afterwards. Verification is on unless `verify: false`. On a TLS stream the new session
   * runs inside the old one (TLS through an https:// proxy's tunnel).
   */
  async startTls(options: TlsOptions = {}, timeoutMs?: number | null): Promise<NodeNetworkStream> {
    // On a TLS stream this layers TLS inside TLS: node:tls takes a TLSSocket as its
    // transport (TLS to an https:// proxy, then TLS to the target through the tunnel).
    if (this.closed || this.#socket.destroyed) {
      throw new ConnectError(`Cannot start TLS on "${this.#label}": the stream is closed`);
    }
    if (this.#error !== null) throw this.#connectError("TLS handshake with", this.#error);
    const socket = this.#socket;
    let secureContext: tls.SecureContext | undefined;
    try {
      // CA files are read now, when a TLS connection needs them.
      secureContext = await secureContextFor(options);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (this.closed || socket.destroyed) {
      throw new ConnectError(`Cannot start TLS on "${this.#label}": the stream is closed`);
    }
    this.#detach();
    const hostname = unbracket(options.hostname ?? this.#host);
    const tlsSocket = tls.connect({
      socket,
      host: hostname,
      servername: net.isIP(hostname) ? undefined : hostname,
      secureContext,
      ALPNProtocols: options.alpnProtocols,
      rejectUnauthorized: options.verify ?? true,
    });
    const handshake = eventOrError(tlsSocket, "secureConnect");
    try {
      await withDeadline("connect", timeoutMs, () => handshake, () => tlsSocket.destroy());
    } catch (error) {
      tlsSocket.destroy();
      socket.destroy();
      if (error instanceof HTTPError) throw error;
      throw this.#connectError("TLS handshake with", error);
    }
    return new NodeNetworkStream(tlsSocket, this.#label, {
      host: this.#host,
      unix: this.#unix,
      tls: true,
    });
  }

  /** Stops listening on the socket and hands its queued bytes back to it. */
  #detach(): void {
    if (this.#queued > 0) NodeNetworkStream.#flushBatch();
    const socket = this.#socket;
    if (this.#inbox !== null) this.#inbox.deliver = null;
    else socket.off("data", this.#onDataEvent);
    socket.off("end", this.#onEnd);
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
    for (let i = this.#queue.length - 1; i >= 0; i--) socket.unshift(this.#queue[i]);
    this.#queue = [];
    this.#upgraded = true;
  }

  /**
   * Information about the stream: `"client_addr"`, `"server_addr"` (a
   * {@linkcode NetAddress}), `"alpn_protocol"`, `"tls"`, `"tls_info"` and `"socket"`.
   */
  getExtraInfo(key: ExtraInfoKey): unknown {
    const socket = this.#socket;
    switch (key) {
      case "client_addr":
        if (this.#unix) return { hostname: "", port: 0, transport: "unix" } satisfies NetAddress;
        return address(socket.localAddress, socket.localPort);
      case "server_addr":
        if (this.#unix) {
          return { hostname: this.#label, port: 0, transport: "unix" } satisfies NetAddress;
        }
        return address(socket.remoteAddress, socket.remotePort);
      case "alpn_protocol":
        return this.#tls ? ((socket as tls.TLSSocket).alpnProtocol || null) : null;
      case "tls":
        return this.#tls;
      case "tls_info": {
        if (!this.#tls) return null;
        const tlsSocket = socket as tls.TLSSocket;
        return {
          version: tlsSocket.getProtocol(),
          cipher: tlsSocket.getCipher(),
          peerCertificate: tlsSocket.getPeerCertificate(),
          authorized: tlsSocket.authorized,
        };
      }
      case "socket":
        return socket;
      default:
        return undefined;
    }
  }

  /**
   * Closes the stream and waits until the socket is gone. A TLS stream sends its closing
   * alert first when it can. Closing twice is harmless.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#upgraded) return this.#closing = Promise.resolve();
    // Writes made before closing go out first, as they would have without the batch.
    if (this.#queued > 0) NodeNetworkStream.#flushBatch();
    const socket = this.#socket;
    this.#closed = true;
    this.#closedByUser = true;
    if (this.#resolveRead !== null) {
      this.#failRead(new ReadError(`Cannot read from "${this.#label}": the stream was closed`));
    }
    this.#queue = [];
    if (socket.destroyed && (socket as { closed?: boolean }).closed !== false) {
      return this.#closing = Promise.resolve();
    }
    this.#closing = new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
    });
    if (this.#tls && socket.writable && socket.writableLength === 0 && !this.#error) {
      // Send close_notify and FIN, then let go without waiting for the peer; a peer that
      // does not take even that much gets the socket destroyed a little later.
      const timer = setTimeout(() => socket.destroy(), TLS_CLOSE_GRACE_MS);
      socket.once("close", () => clearTimeout(timer));
      socket.end(() => socket.destroy());
    } else {
      socket.destroy();
    }
    return this.#closing;
  }

  /** Closes the stream; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<NetworkStream ["127.0.0.1:80" TLS CLOSED]>` */
  toString(): string {
    return streamRepr(this.#label, this.#tls, this.closed);
  }

  #readError(error: unknown): ReadError {
    if (error instanceof ReadError) return error;
    return new ReadError(`Could not read from "${this.#label}": ${describeError(error)}`, {
      cause: error,
    });
  }

  #writeError(error: unknown): WriteError {
    if (error instanceof WriteError) return error;
    return new WriteError(`Could not write to "${this.#label}": ${describeError(error)}`, {
      cause: error,
    });
  }

  #connectError(what: string, error: unknown): ConnectError {
    return new ConnectError(`${what} "${this.#label}" failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

inspectAsRepr(NodeNetworkStream);

/** Resolves at `socket`'s first `event`, rejects at its first `error`; either removes both listeners. */
function eventOrError(socket: net.Socket, event: "connect" | "secureConnect"): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: unknown): void => {
      socket.off(event, onEvent);
      reject(error);
    };
    const onEvent = (): void => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once(event, onEvent);
  });
}

function view(chunk: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, Math.min(length, chunk.length));
}

function address(hostname: string | undefined, port: number | undefined): NetAddress {
  return { hostname: hostname ?? "", port: port ?? 0, transport: "tcp" };
}

/**
 * The network backend on `node:net` and `node:tls`, for Node 20+ and Bun. The default
 * `NetworkBackend` uses it when `Deno` is absent.
 *
 * @example Connect, then upgrade to TLS
 * ```ts ignore
 * import { NetworkBackend } from "@ferry/ferry/advanced";
 * const backend = new NetworkBackend(); // this backend, under Node and Bun
 * const plain = await backend.connect("example.com", 443, { timeoutMs: 5000 });
 * const stream = await plain.startTls({ hostname: "example.com", alpnProtocols: ["http/1.1"] });
 * console.log(String(stream)); // <NetworkStream ["93.184.215.14:443" TLS]>
 * await stream.close();
 * ```
 */
export class NodeNetworkBackend implements NetworkBackendInterface {
  /**
   * Opens a TCP connection to `host:port` with Nagle's algorithm off; with `options.tls`,
   * also completes a TLS handshake before returning.
   */
  connect(host: string, port: number, options: ConnectOptions = {}): Promise<NodeNetworkStream> {
    host = unbracket(host);
    const inbox = USE_ONREAD ? new SocketInbox() : undefined;
    const socket = net.connect({
      host,
      port,
      localAddress: options.localAddress,
      noDelay: true,
      onread: inbox?.onread,
    });
    return this.#open(socket, inbox, host, formatHostPort(host, port), false, options);
  }

  /** Opens a connection to the UNIX domain socket at `path`. */
  connectUnix(path: string, options: ConnectUnixOptions = {}): Promise<NodeNetworkStream> {
    const inbox = USE_ONREAD ? new SocketInbox() : undefined;
    const socket = net.connect({ path, onread: inbox?.onread });
    return this.#open(socket, inbox, path, path, true, options);
  }

  async #open(
    socket: net.Socket,
    inbox: SocketInbox | undefined,
    host: string,
    target: string,
    unix: boolean,
    options: ConnectOptions,
  ): Promise<NodeNetworkStream> {
    const started = options.tls && options.timeoutMs != null ? performance.now() : 0;
    const connected = eventOrError(socket, "connect");
    try {
      if (options.signal?.aborted) throw options.signal.reason;
      if (options.timeoutMs == null && currentDeadline() === Infinity && !options.signal) {
        await connected;
      } else {
        await withDeadline(
          "connect",
          options.timeoutMs,
          () => connected,
          () => socket.destroy(),
          options.signal,
        );
      }
    } catch (error) {
      socket.destroy();
      if (error instanceof HTTPError) throw error;
      if (options.signal?.aborted && error === options.signal.reason) throw error;
      throw new ConnectError(`Could not connect to "${target}": ${describeError(error)}`, {
        cause: error,
      });
    }
    if (!unix) socket.setNoDelay(true);
    let label = target;
    if (!unix && socket.remoteAddress) {
      label = formatHostPort(socket.remoteAddress, socket.remotePort!);
    }
    const stream = new NodeNetworkStream(socket, label, { host, unix, inbox });
    if (!options.tls) return stream;
    // TLS in the same step: the handshake gets what is left of the connect limit.
    const left = options.timeoutMs == null
      ? null
      : Math.max(0, options.timeoutMs - (performance.now() - started));
    return await stream.startTls(options.tls, left);
  }

  /** `<NetworkBackend [node]>` */
  toString(): string {
    return "<NetworkBackend [node]>";
  }
}

inspectAsRepr(NodeNetworkBackend);
