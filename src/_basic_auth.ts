/**
 * The credentials of HTTP Basic authentication (RFC 7617), as `Authorization` (auth) and
 * `Proxy-Authorization` (proxies) carry them.
 *
 * @module
 */

/** `Basic <base64 of "username:password">`, the credentials encoded as UTF-8. */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return `Basic ${btoa(binary)}`;
}
