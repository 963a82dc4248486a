/**
 * Errors as the user sees them: one line naming the typed error, its message and the
 * request it concerns, and the exit code of its kind (see `exit_codes.ts`).
 *
 * @module
 */

import {
  DecodingError,
  HTTPError,
  InvalidURL,
  NetworkError,
  ProtocolError,
  ProxyError,
  TimeoutException,
  TooManyRedirects,
} from "../../mod.ts";
import { EXIT, UsageError } from "./exit_codes.ts";

/** The exit code for an error thrown while running a request. */
export function errorExitCode(error: unknown): number {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof TimeoutException) return EXIT.TIMEOUT;
  if (error instanceof TooManyRedirects) return EXIT.TOO_MANY_REDIRECTS;
  if (error instanceof NetworkError || error instanceof ProxyError) return EXIT.CONNECTION;
  if (error instanceof ProtocolError || error instanceof DecodingError) return EXIT.PROTOCOL;
  return EXIT.ERROR;
}

/**
 * One line for an error: its name, its message's first line, and the request it concerns
 * (`ConnectError: Connection refused (GET http://127.0.0.1:1/)`).
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `Error: ${String(error)}`;
  const message = error.message.split("\n")[0] || "(no message)";
  if (error instanceof UsageError) return message;
  let context = "";
  if (error instanceof HTTPError && error.request !== null) {
    context = ` (${error.request.method} ${error.request.url.href})`;
    if (message.includes(context.trim())) context = ""; // the message names it already
  }
  const name = error instanceof InvalidURL ? "InvalidURL" : error.name;
  return `${name}: ${message}${context}`;
}
