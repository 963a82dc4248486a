/**
 * The network backend for Deno: TCP on `Deno.connect` (no-delay on), UNIX sockets with
 * `transport: "unix"`, TLS with `Deno.startTls` or, when a client certificate is needed,
 * `Deno.connectTls`.
 *
 * Reading allocates little and copies nothing: each stream reads into a 64 KiB slab and
 * hands out the filled part as a view, moving on through the slab; a new slab is made when
 * the rest is too small. Views are never overwritten, so the bytes belong to the caller.
 *
 * Client certificates: `Deno.startTls` cannot send one, `Deno.connectTls` can. So
 * `connect(host, port, { tls })` with a certificate uses `Deno.connectTls` directly, and
 * `startTls()` with a certificate on a stream that has exchanged no byte yet closes it and
 * connects again with `Deno.connectTls` (one more TCP handshake). Both need the server
 * name to be the host connected to.
 *
 * What Deno cannot do, and what this backend therefore refuses with a clear
 * {@linkcode ConnectError}: `verify: false` (Deno always checks the chain; trust the
 * server's CA through `caCerts` instead), a client certificate once bytes went over the
 * stream (through a proxy tunnel) or with a server name other than the host, and
 * `localAddress`.
 *
 * A view returned by `read()` keeps its 64 KiB slab alive: copy small pieces you keep for
 * long.
 *
 * @module
 */

import { ConnectError, HTTPError, ReadError, TimeoutException, WriteError } from "../errors.ts";
import { Deadline, setTimerUnrefHook, withDeadline } from "../timeout.ts";
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
import { extraCaCertificates } from "./ca_certs.ts";
import { inspectAsRepr } from "../_inspect.ts";

// Timers unref'd the Deno way when setTimeout hands back a plain number.
const deno = (globalThis as { Deno?: typeof Deno }).Deno;
if (typeof deno?.unrefTimer === "function") {
  setTimerUnrefHook((timer) => {
    if (typeof timer === "number") deno.unrefTimer(timer);
  });
}

/** Bytes per read slab. */
const SLAB_SIZE = 65536;
const EMPTY = new Uint8Array(0);
/** A slab with less than this left (and less than asked for) is replaced. */
const MIN_TAIL = 16384;

type AnyConn = Deno.TcpConn | Deno.TlsConn | Deno.UnixConn;

/**
 * A byte stream over a `Deno.Conn`. Made by {@linkcode DenoNetworkBackend}.
 *
 * `read()` resolves with an empty array at end of input. A read or write that times out
 * closes the stream (part of the operation may have happened). Using a closed stream
 * fails with {@linkcode ReadError} or {@linkcode WriteError} ("the stream is closed").
 *
 * @example Send a request by hand (the default backend makes these under Deno)
 * ```ts ignore
 * import { NetworkBackend } from "@ferry/ferry/advanced";
 * await using stream = await new NetworkBackend().connect("example.com", 80);
 * await stream.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"));
 * console.log(new TextDecoder().decode(await stream.read()));
 * ```
 */
export class DenoNetworkStream implements NetworkStreamInterface {
  #conn: AnyConn;
  #label: string;
  #host: string;
  #unix: boolean;
  #tls: boolean;
  #alpn: string | null;
  #sni: string | null;
  #closed = false;
  #upgraded = false;
  #reading = false;
  /** No byte was read or written yet (a client certificate can still reconnect). */
  #fresh = true;
  #port: number;
  #slab: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #closeConn = (): void => this.#shut();
  /**
   * The read and write deadlines, reused operation after operation: an expiry closes the
   * connection, which makes the pending `Deno.Conn` call fail, and the operation then
   * reports the timeout.
   */
  #readDeadline = new Deadline("read", this.#closeConn);
  #writeDeadline = new Deadline("write", this.#closeConn);

  /** Wraps a connected `Deno.Conn`; `label` names the peer in reprs and messages. */
  constructor(
    conn: AnyConn,
    label: string,
    options: {
      host?: string;
      port?: number;
      unix?: boolean;
      tls?: boolean;
      alpnProtocol?: string | null;
      sni?: string | null;
    } = {},
  ) {
    this.#conn = conn;
    this.#label = label;
    this.#host = options.host ?? label;
    this.#port = options.port ?? 0;
    this.#unix = options.unix ?? false;
    this.#tls = options.tls ?? false;
    this.#alpn = options.alpnProtocol ?? null;
    this.#sni = options.sni ?? null;
  }

