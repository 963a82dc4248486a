/**
 * Opening the network stream of a connection: TCP or a UNIX socket (retrying failed
 * connects with backoff), then TLS for `https`, with the `connection.*` trace events.
 * A pool calls this too, unless a proxy opens the stream instead.
 *
 * @module
 */

import { ConnectError, ConnectTimeout, UnsupportedProtocol } from "../errors.ts";
import type { Request, RequestExtensions } from "../models/request.ts";
import type {
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
  TlsSettings,
} from "../network/types.ts";
import { NetworkBackend } from "../network/backend.ts";
import { traced } from "../_trace.ts";
import type { Origin } from "../_origin.ts";

/**
 * The TLS options for talking to `origin` itself (directly or through a proxy's tunnel):
 * the name to send in SNI and check the certificate against (the `sniHostname` extension,
 * else the URL's host), ALPN `alpnProtocols` (`http/1.1` unless a pool with HTTP/2 offers `h2`
 * too), and the connection's or pool's settings.
 */
export function targetTlsOptions(
  origin: Origin,
  extensions: RequestExtensions | null | undefined,
  tls: TlsSettings = {},
  alpnProtocols: string[] = HTTP1_ONLY,
): TlsOptions & { hostname: string } {
  return {
    ...tls,
    hostname: extensions?.sniHostname ??
      (extensions?.["sni_hostname"] as string | undefined) ?? origin.host,
    alpnProtocols,
  };
}

/**
 * How to open the network stream of a connection.
 *
 * @example Through a UNIX socket, retrying a failed connect twice
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("http://localhost/", {
 *   uds: "/run/docker.sock",
 *   retries: 2,
 * });
 * ```
 */
export interface OpenOptions {
  /** Opens the streams; the default picks the runtime's. */
  backend?: NetworkBackendInterface;
  /** TLS settings for `https` origins. */
  tls?: TlsSettings;
  /** A local address to bind to. */
  localAddress?: string;
  /** Connect through this UNIX domain socket instead of TCP. */
  uds?: string;
  /** Connect attempts to retry after a failure, with exponential backoff. Default 0. */
  retries?: number;
}

/**
 * {@linkcode OpenOptions} plus what a pool decides for itself: the ALPN protocols to offer
 * (`["h2", "http/1.1"]` with HTTP/2 on; default `["http/1.1"]`). Not public API.
 */
export interface StreamOptions extends OpenOptions {
  /** The ALPN protocols to offer to an `https` origin. */
  alpnProtocols?: string[];
}

const HTTP1_ONLY = ["http/1.1"];

/** Opens a network stream to an origin: the step a proxy replaces. */
export type StreamOpener = (
  origin: Origin,
  request: Request | null,
) => Promise<NetworkStreamInterface>;

let defaultBackend: NetworkBackendInterface | null = null;

/** The backend used when none is given (made once). */
export function getDefaultBackend(): NetworkBackendInterface {
  return defaultBackend ??= new NetworkBackend();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens the network stream for `origin`: TCP (or a UNIX socket), then TLS for `https`,
 * retrying failed connects `retries` times with exponential backoff. Emits the
 * `connection.*` trace events. Not public API: connections and pools call it.
 */
export async function openStream(
  origin: Origin,
  options: StreamOptions,
  connectMs: number | null | undefined,
  extensions: RequestExtensions | null,
): Promise<NetworkStreamInterface> {
  const backend = options.backend ?? getDefaultBackend();
  const trace = extensions?.trace;
  const signal = extensions?.signal;
  const retries = options.retries ?? 0;
  let stream: NetworkStreamInterface;
  for (let attempt = 0;; attempt++) {
    try {
      if (options.uds !== undefined) {
        if (backend.connectUnix === undefined) {
          throw new UnsupportedProtocol("The network backend does not support UNIX sockets");
        }
        const connectUnix = (): Promise<NetworkStreamInterface> =>
          backend.connectUnix!(options.uds!, { timeoutMs: connectMs, signal });
        stream = trace
          ? await traced(trace, "connection.connect_unix_socket", {
            path: options.uds,
            timeout: connectMs ?? null,
          }, connectUnix)
          : await connectUnix();
      } else {
        const connect = (): Promise<NetworkStreamInterface> =>
          backend.connect(origin.host, origin.port, {
            timeoutMs: connectMs,
            localAddress: options.localAddress,
            signal,
          });
        stream = trace
          ? await traced(trace, "connection.connect_tcp", {
            host: origin.host,
            port: origin.port,
            local_address: options.localAddress ?? null,
            timeout: connectMs ?? null,
          }, connect)
          : await connect();
      }
      break;
    } catch (error) {
      if (
        attempt >= retries || !(error instanceof ConnectError) ||
        error instanceof ConnectTimeout || signal?.aborted
      ) throw error;
      // 0, 500, 1000, 2000 … ms, as httpcore's backoff factor of 0.5 s.
      if (attempt > 0) await sleep(500 * 2 ** (attempt - 1));
    }
  }
  if (origin.scheme === "https") {
    const tlsOptions = targetTlsOptions(origin, extensions, options.tls, options.alpnProtocols);
    const hostname = tlsOptions.hostname;
    const plain = stream;
    try {
      const startTls = (): Promise<NetworkStreamInterface> => plain.startTls(tlsOptions, connectMs);
      stream = trace
        ? await traced(trace, "connection.start_tls", {
          ssl_context: tlsOptions,
          server_hostname: hostname,
          timeout: connectMs ?? null,
        }, startTls)
        : await startTls();
    } catch (error) {
      await plain.close().catch(() => {});
      throw error;
    }
  }
  return stream;
}
