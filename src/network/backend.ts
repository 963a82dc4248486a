/**
 * The default network backend: Deno's under Deno, Node's elsewhere (Node, Bun). The
 * runtime's implementation is loaded on first use, so neither runtime loads the other's.
 *
 * @module
 */

import type {
  ConnectOptions,
  ConnectUnixOptions,
  NetworkBackendInterface,
  NetworkStreamInterface,
} from "./types.ts";
import { type RuntimeName, runtimeName } from "../runtime/detect.ts";
import { inspectAsRepr } from "../_inspect.ts";

/**
 * A stream as the default {@linkcode NetworkBackend} returns it: the
 * {@linkcode NetworkStreamInterface} plus `Symbol.asyncDispose`, for `await using`. The
 * class behind it is the runtime's (`DenoNetworkStream`, `NodeNetworkStream`).
 */
export type NetworkStream = NetworkStreamInterface & AsyncDisposable;

/** The runtimes {@linkcode NetworkBackend} knows. */
export type NetworkRuntime = RuntimeName;

let loaded: NetworkBackendInterface | null = null;
let loading: Promise<NetworkBackendInterface> | null = null;

/** Loads (once per process) the runtime's backend. */
function loadBackend(runtime: NetworkRuntime): Promise<NetworkBackendInterface> {
  loading ??= (async (): Promise<NetworkBackendInterface> => {
    if (runtime === "deno") {
      const { DenoNetworkBackend } = await import("./deno.ts");
      return loaded = new DenoNetworkBackend();
    }
    // Node and Bun: node:net and node:tls.
    const { NodeNetworkBackend } = await import("./node.ts");
    return loaded = new NodeNetworkBackend();
  })();
  return loading;
}

/**
 * The default network backend: opens TCP connections (and UNIX socket connections) with the
 * runtime's own API — `Deno.connect` under Deno, `node:net` under Node and Bun.
 *
 * Streams read up to 64 KiB at a time by default and return an empty array at end of
 * input; see {@linkcode NetworkStreamInterface}. Every call honours the current
 * {@linkcode timeout} scope, its `timeoutMs` and its `signal`.
 *
 * @example Send a request by hand
 * ```ts ignore
 * import { timeout } from "@ferry/ferry";
 * import { NetworkBackend } from "@ferry/ferry/advanced";
 * const net = new NetworkBackend();
 * console.log(String(net)); // <NetworkBackend [deno]>
 * await timeout(10_000, async () => {
 *   await using stream = await net.connect("example.com", 80);
 *   await stream.write(new TextEncoder().encode(
 *     "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
 *   ));
 *   for (let part = await stream.read(); part.length > 0; part = await stream.read()) {
 *     console.log(new TextDecoder().decode(part));
 *   }
 * });
 * ```
 */
export class NetworkBackend implements NetworkBackendInterface {
  /** Which runtime's implementation this backend uses. */
  readonly runtime: NetworkRuntime;

  /** Picks the runtime's implementation. */
  constructor() {
    this.runtime = runtimeName();
  }

  /** Opens a TCP connection to `host:port` (Nagle's algorithm off). */
  connect(host: string, port: number, options?: ConnectOptions): Promise<NetworkStream> {
    const backend = loaded;
    if (backend !== null) return backend.connect(host, port, options) as Promise<NetworkStream>;
    return loadBackend(this.runtime).then((backend) =>
      backend.connect(host, port, options) as Promise<NetworkStream>
    );
  }

  /** Opens a connection to the UNIX domain socket at `path`. */
  async connectUnix(path: string, options?: ConnectUnixOptions): Promise<NetworkStream> {
    const backend = loaded ?? await loadBackend(this.runtime);
    return await backend.connectUnix!(path, options) as NetworkStream;
  }

  /** `<NetworkBackend [deno]>` or `<NetworkBackend [node]>` */
  toString(): string {
    return `<NetworkBackend [${this.runtime}]>`;
  }
}

inspectAsRepr(NetworkBackend);
