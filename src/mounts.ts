/**
 * Mount patterns, as httpx matches `mounts` and `proxies` keys: `"all://"`, `"http://"`,
 * `"all://example.com"`, `"https://*.example.com"` (subdomains only), `"all://*example.com"`
 * (the domain and its subdomains), `"http://example.com:8080"`. The most specific pattern
 * wins: one with a port first, then the longer host, then the longer scheme.
 *
 * Pure and small so that the proxy layer reuses it for proxy mounts. A host may also be a
 * CIDR range (`"all://10.0.0.0/8"`, `"all://[fd00::]/8"`), as `NO_PROXY` entries give: it
 * matches the IP address literals inside the range.
 *
 * @module
 */

import { ipInCidr } from "./proxy/env.ts";

const DEFAULT_PORTS: Record<string, string> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * One mount pattern.
 *
 * @example
 * ```ts
 * import { MountPattern } from "@ferry/ferry/advanced";
 * const pattern = new MountPattern("https://*.example.com");
 * console.log(pattern.matches(new URL("https://api.example.com/x"))); // true
 * console.log(pattern.matches(new URL("https://example.com/"))); // false
 * ```
 */
export class MountPattern {
  /** The pattern as given. */
  readonly pattern: string;
  /** The scheme without `:` (`""` for `all`). */
  readonly scheme: string;
  /** The host pattern (`""` for any host). */
  readonly host: string;
  /** The port, or `null` for any port. */
  readonly port: string | null;
  #hostRegex: RegExp | null;
  /** A CIDR range (from `NO_PROXY`) the host must lie in, or `null`. */
  #cidr: string | null = null;

  /** Parses `pattern` (`"scheme://host:port"`, with `all` for any scheme). */
  constructor(pattern: string) {
    this.pattern = pattern;
    const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(pattern);
    if (match === null) {
      throw new TypeError(
        `Invalid mount pattern ${JSON.stringify(pattern)}: expected "scheme://" or "all://host"`,
      );
    }
    const scheme = match[1].toLowerCase();
    this.scheme = scheme === "all" ? "" : scheme;
    // Proxies (issue 6): a CIDR range as host, kept whole (its "/8" is not a path).
    const cidr = /^(\[[0-9a-f:.]+\]|[0-9.]+)\/\d{1,3}$/i.exec(match[2]);
    if (cidr !== null) this.#cidr = match[2];
    let authority = cidr !== null ? match[2] : match[2].replace(/\/.*$/, "");
    let port: string | null = null;
    const portMatch = /:(\d+)$/.exec(authority);
    if (portMatch !== null && !authority.endsWith("]")) {
      port = portMatch[1];
      authority = authority.slice(0, -portMatch[0].length);
    }
    this.port = port;
    this.host = authority.toLowerCase();
    if (this.host === "" || this.host === "*" || this.#cidr !== null) this.#hostRegex = null;
    else if (this.host.startsWith("*.")) {
      this.#hostRegex = new RegExp(`^.+\\.${escapeRegExp(this.host.slice(2))}$`);
    } else if (this.host.startsWith("*")) {
      this.#hostRegex = new RegExp(`^(.+\\.)?${escapeRegExp(this.host.slice(1))}$`);
    } else this.#hostRegex = new RegExp(`^${escapeRegExp(this.host)}$`);
  }

  /** Whether `url` falls under this pattern. */
  matches(url: URL): boolean {
    if (this.scheme && `${this.scheme}:` !== url.protocol) return false;
    if (this.#cidr !== null && !ipInCidr(url.hostname, this.#cidr)) return false;
    if (this.#hostRegex !== null && !this.#hostRegex.test(url.hostname.toLowerCase())) {
      return false;
    }
    if (this.port !== null && this.port !== (url.port || DEFAULT_PORTS[url.protocol] || "")) {
      return false;
    }
    return true;
  }

  /** Sort key: smaller is more specific (port given, longer host, longer scheme). */
  get priority(): [number, number, number] {
    return [this.port !== null ? 0 : 1, -this.host.length, -this.scheme.length];
  }
}

/** Compares two patterns by {@linkcode MountPattern.priority}. */
function comparePatterns(a: MountPattern, b: MountPattern): number {
  const pa = a.priority, pb = b.priority;
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

/**
 * Mounts sorted most specific first, ready for {@linkcode Mounts.lookup}.
 *
 * @example Pick a value by URL
 * ```ts
 * import { Mounts } from "@ferry/ferry/advanced";
 * const mounts = new Mounts({ "all://": "default", "https://*.example.com": "example" });
 * console.log(mounts.lookup(new URL("https://api.example.com/"))); // "example"
 * console.log(mounts.lookup(new URL("http://other.org/"))); // "default"
 * ```
 */
export class Mounts<T> {
  /** The patterns and their values, most specific first. */
  readonly entries: [MountPattern, T][];

  /** Parses and sorts `mounts` (pattern → value). */
  constructor(mounts: Record<string, T> | Iterable<readonly [string, T]>) {
    const pairs: (readonly [string, T])[] = Symbol.iterator in mounts
      ? [...(mounts as Iterable<readonly [string, T]>)]
      : Object.entries(mounts as Record<string, T>);
    this.entries = pairs.map(([pattern, value]) => [new MountPattern(pattern), value]);
    this.entries.sort((a, b) => comparePatterns(a[0], b[0]));
  }

  /** How many mounts there are. */
  get size(): number {
    return this.entries.length;
  }

  /** The value of the most specific pattern matching `url`, or `undefined`. */
  lookup(url: URL): T | undefined {
    for (const [pattern, value] of this.entries) if (pattern.matches(url)) return value;
    return undefined;
  }
}
