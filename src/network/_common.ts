/**
 * Helpers shared by the network backends: addresses in messages, error descriptions and
 * the `NetworkStream` repr.
 *
 * @module
 */

/** `host:port`, with IPv6 addresses in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A short description of a runtime error for messages: its message and its kind. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // deno-lint-ignore no-explicit-any
  const code = (error as any).code;
  const kind = typeof code === "string" ? code : error.name !== "Error" ? error.name : "";
  return kind && !error.message.includes(kind) ? `${error.message} (${kind})` : error.message;
}

/** `<NetworkStream ["127.0.0.1:80" TLS CLOSED]>` */
export function streamRepr(label: string, tls: boolean, closed: boolean): string {
  return `<NetworkStream ["${label}"${tls ? " TLS" : ""}${closed ? " CLOSED" : ""}]>`;
}
