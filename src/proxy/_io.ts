/**
 * Small I/O helpers shared by the proxy handshakes (SOCKS5 and `CONNECT`).
 *
 * A proxy handshake is part of connecting: a deadline that runs out during it is a
 * `ConnectTimeout`, and a network failure or an early close is a `ProxyError` that names
 * the proxy and the step, with the runtime's error kept as `cause`.
 *
 * @module
 */

import { ConnectTimeout, ProxyError, TimeoutException, TransportError } from "../errors.ts";
import type { NetworkStreamInterface } from "../network/types.ts";

/**
 * Reads exactly `length` bytes, never more (a handshake must not eat the bytes that follow
 * it). An end of input before that is a {@linkcode ProxyError} naming `what`.
 */
export async function readExactly(
  stream: NetworkStreamInterface,
  length: number,
  what: string,
  timeoutMs?: number | null,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const chunk = await stream.read(length - filled, timeoutMs);
    if (chunk.length === 0) {
      throw new ProxyError(
        `${what}: the proxy closed the connection after ${filled} of ${length} bytes`,
      );
    }
    if (filled === 0 && chunk.length === length) return chunk;
    const take = Math.min(chunk.length, length - filled);
    out.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/**
 * Runs one handshake step and maps its failures: timeouts become `ConnectTimeout`,
 * `ProxyError`s pass through, other transport or runtime errors become a `ProxyError`
 * (`what` says which proxy and which step) with the original as `cause`.
 */
export async function handshakeStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ProxyError || error instanceof ConnectTimeout) throw error;
    if (error instanceof TimeoutException) {
      throw new ConnectTimeout(`${what}: timed out`, { cause: error, timeoutMs: error.timeoutMs });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProxyError(`${what}: ${reason}`, {
      cause: error,
      request: error instanceof TransportError ? error.request : null,
    });
  }
}
