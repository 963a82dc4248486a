/**
 * The client side of a SOCKS5 `CONNECT` handshake (RFC 1928), with username/password
 * authentication (RFC 1929), over any {@linkcode NetworkStreamInterface}.
 *
 * ```
 * greeting   → 05 n methods…          (00 no auth; 02 username/password too when given)
 * choice     ← 05 method              (FF: none acceptable)
 * [auth      → 01 ulen user plen pass
 *  status    ← 01 00                  (anything else: refused)]
 * connect    → 05 01 00 atyp addr port (atyp 01 IPv4, 04 IPv6, 03 name)
 * reply      ← 05 rep 00 atyp addr port (rep 00: succeeded)
 * ```
 *
 * With `remoteDns` (`socks5h://`) a host name is sent as is and the proxy resolves it;
 * without (`socks5://`) it is resolved here first, through `resolve`. Address literals are
 * always sent as addresses. Every read asks for exactly the bytes the step needs, so no
 * byte of the tunnelled protocol is consumed by the handshake.
 *
 * @module
 */

import { ProxyError } from "../errors.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { handshakeStep, readExactly } from "./_io.ts";
import { parseIpv4, parseIpv6 } from "./ip.ts";

/** Options of {@linkcode socks5Connect}. */
export interface Socks5Options {
  /** Username and password (RFC 1929); without them only "no authentication" is offered. */
  auth?: readonly [string, string] | null;
  /** Let the proxy resolve host names (`socks5h://`). On unless set to `false`. */
  remoteDns?: boolean;
  /**
   * Resolves a host name to an address when `remoteDns` is off. Without it, `localhost`
   * is taken as `127.0.0.1` and other names are sent to the proxy to resolve.
   */
  resolve?: (host: string) => Promise<string>;
  /** A per-read and per-write limit in milliseconds; a timeout is a `ConnectTimeout`. */
  timeoutMs?: number | null;
  /** The proxy, for error messages (`"socks5://127.0.0.1:1080"`). */
  proxyName?: string;
}

const REPLY_REASONS: Record<number, string> = {
  1: "General SOCKS server failure",
  2: "Connection not allowed by ruleset",
  3: "Network unreachable",
  4: "Host unreachable",
  5: "Connection refused",
  6: "TTL expired",
  7: "Command not supported",
  8: "Address type not supported",
};

const encoder = new TextEncoder();

/**
 * Asks the SOCKS5 proxy at the other end of `stream` to connect to `host:port`. Resolves
 * once the proxy says it did; from then on `stream` carries bytes to and from the target.
 * A refusal or a broken handshake is a `ProxyError`; the caller closes the stream then.
 *
 * @example Through a SOCKS5 proxy, by hand
 * ```ts ignore
 * import { socks5Connect } from "@ferry/ferry/proxy";
 * const stream = await backend.connect("127.0.0.1", 1080);
 * await socks5Connect(stream, "example.com", 443, { auth: ["user", "secret"] });
 * const tls = await stream.startTls({ hostname: "example.com" });
 * ```
 */
export async function socks5Connect(
  stream: NetworkStreamInterface,
  host: string,
  port: number,
  options: Socks5Options = {},
): Promise<void> {
  const proxy = options.proxyName ?? "SOCKS5 proxy";
  const timeoutMs = options.timeoutMs;
  const auth = options.auth ?? null;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ProxyError(`Invalid port ${JSON.stringify(port)} for a SOCKS5 request`);
  }
  const credentials = auth === null ? null : auth.map((part) => encoder.encode(part));
  if (credentials !== null && (credentials[0].length > 255 || credentials[1].length > 255)) {
    throw new ProxyError(`SOCKS5 username and password must be at most 255 bytes each`);
  }
  const address = await targetAddress(host, options);

  const method = await handshakeStep(`${proxy}: greeting`, async () => {
    await stream.write(Uint8Array.of(5, ...(auth === null ? [1, 0] : [2, 0, 2])), timeoutMs);
    const [version, method] = await readExactly(stream, 2, `${proxy}: greeting`, timeoutMs);
    if (version !== 5) {
      throw new ProxyError(
        `${proxy} answered the greeting with version ${version}: it is not a SOCKS5 proxy`,
      );
    }
    return method;
  });
  if (method === 0xff || (method === 2 && auth === null) || (method !== 0 && method !== 2)) {
    const offered = auth === null ? "no authentication" : "no authentication or username/password";
    throw new ProxyError(
      `${proxy} accepts none of the authentication methods offered (${offered}); it chose ${method}`,
      { reasonPhrase: "No acceptable authentication method" },
    );
  }

  if (method === 2) {
    const [username] = auth!;
    const [user, pass] = credentials!;
    const status = await handshakeStep(`${proxy}: authentication`, async () => {
      await stream.write(
        Uint8Array.of(1, user.length, ...user, pass.length, ...pass),
        timeoutMs,
      );
      const reply = await readExactly(stream, 2, `${proxy}: authentication`, timeoutMs);
      return reply[1];
    });
    if (status !== 0) {
      throw new ProxyError(
        `${proxy} refused the username ${
          JSON.stringify(username)
        } and its password (status ${status})`,
        { reasonPhrase: "Authentication failed" },
      );
    }
  }

  const what = `${proxy}: CONNECT ${formatTarget(host, port)}`;
  const reply = await handshakeStep(what, async () => {
    await stream.write(Uint8Array.of(5, 1, 0, ...address, port >> 8, port & 0xff), timeoutMs);
    const head = await readExactly(stream, 5, what, timeoutMs);
    // The rest of the bound address: its size depends on the type (and a name's length).
    const rest = head[3] === 1 ? 3 + 2 : head[3] === 4 ? 15 + 2 : head[3] === 3 ? head[4] + 2 : -1;
    if (head[0] !== 5 || rest === -1) {
      throw new ProxyError(
        `${what}: malformed reply (version ${head[0]}, address type ${head[3]})`,
      );
    }
    await readExactly(stream, rest, what, timeoutMs);
    return head[1];
  });
  if (reply !== 0) {
    const reason = REPLY_REASONS[reply] ?? `Unknown reply ${reply}`;
    throw new ProxyError(`${what}: refused with reply ${reply} (${reason})`, {
      reasonPhrase: reason,
    });
  }
}

/** The address part of the CONNECT request: type byte then address bytes. */
async function targetAddress(host: string, options: Socks5Options): Promise<number[]> {
  let target = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const literal = parseIpv4(target) !== null || parseIpv6(target) !== null;
  if (!literal && options.remoteDns === false) {
    if (options.resolve) {
      target = await handshakeStep(
        `Resolving ${JSON.stringify(target)} for a SOCKS5 proxy`,
        () => options.resolve!(target),
      );
    } else if (target.toLowerCase() === "localhost") target = "127.0.0.1";
  }
  const v4 = parseIpv4(target);
  if (v4 !== null) return [1, ...v4];
  const v6 = parseIpv6(target);
  if (v6 !== null) return [4, ...v6];
  const name = encoder.encode(target);
  if (name.length === 0 || name.length > 255) {
    throw new ProxyError(`Host name ${JSON.stringify(target)} is too long for SOCKS5`);
  }
  return [3, name.length, ...name];
}

function formatTarget(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
