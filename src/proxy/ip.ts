/**
 * IP address literals: parsing IPv4 and IPv6 (with an embedded IPv4 tail) to bytes, and
 * CIDR range checks. Shared by `NO_PROXY` matching and the SOCKS5 handshake.
 *
 * @module
 */

/** Whether `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== null;
}

/** Whether `text` is an IPv6 address (without brackets). */
export function isIpv6(text: string): boolean {
  return parseIpv6(text) !== null;
}

/** The 4 bytes of a dotted-quad IPv4 address, or `null`. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** The 16 bytes of an IPv6 address (embedded IPv4 allowed), or `null`. */
export function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const result: number[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        result.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        result.push(parseInt(piece, 16));
      }
    }
    return result;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const words = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

/** The bytes of an IP address literal (IPv6 with or without brackets), or `null`. */
function ipBytes(host: string): number[] | null {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return parseIpv4(bare) ?? parseIpv6(bare);
}

/**
 * Whether the address literal `host` lies inside `cidr` (`"10.0.0.0/8"`, `"[fd00::]/8"`,
 * `"fd00::/8"`). A host name never does: ranges match addresses, not names. An IPv4 range
 * does not match an IPv6 address (nor the reverse).
 *
 * @example
 * ```ts
 * import { ipInCidr } from "@ferry/ferry/proxy";
 * console.log(ipInCidr("192.168.4.20", "192.168.0.0/16")); // true
 * console.log(ipInCidr("[::1]", "::/0")); // true
 * console.log(ipInCidr("example.com", "0.0.0.0/0")); // false
 * ```
 */
export function ipInCidr(host: string, cidr: string): boolean {
  const slash = cidr.lastIndexOf("/");
  if (slash === -1) return false;
  const network = ipBytes(cidr.slice(0, slash));
  const address = ipBytes(host);
  const bits = Number(cidr.slice(slash + 1));
  if (network === null || address === null || network.length !== address.length) return false;
  if (!Number.isInteger(bits) || bits < 0 || bits > network.length * 8) return false;
  for (let i = 0; i < network.length && bits > i * 8; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((network[i] & mask) !== (address[i] & mask)) return false;
  }
  return true;
}
