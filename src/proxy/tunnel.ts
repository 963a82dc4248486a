/**
 * An HTTP `CONNECT` tunnel through a proxy, over any {@linkcode NetworkStreamInterface},
 * with the project's own request writer and response parser.
 *
 * ```
 * → CONNECT example.com:443 HTTP/1.1
 *   Host: example.com:443
 *   Proxy-Authorization: Basic …        (the proxy's headers, to the proxy only)
 * ← HTTP/1.1 200 Connection established (any 2xx: the stream is now the tunnel)
 * ← HTTP/1.1 407 Proxy Authentication Required (anything else: ProxyError)
 * ```
 *
 * Bytes the proxy sent after its 2xx head already belong to the target; they are handed
 * back in front of the stream ({@linkcode prefixStream}), so nothing is lost.
 *
 * @module
 */

import { ProxyError } from "../errors.ts";
import { ResponseParser } from "../http11/parser.ts";
import { serializeRequest } from "../http11/writer.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { PrefixedStream } from "../network/prefixed_stream.ts";
import { handshakeStep } from "./_io.ts";

/** Options of {@linkcode openTunnel}. */
export interface TunnelOptions {
  /** Headers for the proxy (`Proxy-Authorization`, custom ones), sent with `CONNECT` only. */
  headers?: Iterable<readonly [string, string]>;
  /** A per-read and per-write limit in milliseconds; a timeout is a `ConnectTimeout`. */
  timeoutMs?: number | null;
  /** The proxy, for error messages (`"http://127.0.0.1:3128"`). */
  proxyName?: string;
}

/**
 * Asks the HTTP proxy at the other end of `stream` to open a tunnel to `authority`
 * (`host:port`, IPv6 in brackets), and returns the stream to use from then on (the same
 * one, or a wrapper that first replays bytes the proxy sent early). A refusal (any status
 * but 2xx, such as `407`) is a {@linkcode ProxyError} carrying the proxy's status and
 * reason; the caller closes the stream then.
 *
 * @example Through an HTTP proxy, by hand
 * ```ts ignore
 * import { openTunnel } from "@ferry/ferry/proxy";
 * const raw = await backend.connect("127.0.0.1", 3128);
 * const tunnel = await openTunnel(raw, "example.com:443", {
 *   headers: [["Proxy-Authorization", "Basic dXNlcjpzZWNyZXQ="]],
 * });
 * const tls = await tunnel.startTls({ hostname: "example.com" });
 * ```
 */
export async function openTunnel(
  stream: NetworkStreamInterface,
  authority: string,
  options: TunnelOptions = {},
): Promise<NetworkStreamInterface> {
  const proxy = options.proxyName ?? "HTTP proxy";
  const timeoutMs = options.timeoutMs;
  const what = `${proxy}: CONNECT ${authority}`;
  const headers: [string, string][] = [["Host", authority]];
  for (const [name, value] of options.headers ?? []) {
    if (name.toLowerCase() !== "host") headers.push([name, value]);
  }
  // Serialise first: a bad header is a LocalProtocolError before anything is sent.
  const { head } = serializeRequest("CONNECT", authority, headers, null);
  const parser = new ResponseParser();
  parser.startResponse("CONNECT");

  const outcome = await handshakeStep(what, async () => {
    await stream.write(head, timeoutMs);
    let status = 0;
    let reason = "";
    while (true) {
      const event = parser.next();
      if (event === null) {
        if (parser.ended) break;
        const chunk = await stream.read(undefined, timeoutMs);
        if (chunk.length === 0) parser.feedEnd();
        else parser.feed(chunk);
        continue;
      }
      if (event.type === "head") {
        status = event.status;
        reason = event.reason;
        // A refusal: its body does not matter, and the connection is not reused.
        if (status < 200 || status >= 300) return { status, reason, rest: null };
      } else if (event.type === "upgrade") {
        return { status, reason, rest: event.rest };
      }
    }
    throw new ProxyError(`${what}: the proxy closed the connection before answering`);
  });
  if (outcome.rest === null) {
    throw new ProxyError(
      `${what}: refused with ${outcome.status}${outcome.reason ? ` ${outcome.reason}` : ""}`,
      { status: outcome.status, reasonPhrase: outcome.reason },
    );
  }
  return outcome.rest.length === 0 ? stream : prefixStream(stream, outcome.rest);
}

/**
 * Wraps `stream` so that its first reads return `prefix` (bytes already received for it).
 * `startTls` is refused while some of the prefix is unread: those bytes would be lost.
 */
export function prefixStream(
  stream: NetworkStreamInterface,
  prefix: Uint8Array,
): NetworkStreamInterface {
  return new PrefixedStream(stream, prefix, { tlsRefused });
}

function tlsRefused(unread: number): Error {
  return new ProxyError(`The proxy sent ${unread} bytes of the tunnel before the TLS handshake`);
}
