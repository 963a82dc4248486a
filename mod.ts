/**
 * Ferry: an HTTP client for Deno, Node and Bun in the style of Python's httpx. A
 * {@linkcode Client} keeps connections, cookies and settings across requests: base URL,
 * default headers and params, auth, redirects (not followed unless asked), timeouts that
 * reach every socket operation, proxies from options or the environment, and typed errors
 * with httpx's names.
 *
 * @example A client
 * ```ts ignore
 * import { Client } from "@ferry/ferry";
 * await using client = new Client({ baseUrl: "https://api.example.com", timeout: 10_000 });
 * const response = await client.get("/items", { params: { page: 2 } });
 * response.raiseForStatus();
 * console.log(response.status, await response.json());
 * ```
 *
 * @example One request without a client
 * ```ts ignore
 * import { get } from "@ferry/ferry";
 * const response = await get("https://example.com/");
 * console.log(String(response)); // <Response [200 OK]>
 * ```
 *
 * Building blocks live in subpaths: `@ferry/ferry/advanced` (connections, network backends,
 * deadlines, file access and decoder hooks), `@ferry/ferry/proxy` (SOCKS5, `CONNECT`
 * tunnels, environment proxies), `@ferry/ferry/http11` (the sans-IO parser and writer) and
 * `@ferry/ferry/testing` (an in-memory network).
 *
 * @module
 */

// The client and one-off requests.
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
export type { RetryClock, RetryEvent, RetryInit, RetryOptions } from "./src/retry.ts";
export type { Progress, ProgressCallback } from "./src/progress.ts";
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

// Requests, responses and their parts.
export { Headers, type HeadersInit } from "./src/models/headers.ts";
export { QueryParams, type QueryParamsInit, type QueryValue } from "./src/models/query_params.ts";
export {
  Request,
  type RequestExtensions,
  type RequestInit,
  type Timeouts,
  type TraceCallback,
} from "./src/models/request.ts";
export {
  type DefaultEncoding,
  HTTPStatusError,
  Response,
  type ResponseExtensions,
  type ResponseInit,
} from "./src/models/response.ts";
export type { BodySource, RequestContent } from "./src/models/body.ts";
export { codes } from "./src/models/status.ts";

// Request content, auth and cookies.
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
  HTML,
  JSON,
  JSONContent,
  MultiPart,
  type MultiPartOptions,
  Text,
} from "./src/content.ts";
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
export { type Cookie, Cookies, type CookieScope, type CookiesInit } from "./src/cookies.ts";

// Timeouts and errors.
export { timeout, type TimeoutScope } from "./src/timeout.ts";
export * from "./src/errors.ts";

// Transports: what a client sends through.
export type { Transport } from "./src/models/transport.ts";
export { ConnectionPool, type ConnectionPoolOptions, type PoolRequestInit } from "./src/pool.ts";
export { Proxy, type ProxyInit, type ProxyLike, type ProxyMode } from "./src/proxy/proxy.ts";
export { type MockHandler, MockTransport } from "./src/transports/mock.ts";
export {
  type AppConnectionInfo,
  AppTransport,
  type AppTransportOptions,
  type FetchHandler,
} from "./src/transports/app.ts";

export { VERSION } from "./src/version.ts";
