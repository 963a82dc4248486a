/**
 * The contract of the network layer: what every backend (Deno, Node, in-memory, or a
 * user's own) provides to the layers above.
 *
 * Timeouts: every awaited operation honours the current {@linkcode timeout} scope without
 * being told about it; the optional `timeoutMs` argument adds a per-phase limit (read,
 * write, connect) on top, and the earliest of the two wins. `null` or `undefined` means no
 * per-phase limit.
 *
 * @module
 */

/** Default number of bytes a {@linkcode NetworkStreamInterface.read} asks for: 64 KiB. */
export const DEFAULT_READ_SIZE = 65536;

/**
 * TLS settings: whom to trust and which certificate to show. The one type for a
 * connection's, a pool's and a proxy's settings (the client builds them from `verify`,
 * `cert` and `trustEnv`); {@linkcode TlsOptions} adds the server name and ALPN.
 *
 * Trust is the runtime's own store (on Node and Bun including `NODE_EXTRA_CA_CERTS`) plus
 * what these settings add; nothing replaces it.
 *
 * @example Trust a private CA, from a file read when the first TLS connection needs it
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * const pool = new ConnectionPool({ tls: { caFiles: ["/etc/ssl/private-ca.pem"] } });
 * ```
 */
export interface TlsSettings {
  /** Extra CA certificates (PEM) to trust besides the runtime's own. */
  caCerts?: string[];
  /**
   * Files (PEM bundles) or folders of CA certificates to trust besides the runtime's own,
   * read when a TLS connection first needs them. A file that cannot be read fails the
   * connection with a `ConnectError` naming it.
   */
  caFiles?: string[];
  /**
   * Also trust the certificates of `SSL_CERT_FILE` and `SSL_CERT_DIR`, read when a TLS
   * connection first needs them (a variable naming a missing file is skipped).
   */
  trustEnv?: boolean;
  /** A client certificate chain (PEM), sent when the server asks for one. */
  cert?: string;
  /** The private key (PEM) of {@linkcode TlsSettings.cert}. */
  key?: string;
  /**
   * Whether to verify the server's certificate chain and hostname. On by default;
   * switching it off is for tests and is refused by backends that cannot honour it.
   */
  verify?: boolean;
}

/** TLS settings for {@linkcode NetworkStreamInterface.startTls} and connecting. */
export interface TlsOptions extends TlsSettings {
  /** The server name sent in SNI and checked against the certificate. */
  hostname?: string;
  /** Protocols to offer in ALPN, such as `["http/1.1"]`. */
  alpnProtocols?: string[];
}

/** Options of {@linkcode NetworkBackendInterface.connect}. */
export interface ConnectOptions {
  /** A per-phase limit for connecting, in milliseconds (`null`: none). */
  timeoutMs?: number | null;
  /** A local address to bind the socket to before connecting. */
  localAddress?: string;
  /** Abandons the connect attempt when aborted. */
  signal?: AbortSignal;
  /**
   * Starts TLS right after connecting, in one step (on Deno, with a client certificate,
   * through `Deno.connectTls`, saving the reconnect that `startTls()` would need). A
   * backend that does not know this option returns a plain stream: callers check
   * `getExtraInfo("tls")` and call `startTls()` themselves when it is not `true`.
   */
  tls?: TlsOptions;
}

/** Options of {@linkcode NetworkBackendInterface.connectUnix}. */
export interface ConnectUnixOptions {
  /** A per-phase limit for connecting, in milliseconds (`null`: none). */
  timeoutMs?: number | null;
  /** Abandons the connect attempt when aborted. */
  signal?: AbortSignal;
}

/** An address as `getExtraInfo("client_addr")` and `getExtraInfo("server_addr")` report it. */
export interface NetAddress {
  /** The IP address, or the socket path for UNIX sockets. */
  hostname: string;
  /** The port, or 0 for UNIX sockets. */
  port: number;
  /** `"tcp"` or `"unix"`. */
  transport: "tcp" | "unix";
}

/**
 * Keys known to {@linkcode NetworkStreamInterface.getExtraInfo}. Backends return
 * `undefined` for keys they do not know.
 *
 * - `"client_addr"`, `"server_addr"`: a {@linkcode NetAddress}.
 * - `"alpn_protocol"`: the negotiated ALPN protocol, or `null`.
 * - `"tls"`: `true` once TLS is active.
 * - `"tls_info"`: what the runtime tells of the TLS session (version, cipher, peer
 *   certificate), where it tells anything.
 * - `"socket"`: the runtime's own socket object (`Deno.Conn`, `net.Socket`, …).
 */
export type ExtraInfoKey =
  | "client_addr"
  | "server_addr"
  | "alpn_protocol"
  | "tls"
  | "tls_info"
  | "socket"
  | (string & Record<never, never>);

/**
 * A byte stream to one peer, usually a TCP connection.
 *
 * Streams do no locking of their own: one reader and one writer at a time. The
 * `Connection` layer above provides the ordering.
 */
export interface NetworkStreamInterface {
  /**
   * Reads up to `maxBytes` (default 64 KiB) and returns them. Returns an empty array at end
   * of input (the peer closed its side). The returned bytes belong to the caller: the
   * stream does not reuse or overwrite them.
   */
  read(maxBytes?: number, timeoutMs?: number | null): Promise<Uint8Array>;
  /**
   * Optional: reads up to `target.length` bytes into the caller's `target` and resolves
   * with how many were written, `0` at end of input (so `target` must not be empty). The
   * bytes are copied into (or received straight into) `target`, so a caller that reuses
   * one buffer for every read allocates nothing per read. Same timeouts, errors and
   * one-reader rule as {@linkcode NetworkStreamInterface.read}; after a read that failed
   * or timed out, the stream may be closed and `target`'s content is unspecified.
   * Streams without it are read with `read()`.
   */
  readInto?(target: Uint8Array, timeoutMs?: number | null): Promise<number>;
  /** Writes all of `data`, waiting for the runtime to accept it (backpressure). */
  write(data: Uint8Array, timeoutMs?: number | null): Promise<void>;
  /**
   * Upgrades this stream to TLS and returns the TLS stream, which replaces this one: use
   * only the returned stream afterwards.
   */
  startTls(options?: TlsOptions, timeoutMs?: number | null): Promise<NetworkStreamInterface>;
  /** Information about the stream; see {@linkcode ExtraInfoKey}. */
  getExtraInfo(key: ExtraInfoKey): unknown;
  /** Closes the stream. Closing twice is harmless. */
  close(): Promise<void>;
  /** Whether {@linkcode NetworkStreamInterface.close} was called or the stream failed. */
  readonly closed?: boolean;
}

/** Opens {@linkcode NetworkStreamInterface}s. */
export interface NetworkBackendInterface {
  /** Opens a TCP connection to `host:port`. */
  connect(host: string, port: number, options?: ConnectOptions): Promise<NetworkStreamInterface>;
  /** Opens a connection to a UNIX domain socket. */
  connectUnix?(path: string, options?: ConnectUnixOptions): Promise<NetworkStreamInterface>;
}
