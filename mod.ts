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
export {
  HTTPStatusError,
  Response,
  type ResponseExtensions,
  type ResponseInit,
} from "./src/models/response.ts";
export type { Transport } from "./src/models/transport.ts";
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
export { NetworkBackend, type NetworkRuntime, type NetworkStream } from "./src/network/backend.ts";
export { currentDeadline, timeout, type TimeoutScope, withDeadline } from "./src/timeout.ts";
export type { DefaultEncoding } from "./src/models/response.ts";
export { codes } from "./src/models/status.ts";
export { QueryParams, type QueryParamsInit, type QueryValue } from "./src/models/query_params.ts";
export {
  type CertInit,
  Client,
  type ClientOptions,
  type EventHooks,
  type Limits,
  type RequestHook,
  type RequestOptions,
  type ResponseHook,
  type SendOptions,
} from "./src/client.ts";
export type { TimeoutInit } from "./src/merge.ts";
export type { Fetch, FetchInit } from "./src/client_fetch.ts";
export { fetch } from "./src/fetch.ts";
export {
  del,
  delete,
  get,
  head,
  type OneOffOptions,
  options,
  patch,
  post,
  put,
  request,
  stream,
} from "./src/api.ts";
export {
  type Cookie,
  Cookies,
  type CookieScope,
  type CookiesInit,
  parseSetCookie,
} from "./src/cookies.ts";
export {
  Auth,
  type AuthFlow,
  type AuthFunction,
  type AuthInit,
  BasicAuth,
  DigestAuth,
  FunctionAuth,
  NetRCAuth,
  type NetRCAuthOptions,
  type NetRCEntry,
} from "./src/auth.ts";
export {
  type BodyInit,
  Content,
  type EncodedContent,
  FileContent,
  type FileOptions,
  type FilePart,
  Files,
  type FilesInit,
  type FileSource,
  type FileValue,
  Form,
  guessContentType,
  HTML,
  JSON,
  JSONContent,
  MultiPart,
  type MultiPartOptions,
  Text,
} from "./src/content.ts";
export { registerDecoder, type StreamDecoder, supportedEncodings } from "./src/decoding.ts";
export { type FileAccess, type OpenedFile, setFileAccess } from "./src/runtime/files.ts";
export { MountPattern, Mounts } from "./src/mounts.ts";
export { type MockHandler, MockTransport } from "./src/transports/mock.ts";
export {
  type AppConnectionInfo,
  AppTransport,
  type AppTransportOptions,
  type FetchHandler,
} from "./src/transports/app.ts";
export { VERSION } from "./src/version.ts";
export {
  Connection,
  type ConnectionOptions,
  type ConnectionRequestInit,
  type ConnectionState,
  openConnection,
  type OpenOptions,
  type TlsSettings,
} from "./src/connection/mod.ts";
export {
  Http2Connection,
  type Http2ConnectionOptions,
  type Http2ConnectionState,
} from "./src/http2/connection.ts";
export { NegotiatedConnection } from "./src/http2/negotiated_connection.ts";
export { ConnectionPool, type ConnectionPoolOptions, type PoolRequestInit } from "./src/pool.ts";
export {
  type Environment,
  getEnvironmentProxies,
  ipInCidr,
  readEnvironment,
} from "./src/proxy/env.ts";
export { Proxy, type ProxyInit, type ProxyLike, type ProxyMode } from "./src/proxy/proxy.ts";
export { socks5Connect, type Socks5Options } from "./src/proxy/socks5.ts";
export { openTunnel, type TunnelOptions } from "./src/proxy/tunnel.ts";