  /** Whether the stream was closed, failed, or was replaced by its TLS stream. */
  get closed(): boolean {
    return this.#closed || this.#upgraded;
  }

  /**
   * Reads up to `maxBytes` (default 64 KiB). Resolves with an empty array at end of input.
   * The bytes are a view onto a read slab that is never written again: they belong to the
   * caller.
   */
  read(maxBytes: number = DEFAULT_READ_SIZE, timeoutMs?: number | null): Promise<Uint8Array> {
    if (this.#closed || this.#upgraded) return Promise.reject(this.#unusable("read from"));
    if (!(maxBytes > 0)) return Promise.reject(new RangeError(`Invalid maxBytes "${maxBytes}"`));
    if (this.#reading) {
      // Two reads would fill the same part of the slab.
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": a read is already waiting`),
      );
    }
    this.#fresh = false;
    const refused = this.#readDeadline.start(timeoutMs);
    if (refused !== null) return Promise.reject(refused);
    return this.#read(maxBytes);
  }

  /**
   * Starts the read for {@linkcode DenoNetworkStream.read}. Not an async function: the
   * slab part being filled is kept on the stream (reads never overlap) and the runtime's
   * promise is continued with two handlers made once per stream, which allocates a few
   * hundred bytes fewer per read than a generator frame and its await closures.
   */
  #read(maxBytes: number): Promise<Uint8Array> {
    let slab = this.#slab;
    let offset = this.#offset;
    let room = slab.length - offset;
    if (maxBytes > SLAB_SIZE) {
      slab = new Uint8Array(maxBytes);
      offset = 0;
      room = maxBytes;
    } else if (room < maxBytes && room < MIN_TAIL) {
      slab = this.#slab = new Uint8Array(SLAB_SIZE);
      offset = this.#offset = 0;
      room = SLAB_SIZE;
    }
    const view = slab.subarray(offset, offset + (room < maxBytes ? room : maxBytes));
    this.#readSlab = slab;
    this.#readOffset = offset;
    this.#readView = view;
    this.#reading = true;
    return this.#conn.read(view).then(this.#onRead, this.#onReadError);
  }

  /** The slab, offset and view of the read in progress. */
  #readSlab: Uint8Array = EMPTY;
  #readOffset = 0;
  #readView: Uint8Array = EMPTY;

  #onRead = (count: number | null): Uint8Array | Promise<Uint8Array> => {
    const deadline = this.#readDeadline;
    if (deadline.error !== null) {
      this.#endRead();
      throw deadline.error;
    }
    // Nothing read yet (not the end): read again into the same place.
    if (count === 0) return this.#conn.read(this.#readView).then(this.#onRead, this.#onReadError);
    const slab = this.#readSlab;
    const offset = this.#readOffset;
    this.#endRead();
    if (count === null) return new Uint8Array(0);
    if (slab === this.#slab) this.#offset = offset + count;
    return slab.subarray(offset, offset + count);
  };

  #onReadError = (error: unknown): never => {
    const deadline = this.#readDeadline;
    this.#endRead();
    throw deadline.error ?? this.#failure(error, "read from", ReadError);
  };

  #endRead(): void {
    this.#reading = false;
    this.#readSlab = this.#readView = EMPTY;
    this.#readDeadline.stop();
  }

  /**
   * Reads up to `target.length` bytes straight into `target` (no slab, no copy) and
   * resolves with the count, `0` at end of input. A read that times out closes the stream.
   */
  readInto(target: Uint8Array, timeoutMs?: number | null): Promise<number> {
    if (this.#closed || this.#upgraded) return Promise.reject(this.#unusable("read from"));
    if (!(target.length > 0)) {
      return Promise.reject(new RangeError(`Invalid target length "${target.length}"`));
    }
    if (this.#reading) {
      return Promise.reject(
        new ReadError(`Cannot read from "${this.#label}": a read is already waiting`),
      );
    }
    this.#fresh = false;
    const refused = this.#readDeadline.start(timeoutMs);
    if (refused !== null) return Promise.reject(refused);
    return this.#readInto(target);
  }

  async #readInto(target: Uint8Array): Promise<number> {
    const deadline = this.#readDeadline;
    this.#reading = true;
    try {
      for (;;) {
        let count: number | null;
        try {
          count = await this.#conn.read(target);
        } catch (error) {
          throw deadline.error ?? this.#failure(error, "read from", ReadError);
        }
        if (deadline.error !== null) throw deadline.error;
        if (count === null) return 0;
        if (count > 0) return count;
      }
    } finally {
      this.#reading = false;
      deadline.stop();
    }
  }

  /**
   * Writes all of `data`, waiting while the kernel's buffer is full. Writes may overlap:
   * each goes out after the ones before it, whole (never interleaved with another).
   */
  write(data: Uint8Array, timeoutMs?: number | null): Promise<void> {
    if (this.#closed || this.#upgraded) return Promise.reject(this.#unusable("write to"));
    if (data.length === 0) return Promise.resolve();
    this.#fresh = false;
    this.#writesPending++;
    if (this.#writesPending > 1) {
      // Another write is in progress: this one follows it, with a wait of its own that
      // counts from now, and its state in its own frame.
      const after = this.#writeTail!;
      const run = () => this.#writeAll(data);
      const written = withDeadline("write", timeoutMs, () => after.then(run, run), this.#closeConn);
      this.#writeTail = written;
      return written;
    }
    const deadline = this.#writeDeadline;
    const refused = deadline.start(timeoutMs);
    if (refused !== null) {
      this.#writesPending--;
      return Promise.reject(refused);
    }
    // As #read: the rest to write is kept on the stream, the handlers are made once.
    this.#writing = data;
    const written = this.#conn.write(data).then(this.#onWrite, this.#onWriteError);
    this.#writeTail = written;
    return written;
  }

  /** Writes started and not yet settled (the first one on the fast path). */
  #writesPending = 0;
  /** The last write started: the next overlapping one goes after it. */
  #writeTail: Promise<void> | null = null;
  /** What is left of the first write in progress, or `null`. */
  #writing: Uint8Array | null = null;

  #onWrite = (count: number): void | Promise<void> => {
    const deadline = this.#writeDeadline;
    const rest = this.#writing!;
    if (deadline.error === null && count < rest.length) {
      // The kernel took part of it: write the rest.
      const next = this.#writing = rest.subarray(count);
      return this.#conn.write(next).then(this.#onWrite, this.#onWriteError);
    }
    this.#writing = null;
    this.#writesPending--;
    deadline.stop();
    if (deadline.error !== null) throw deadline.error;
  };

  #onWriteError = (error: unknown): never => {
    const deadline = this.#writeDeadline;
    this.#writing = null;
    this.#writesPending--;
    deadline.stop();
    throw deadline.error ?? this.#failure(error, "write to", WriteError);
  };

  /** An overlapping write, once the ones before it settled: all of `data`. */
  async #writeAll(data: Uint8Array): Promise<void> {
    const conn = this.#conn;
    let rest = data;
    try {
      if (this.#closed) throw this.#unusable("write to");
      for (;;) {
        const count = await conn.write(rest);
        if (count >= rest.length) return;
        rest = rest.subarray(count);
      }
    } catch (error) {
      throw this.#failure(error, "write to", WriteError);
    } finally {
      this.#writesPending--;
    }
  }

  /**
   * Upgrades the connection to TLS and returns the TLS stream; this one must not be used
   * afterwards. The server's certificate chain and name are always checked (`verify:
   * false` is refused). With a client certificate, a stream that has exchanged no byte
   * yet is replaced by a new `Deno.connectTls` connection (see the module notes).
   */
  async startTls(options: TlsOptions = {}, timeoutMs?: number | null): Promise<DenoNetworkStream> {
    const label = this.#label;
    if (this.#tls) throw new ConnectError(`Cannot start TLS on "${label}": TLS is already active`);
    if (this.#closed || this.#upgraded) {
      throw new ConnectError(`Cannot start TLS on "${label}": the stream is closed`);
    }
    if (this.#unix) {
      throw new ConnectError(`Cannot start TLS on "${label}": Deno has no TLS over UNIX sockets`);
    }
    if (options.cert !== undefined || options.key !== undefined) {
      return await this.#reconnectWithCertificate(options, timeoutMs);
    }
    checkTlsOptions(options, label);
    const hostname = options.hostname ?? this.#host;
    // CA files are read now, when a TLS connection needs them (a ConnectError if they cannot be).
    const caCerts = await extraCaCertificates(options);
    this.#upgraded = true;
    let tlsConn: Deno.TlsConn | null = null;
    let abandoned = false;
    let info: Deno.TlsHandshakeInfo;
    try {
      info = await withDeadline("connect", timeoutMs, async () => {
        tlsConn = await Deno.startTls(this.#conn as Deno.TcpConn, {
          hostname,
          caCerts: caCerts.length > 0 ? [...caCerts] : undefined,
          alpnProtocols: options.alpnProtocols,
        });
        if (abandoned) closeQuietly(tlsConn);
        return await tlsConn.handshake();
      }, () => {
        abandoned = true;
        closeQuietly(tlsConn ?? this.#conn);
      });
    } catch (error) {
      closeQuietly(tlsConn ?? this.#conn);
      this.#closed = true;
      if (error instanceof HTTPError) throw error;
      throw new ConnectError(`TLS handshake with "${label}" failed: ${describeTlsError(error)}`, {
        cause: error,
      });
    }
    return new DenoNetworkStream(tlsConn!, label, {
      host: this.#host,
      tls: true,
      alpnProtocol: info.alpnProtocol,
      sni: hostname,
    });
  }

  /**
   * `Deno.startTls` cannot send a client certificate; `Deno.connectTls` can. A stream that
   * has exchanged no byte yet (a direct connection, not a proxy tunnel) is closed and
   * replaced by a new TLS connection to the same host and port. Otherwise the upgrade is
   * refused with a {@linkcode ConnectError} that says why.
   */
  async #reconnectWithCertificate(
    options: TlsOptions,
    timeoutMs: number | null | undefined,
  ): Promise<DenoNetworkStream> {
    const label = this.#label;
    if (!this.#fresh || this.#port === 0) {
      throw new ConnectError(
        `Cannot start TLS on "${label}" with a client certificate: Deno.startTls cannot ` +
          "send one, and bytes were already exchanged on this stream (a proxy tunnel?)",
      );
    }
    const hostname = options.hostname ?? this.#host;
    checkTlsOptions(options, label);
    if (hostname !== this.#host) {
      throw new ConnectError(
        `Cannot start TLS on "${label}" with a client certificate and the server name ` +
          `"${hostname}": Deno.connectTls uses one name for connecting and checking`,
      );
    }
    this.#upgraded = true;
    this.#closed = true;
    closeQuietly(this.#conn);
    return await connectTlsStream(this.#host, this.#port, options, { timeoutMs });
  }

  /**
   * Information about the stream: `"client_addr"`, `"server_addr"` (a
   * {@linkcode NetAddress}), `"alpn_protocol"`, `"tls"`, `"tls_info"` (`{ alpnProtocol,
   * serverName }`: Deno tells nothing of version, cipher or certificate) and `"socket"`
   * (the `Deno.Conn`).
   */
  getExtraInfo(key: ExtraInfoKey): unknown {
    switch (key) {
      case "client_addr":
        return toNetAddress(this.#conn.localAddr, this.#unix ? "" : undefined);
      case "server_addr":
        return toNetAddress(this.#conn.remoteAddr, this.#unix ? this.#label : undefined);
      case "alpn_protocol":
        return this.#alpn;
      case "tls":
        return this.#tls;
      case "tls_info":
        return this.#tls ? { alpnProtocol: this.#alpn, serverName: this.#sni } : null;
      case "socket":
        return this.#conn;
      default:
        return undefined;
    }
  }

  /** Closes the stream. Closing twice (or after an upgrade to TLS) is harmless. */
  close(): Promise<void> {
    if (!this.#upgraded) this.#shut();
    this.#closed = true;
    return Promise.resolve();
  }

  /** Closes the stream; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<NetworkStream ["127.0.0.1:80" TLS CLOSED]>` */
  toString(): string {
    return streamRepr(this.#label, this.#tls, this.closed);
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slab = new Uint8Array(0);
    closeQuietly(this.#conn);
  }

  #unusable(what: "read from" | "write to"): Error {
    const reason = this.#upgraded ? "the stream was upgraded to TLS" : "the stream is closed";
    const ErrorClass = what === "read from" ? ReadError : WriteError;
    return new ErrorClass(`Cannot ${what} "${this.#label}": ${reason}`);
  }

  #failure(
    error: unknown,
    what: string,
    ErrorClass: typeof ReadError | typeof WriteError,
  ): Error {
    if (error instanceof HTTPError) return error;
    const closedHere = this.#closed;
    this.#shut();
    if (closedHere) {
      return new ErrorClass(`Cannot ${what} "${this.#label}": the stream was closed`, {
        cause: error,
      });
    }
    return new ErrorClass(`Could not ${what} "${this.#label}": ${describeError(error)}`, {
      cause: error,
    });
  }
}

inspectAsRepr(DenoNetworkStream);

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // Already closed, or consumed by Deno.startTls.
  }
}

function toNetAddress(addr: Deno.Addr, unixPath: string | undefined): NetAddress {
  // TLS connections report { hostname, port } without a transport.
  const { hostname, port, path } = addr as { hostname?: string; port?: number; path?: string };
  if (unixPath !== undefined || addr.transport === "unix") {
    return { hostname: unixPath ?? path ?? "", port: 0, transport: "unix" };
  }
  return { hostname: hostname ?? "", port: port ?? 0, transport: "tcp" };
}

function checkTlsOptions(options: TlsOptions, label: string): void {
  if (options.verify === false) {
    throw new ConnectError(
      `Cannot start TLS on "${label}" with verify: false: Deno always verifies the ` +
        "server's certificate; trust its CA with caCerts instead",
    );
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new ConnectError(
      `Cannot start TLS on "${label}": a client certificate needs both cert and key`,
    );
  }
}

/** What rustls's error names mean, for messages. */
const TLS_PHRASES: [RegExp, string][] = [
  [/UnknownIssuer/, "the certificate is signed by an unknown authority"],
  [/\bExpired\b/, "the certificate has expired"],
  [/NotValidYet/, "the certificate is not valid yet"],
  [/not valid for name|NotValidForName/, "the certificate is not valid for this name"],
  [/CertificateRequired/, "the server requires a client certificate"],
  [/BadCertificate|DecryptError/, "the server rejected the certificate"],
  [/NoApplicationProtocol/, "no ALPN protocol in common"],
];

function describeTlsError(error: unknown): string {
  const raw = describeError(error);
  for (const [pattern, phrase] of TLS_PHRASES) if (pattern.test(raw)) return `${phrase} (${raw})`;
  return raw;
}

/**
 * The network backend on `Deno.connect`, `Deno.startTls` and `Deno.connectTls`. The
 * default {@linkcode NetworkBackend} uses it under Deno.
 *
 * @example Connect, then upgrade to TLS (the default backend is this one under Deno)
 * ```ts ignore
 * import { NetworkBackend } from "@ferry/ferry/advanced";
 * const backend = new NetworkBackend();
 * const plain = await backend.connect("example.com", 443, { timeoutMs: 5000 });
 * await using stream = await plain.startTls({ hostname: "example.com", alpnProtocols: ["http/1.1"] });
 * console.log(String(stream)); // <NetworkStream ["93.184.215.14:443" TLS]>
 * ```
 */
export class DenoNetworkBackend implements NetworkBackendInterface {
  /**
   * Opens a TCP connection to `host:port` with Nagle's algorithm off. With `tls`, also
   * starts TLS (through `Deno.connectTls`, which can send a client certificate).
   */
  async connect(
    host: string,
    port: number,
    options: ConnectOptions = {},
  ): Promise<DenoNetworkStream> {
    const target = formatHostPort(host, port);
    if (options.localAddress !== undefined) {
      throw new ConnectError(
        `Cannot connect to "${target}" from local address "${options.localAddress}": ` +
          "Deno.connect cannot bind one",
      );
    }
    const tlsOptions = options.tls;
    if (tlsOptions?.cert !== undefined || tlsOptions?.key !== undefined) {
      return await connectTlsStream(host, port, tlsOptions!, options);
    }
    const cancel = new AbortController();
    const conn = await open(
      () => Deno.connect({ hostname: host, port, signal: cancel.signal }),
      () => cancel.abort(),
      target,
      options,
    );
    conn.setNoDelay(true);
    const remote = conn.remoteAddr;
    const stream = new DenoNetworkStream(conn, formatHostPort(remote.hostname, remote.port), {
      host,
      port,
    });
    if (tlsOptions === undefined) return stream;
    return await stream.startTls(tlsOptions, options.timeoutMs);
  }

  /** Opens a connection to the UNIX domain socket at `path`. */
  async connectUnix(path: string, options: ConnectUnixOptions = {}): Promise<DenoNetworkStream> {
    const conn = await open(
      () => Deno.connect({ transport: "unix", path }),
      () => {},
      path,
      options,
    );
    return new DenoNetworkStream(conn, path, { host: path, unix: true });
  }

  /** `<NetworkBackend [deno]>` */
  toString(): string {
    return "<NetworkBackend [deno]>";
  }
}

inspectAsRepr(DenoNetworkBackend);

/**
 * Connects and starts TLS in one step with `Deno.connectTls`, the only Deno API that can
 * send a client certificate. It takes one name for connecting, SNI and the certificate
 * check, so the server name must be the host.
 */
async function connectTlsStream(
  host: string,
  port: number,
  tls: TlsOptions,
  options: ConnectOptions,
): Promise<DenoNetworkStream> {
  const target = formatHostPort(host, port);
  checkTlsOptions(tls, target);
  const caCerts = await extraCaCertificates(tls);
  const hostname = tls.hostname ?? host;
  if (hostname !== host) {
    throw new ConnectError(
      `Cannot connect to "${target}" with a client certificate and the server name ` +
        `"${hostname}": Deno.connectTls uses one name for both`,
    );
  }
  let tlsConn: Deno.TlsConn | null = null;
  let abandoned = false;
  let info: Deno.TlsHandshakeInfo;
  try {
    info = await withDeadline("connect", options.timeoutMs, async () => {
      tlsConn = await Deno.connectTls({
        hostname: host,
        port,
        caCerts: caCerts.length > 0 ? [...caCerts] : undefined,
        alpnProtocols: tls.alpnProtocols,
        cert: tls.cert!,
        key: tls.key!,
      });
      if (abandoned) closeQuietly(tlsConn);
      return await tlsConn.handshake();
    }, () => {
      abandoned = true;
      if (tlsConn) closeQuietly(tlsConn);
    }, options.signal);
  } catch (error) {
    if (tlsConn) closeQuietly(tlsConn);
    if (error instanceof HTTPError || isAbortReason(error, options.signal)) throw error;
    throw new ConnectError(`TLS connection to "${target}" failed: ${describeTlsError(error)}`, {
      cause: error,
    });
  }
  const conn = tlsConn! as Deno.TlsConn;
  const remote = conn.remoteAddr;
  return new DenoNetworkStream(conn, formatHostPort(remote.hostname, remote.port), {
    host,
    port,
    tls: true,
    alpnProtocol: info.alpnProtocol,
    sni: hostname,
  });
}

function isAbortReason(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal !== undefined && signal.aborted && error === signal.reason;
}

/**
 * Connects under the connect deadline and `signal`. A connection that completes after the
 * deadline passed is closed at once: a timed-out connect leaves nothing open.
 */
async function open<C extends { close(): void }>(
  connect: () => Promise<C>,
  cancel: () => void,
  target: string,
  options: ConnectUnixOptions,
): Promise<C> {
  let abandoned = false;
  try {
    return await withDeadline(
      "connect",
      options.timeoutMs,
      () =>
        connect().then((conn) => {
          if (abandoned) closeQuietly(conn);
          return conn;
        }),
      () => {
        abandoned = true;
        cancel();
      },
      options.signal,
    );
  } catch (error) {
    if (error instanceof HTTPError || isAbortReason(error, options.signal)) throw error;
    if (error instanceof TimeoutException) throw error;
    throw new ConnectError(`Could not connect to "${target}": ${describeError(error)}`, {
      cause: error,
    });
  }
}
