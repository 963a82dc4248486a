/**
 * Ferry's building blocks below the client: single connections, network backends and the
 * network contract, deadlines for your own I/O, and the hooks for file access and content
 * decoders. A `Client` (from `@ferry/ferry`) uses all of them for you.
 *
 * @example One connection, one request
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * const response = await connection.request("GET", "/");
 * console.log(String(connection), response.status); // <Connection "http://127.0.0.1:8080/" ACTIVE> 200
 * ```
 *
 * @example A deadline for your own awaited operation
 * ```ts ignore
 * import { withDeadline } from "@ferry/ferry/advanced";
 * await withDeadline("read", 1000, () => new Promise((resolve) => setTimeout(resolve, 10)));
 * ```
 *
 * @module
 */

// Connections.
export {
  Connection,
  type ConnectionOptions,
  type ConnectionRequestInit,
  type ConnectionState,
  openConnection,
  type OpenOptions,
} from "../connection/mod.ts";
export {
  Http2Connection,
  type Http2ConnectionOptions,
  type Http2ConnectionState,
} from "../http2/connection.ts";
export { NegotiatedConnection } from "../http2/negotiated_connection.ts";

// The network layer: backends and their contract.
export { NetworkBackend, type NetworkRuntime, type NetworkStream } from "../network/backend.ts";
export type {
  ConnectOptions,
  ConnectUnixOptions,
  ExtraInfoKey,
  NetAddress,
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
  TlsSettings,
} from "../network/types.ts";

// Deadlines for operations of your own (`timeout()` itself is in the root module).
export { currentDeadline, withDeadline } from "../timeout.ts";

// Hooks: file access, content decoders.
export { type FileAccess, type OpenedFile, setFileAccess } from "../runtime/files.ts";
export { registerDecoder, type StreamDecoder, supportedEncodings } from "../decoding.ts";

// Parts of the client's machinery, usable on their own.
export { parseSetCookie } from "../cookies.ts";
export { guessContentType } from "../content.ts";
export { MountPattern, Mounts } from "../mounts.ts";
