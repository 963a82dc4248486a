/**
 * Exit codes of the `ferry` command. The codes for
 * timeouts (2), statuses under `--check-status` (3, 4, 5) and too many redirects (6) are
 * HTTPie's; connection errors (7) and protocol errors (8) have codes of their own so that
 * scripts can tell them apart; 64 is sysexits' "usage error". Imports nothing of the
 * client (`--version` and `--help` do not load it); `report.ts` maps errors to codes.
 *
 * @module
 */

/** The exit codes, by meaning. */
export const EXIT = {
  /** Everything went as asked. */
  OK: 0,
  /** An error not listed below (a file that cannot be read, an invalid URL…). */
  ERROR: 1,
  /** A connect, read, write or pool timeout. */
  TIMEOUT: 2,
  /** `--check-status` (and `--download`): the final response was a 3xx. */
  HTTP_3XX: 3,
  /** `--check-status` (and `--download`): a 4xx. */
  HTTP_4XX: 4,
  /** `--check-status` (and `--download`): a 5xx. */
  HTTP_5XX: 5,
  /** More redirects than `--max-redirects`. */
  TOO_MANY_REDIRECTS: 6,
  /** The connection failed: refused, reset, unreachable, TLS, or a proxy's refusal. */
  CONNECTION: 7,
  /** The server broke the protocol: a malformed response or body encoding. */
  PROTOCOL: 8,
  /** The command line was wrong. */
  USAGE: 64,
} as const;

/** A mistake on the command line: reported with a hint to `--help`, exit code 64. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit code for a status under `--check-status`, or 0 when it is not an error. */
export function statusExitCode(status: number): number {
  if (status >= 300 && status < 400) return EXIT.HTTP_3XX;
  if (status >= 400 && status < 500) return EXIT.HTTP_4XX;
  if (status >= 500 && status < 600) return EXIT.HTTP_5XX;
  return EXIT.OK;
}
