/**
 * Test helpers: in-memory network streams and an in-memory network backend, for testing
 * the layers above the network (connections, pools, clients) without sockets.
 *
 * @example A connection pool over an in-memory server
 * ```ts ignore
 * import { MemoryNetworkBackend } from "@ferry/ferry/testing";
 * const backend = new MemoryNetworkBackend(async (stream) => {
 *   await stream.read();
 *   await stream.write(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * });
 * ```
 *
 * @module
 */

export {
  type MemoryBackendOptions,
  type MemoryConnectInfo,
  MemoryNetworkBackend,
  MemoryNetworkStream,
  MemoryPipe,
  type MemoryServer,
  type MemoryStreamOptions,
  memoryStreamPair,
} from "../network/memory.ts";
