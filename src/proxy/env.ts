/**
 * Proxy settings from the environment: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
 * `NO_PROXY`, upper or lower case, read the way httpx reads them (through Python's
 * `urllib.request.getproxies()`).
 *
 * Theory of operation. The variables become *mounts*: a record from a URL pattern to a
 * proxy URL, or to `null` for "no proxy". `HTTP_PROXY=http://p:3128` becomes
 * `"http://": "http://p:3128"`; `NO_PROXY=example.com` becomes `"all://*example.com": null`.
 * The client merges these with its own `mounts` and sends each request through the most
 * specific pattern that matches (httpx's order: a port first, then the longest host, then
 * the longest scheme), so a `NO_PROXY` entry, which always names a host, wins over a
 * scheme-wide proxy.
 *
 * Precedence, as in `urllib`:
 * - a lower-case variable wins over its upper-case twin, and an empty lower-case
 *   variable switches the upper-case one off;
 * - under CGI (`REQUEST_METHOD` is set) upper-case `HTTP_PROXY` is ignored, since a client
 *   can set it with a `Proxy:` header (httpoxy, CVE-2016-5385);
 * - a proxy value without a scheme means `http://`.
 *
 * `NO_PROXY` entries, comma separated (see curl's `CURLOPT_NOPROXY`):
 * - `*` switches every environment proxy off;
 * - `example.com` matches `example.com` and its subdomains (not `wwwexample.com`);
 * - `.example.com` matches the subdomains only, as in httpx;
 * - `localhost`, IPv4 and IPv6 addresses (with or without brackets) match exactly;
 * - CIDR ranges (`10.0.0.0/8`, `fd00::/8`) match every address literal inside them;
 * - `host:port` matches only that port; `scheme://host` is taken as a pattern as is.
 *
 * Environment access is runtime-neutral: `globalThis.process.env` exists under Node, Bun
 * and Deno 2 (which asks for `--allow-env`; without it the environment reads as empty).
 *
 * @module
 */

import { ipInCidr, isIpv4, isIpv6 } from "./ip.ts";
import { type Environment, readEnvironment } from "../runtime/env.ts";

export { ipInCidr };

export { type Environment, readEnvironment };

/**
 * The `*_proxy` variables of `env` as `urllib.request.getproxies_environment()` reads
 * them: keys are the lower-case prefixes (`"http"`, `"https"`, `"all"`, `"no"`, …).
 */
function proxyVariables(env: Environment): Map<string, string> {
  const found = new Map<string, string>();
  // First pass: any case, so that upper-case names count.
  for (const [name, value] of Object.entries(env)) {
    const lower = name.toLowerCase();
    if (value && lower.endsWith("_proxy")) found.set(lower.slice(0, -6), value);
  }
  // Under CGI, HTTP_PROXY may come from a request's `Proxy:` header (httpoxy).
  if (env["REQUEST_METHOD"] !== undefined) found.delete("http");
  // Second pass: lower-case names only, which win, and which switch a proxy off when empty.
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith("_proxy")) continue;
    const key = name.toLowerCase().slice(0, -6);
    if (value) found.set(key, value);
    else found.delete(key);
  }
  return found;
}

/**
 * Reads the proxy variables of `env` (by default the process environment) into mounts:
 * URL patterns to a proxy URL, or to `null` for the hosts of `NO_PROXY`, which go direct.
 *
 * @example Proxies and exceptions from variables
 * ```ts
 * import { getEnvironmentProxies } from "@ferry/ferry/proxy";
 * const mounts = getEnvironmentProxies({
 *   HTTPS_PROXY: "proxy.internal:3128",
 *   NO_PROXY: "localhost,.corp.example,10.0.0.0/8",
 * });
 * console.log(mounts);
 * // {
 * //   "https://": "http://proxy.internal:3128",
 * //   "all://localhost": null,
 * //   "all://*.corp.example": null,
 * //   "all://10.0.0.0/8": null,
 * // }
 * ```
 */
export function getEnvironmentProxies(
  env: Environment = readEnvironment(),
): Record<string, string | null> {
  const variables = proxyVariables(env);
  const mounts: Record<string, string | null> = {};
  for (const scheme of ["http", "https", "all"]) {
    const value = variables.get(scheme)?.trim();
    if (value) mounts[`${scheme}://`] = value.includes("://") ? value : `http://${value}`;
  }
  for (const raw of (variables.get("no") ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "*") return {};
    const pattern = noProxyPattern(entry);
    if (pattern !== null) mounts[pattern] = null;
  }
  return mounts;
}

/** The mount pattern of one `NO_PROXY` entry, or `null` when it cannot be one. */
function noProxyPattern(entry: string): string | null {
  if (entry.includes("://")) {
    // Taken as a mount pattern as is, when it is one (`scheme://host[:port]`).
    return /^[a-z][a-z0-9+.-]*:\/\/[^/\s]*$/i.test(entry) ? entry.toLowerCase() : null;
  }
  const lower = entry.toLowerCase();
  // Bare IPv6, optionally a CIDR range: `::1`, `fd00::/8`.
  const bareIpv6 = lower.match(/^([0-9a-f:.]*:[0-9a-f:.]*)(\/\d{1,3})?$/);
  if (bareIpv6 && isIpv6(bareIpv6[1])) return `all://[${bareIpv6[1]}]${bareIpv6[2] ?? ""}`;
  // Bracketed IPv6 with an optional port or CIDR suffix: `[::1]:8080`, `[fd00::]/8`.
  const bracketed = lower.match(/^\[([0-9a-f:.]+)\](:\d{1,5}|\/\d{1,3})?$/);
  if (bracketed && isIpv6(bracketed[1])) return `all://[${bracketed[1]}]${bracketed[2] ?? ""}`;
  // IPv4, with an optional CIDR suffix or port.
  const ipv4 = lower.match(/^(\d{1,3}(?:\.\d{1,3}){3})(\/\d{1,2}|:\d{1,5})?$/);
  if (ipv4 && isIpv4(ipv4[1])) return `all://${ipv4[1]}${ipv4[2] ?? ""}`;
  const hostPort = lower.match(/^([^:/\s]+)(:\d{1,5})?$/);
  if (hostPort === null) return null;
  const [, host, port = ""] = hostPort;
  if (host === "localhost") return `all://localhost${port}`;
  // `.example.com` → subdomains only; `example.com` → the domain and its subdomains.
  return `all://*${host}${port}`;
}
