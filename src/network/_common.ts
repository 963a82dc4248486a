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

/** What the common runtime error codes mean, for messages. */
const CODE_PHRASES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EPIPE: "broken pipe",
  ENOTFOUND: "name not found",
  EAI_AGAIN: "name resolution failed",
  EAI_FAIL: "name resolution failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "timed out",
  ENOENT: "no such socket file",
  EACCES: "permission denied",
  ECONNABORTED: "connection aborted",
  ERR_STREAM_DESTROYED: "stream destroyed",
  ERR_SOCKET_CLOSED: "socket closed",
};

/** Certificate checks (node:tls codes) that failed because the chain leads to no trusted authority. */
const UNKNOWN_AUTHORITY = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/**
 * A short description of a runtime error for messages: what its code means when it is a
 * common one (`connection refused (ECONNREFUSED)`), else its message and its kind.
 */
export function describeError(error: unknown): string {
  // deno-lint-ignore no-explicit-any
  const fields = error as any;
  const code = fields?.code;
  if (typeof code === "string") {
    const phrase = CODE_PHRASES[code];
    if (phrase) return `${phrase} (${code})`;
    const detail = String(fields?.message ?? code);
    if (UNKNOWN_AUTHORITY.has(code)) {
      return `certificate verification failed, unknown authority: ${detail} (${code})`;
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      const reason = String(fields?.reason ?? detail);
      return `certificate verification failed, hostname mismatch: ${reason} (${code})`;
    }
    if (code.startsWith("CERT_")) return `certificate verification failed: ${detail} (${code})`;
    if (!(error instanceof Error)) return `${detail} (${code})`;
  }
  if (!(error instanceof Error)) return String(error);
  const kind = typeof code === "string" ? code : error.name !== "Error" ? error.name : "";
  return kind && !error.message.includes(kind) ? `${error.message} (${kind})` : error.message;
}

/** `<NetworkStream ["127.0.0.1:80" TLS CLOSED]>` */
export function streamRepr(label: string, tls: boolean, closed: boolean): string {
  return `<NetworkStream ["${label}"${tls ? " TLS" : ""}${closed ? " CLOSED" : ""}]>`;
}
