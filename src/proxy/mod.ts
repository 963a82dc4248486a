/**
 * Proxy building blocks: the SOCKS5 handshake and the HTTP `CONNECT` tunnel over any
 * network stream, and the environment's proxy settings (`HTTP_PROXY`, `NO_PROXY`, …). A
 * `Client` or `ConnectionPool` with a `proxy` (from `@ferry/ferry`) uses them for you.
 *
 * @example The proxies the environment asks for
 * ```ts ignore
 * import { getEnvironmentProxies } from "@ferry/ferry/proxy";
 * console.log(getEnvironmentProxies({ HTTPS_PROXY: "http://127.0.0.1:3128" }));
 * ```
 *
 * @module
 */

export { socks5Connect, type Socks5Options } from "./socks5.ts";
export { openTunnel, type TunnelOptions } from "./tunnel.ts";
export { type Environment, getEnvironmentProxies, ipInCidr, readEnvironment } from "./env.ts";
