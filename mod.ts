/**
 * Ferry: an httpx-style HTTP client for Deno and Node, over its own strict, incremental
 * HTTP/1.1 parser.
 *
 * @example A request through a connection pool
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * await using pool = new ConnectionPool();
 * const response = await pool.request("GET", "http://127.0.0.1:8080/");
 * console.log(response.status, await response.text());
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export { Headers, type HeadersInit } from "./src/models/headers.ts";
export {
  Request,
  type RequestExtensions,
  type RequestInit,
  type Timeouts,
  type TraceCallback,
} from "./src/models/request.ts";
export { Response, type ResponseExtensions, type ResponseInit } from "./src/models/response.ts";
export type { Transport } from "./src/transport.ts";
export type { BodySource, RequestContent } from "./src/models/body.ts";
export type {
  ConnectOptions,
  ConnectUnixOptions,
  ExtraInfoKey,
  NetAddress,
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
} from "./src/network/types.ts";
export {
  Connection,
  type ConnectionOptions,
  type ConnectionRequestInit,
  type ConnectionState,
  openConnection,
  type OpenOptions,
  type TlsSettings,
} from "./src/connection.ts";
export { ConnectionPool, type ConnectionPoolOptions, type PoolRequestInit } from "./src/pool.ts";
