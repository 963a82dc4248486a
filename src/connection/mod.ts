/**
 * The HTTP/1.1 connection layer: {@linkcode Connection}, {@linkcode openConnection}, their
 * options, and what a pool uses of a connection. See `connection.ts` for a map of the
 * files.
 *
 * @module
 */

export { Connection, forPool, openConnection } from "./connection.ts";
export {
  type ConnectionOptions,
  type ConnectionRequestInit,
  DEFAULT_KEEPALIVE_EXPIRY_MS,
  DEFAULT_TIMEOUT_MS,
} from "./options.ts";
export {
  getDefaultBackend,
  type OpenOptions,
  openStream,
  type StreamOpener,
  type StreamOptions,
  targetTlsOptions,
} from "./open.ts";
export type { ConnectionState } from "./state.ts";
export {
  type ConnectionHooks,
  exchangeCount,
  expiresAt,
  handleRequest,
  isRetryableError,
  type PoolConnection,
  READ_ALL,
  READ_NONE,
  READ_READY,
  type ReadMode,
  retryRequest,
  type RetryTarget,
} from "./pool_connection.ts";
