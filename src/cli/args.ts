/**
 * The command line of `ferry`: `ferry [METHOD] URL [ITEM…] [options]`, parsed with
 * `node:util`'s `parseArgs` (Deno, Node and Bun all have it) into {@linkcode CliArgs}, and
 * the help text. Nothing here loads the client, so `--version` and `--help` start fast.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "./exit_codes.ts";
import { type Item, parseItem } from "./items.ts";
import { VERSION } from "../version.ts";

/** What to print: HTTPie's letters. */
export interface PrintParts {
  /** `H`: the request's head. */
  requestHead: boolean;
  /** `B`: the request's body. */
  requestBody: boolean;
  /** `h`: the response's head. */
  responseHead: boolean;
  /** `b`: the response's body. */
  responseBody: boolean;
  /** `m`: the timing waterfall. */
  meta: boolean;
}

/** The parsed command line. */
export interface CliArgs {
  /** `help`, `version`, or `request`. */
  action: "help" | "version" | "request";
  /** The method, upper case, or `null` to decide from the body (GET or POST). */
  method: string | null;
  /** The URL, completed (`:8080/x` → `http://localhost:8080/x`). */
  url: string;
  /** The request items. */
  items: Item[];
  /** How data items are sent. */
  mode: "json" | "form";
  /** Whether `--json` was given (JSON headers even without data items). */
  json: boolean;
  /** `--raw`: the body as given. */
  raw: string | null;
  /** What to print, or `null` to decide from where stdout goes. */
  print: PrintParts | null;
  /** `--all`: print redirects and auth challenges too. */
  all: boolean;
  /** `--quiet`: print nothing but errors. */
  quiet: boolean;
  /** `--pretty`, or `null` to decide from where stdout goes. */
  pretty: "all" | "colors" | "format" | "none" | null;
  /** `--download`. */
  download: boolean;
  /** `--output`. */
  output: string | null;
  /** `--continue`. */
  resume: boolean;
  /** `--progress`. */
  progress: "auto" | "always" | "never";
  /** `--timeout` in ms; `null` for none; `undefined` for the client's default. */
  timeout: number | null | undefined;
  /** `--follow`. */
  follow: boolean;
  /** `--max-redirects`. */
  maxRedirects: number | undefined;
  /** `--auth`, split. */
  auth: { username: string; password: string } | null;
  /** `--auth-type`. */
  authType: "basic" | "digest";
  /** `--proxy`. */
  proxy: string | null;
  /** `--verify`: `true`, `false`, or a CA bundle's path. */
  verify: boolean | string;
  /** `--cert` and `--cert-key`. */
  cert: string | null;
  /** `--cert-key`. */
  certKey: string | null;
  /** `--http2`. */
  http2: boolean;
  /** `--check-status`. */
  checkStatus: boolean;
  /** `--offline`. */
  offline: boolean;
  /** `--session` or `--session-read-only`. */
  session: { name: string; readOnly: boolean } | null;
  /** `--ignore-stdin`. */
  ignoreStdin: boolean;
}

const OPTIONS = {
  json: { type: "boolean", short: "j" },
  form: { type: "boolean", short: "f" },
  raw: { type: "string" },
  print: { type: "string", short: "p" },
  headers: { type: "boolean", short: "h" },
  body: { type: "boolean", short: "b" },
  verbose: { type: "boolean", short: "v" },
  all: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  pretty: { type: "string" },
  download: { type: "boolean", short: "d" },
  output: { type: "string", short: "o" },
  continue: { type: "boolean", short: "c" },
  progress: { type: "string" },
  timeout: { type: "string" },
  follow: { type: "boolean", short: "F" },
  "max-redirects": { type: "string" },
  auth: { type: "string", short: "a" },
  "auth-type": { type: "string", short: "A" },
  proxy: { type: "string" },
  verify: { type: "string" },
  "no-verify": { type: "boolean" },
  cert: { type: "string" },
  "cert-key": { type: "string" },
  http2: { type: "boolean" },
  "check-status": { type: "boolean" },
  offline: { type: "boolean" },
  session: { type: "string" },
  "session-read-only": { type: "string" },
  "ignore-stdin": { type: "boolean", short: "I" },
  version: { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** Methods recognised in any case as the first argument (others must be upper case). */
const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "QUERY",
]);

/** The help text: every option, one line each. */
export const HELP = `ferry: a command-line HTTP client (Ferry ${VERSION})

Usage: ferry [METHOD] URL [ITEM...] [options]

  METHOD  GET by default, POST when there is a body; any case for the usual ones
  URL     http:// is added when missing; :8080/path means http://localhost:8080/path
  ITEM    Header:value  Header: (drop it)  Header; (empty)  name==value (query)
          name=value (JSON string or form field)  name:=json (raw JSON)
          field@path[;type=mime] (file, --form)  name=@path  name:=@path (from files)

Body:
  -j, --json               data items as a JSON object (default)
  -f, --form               data items as a form; multipart with file fields
      --raw DATA           DATA as the body; a piped stdin is the body too
  -I, --ignore-stdin       never read stdin
Output:
  -p, --print WHAT         H request head, B request body, h response head,
                           b response body, m timing (default hb; b when piped)
  -h, --headers            --print=h          -b, --body    --print=b
  -v, --verbose            --print=HBhbm: the request as sent, then a timing waterfall
      --all                also print redirects and auth challenges
  -q, --quiet              print nothing but errors
      --pretty STYLE       all, colors, format or none (default all on a terminal,
                           none when piped; NO_COLOR turns colours off)
Downloads:
  -d, --download           save the body to a file, with a progress bar on stderr
  -o, --output FILE        where to save it (or where the output goes)
  -c, --continue           resume a partial download (-o needed) with a Range request
      --progress WHEN      auto (on a terminal), always or never
Connection:
      --timeout SECONDS    for each phase (connect, read, write; default 5; 0: none)
  -F, --follow             follow redirects       --max-redirects N   (default 20)
  -a, --auth USER:PASS     credentials            -A, --auth-type basic|digest
      --proxy URL          http://, https://, socks5:// or socks5h:// proxy
      --verify yes|no|PATH check certificates, not at all, or against a CA bundle
      --no-verify          --verify=no
      --cert FILE          client certificate (PEM), --cert-key FILE for its key
      --http2              offer HTTP/2 (ALPN, on https://)
      --offline            print the request without sending it
      --session NAME       keep cookies and auth in a session file (a NAME with a /
                           is a path); --session-read-only NAME does not update it
Other:
      --check-status       exit 3, 4 or 5 for a 3xx, 4xx or 5xx response
      --version            print the version      --help   this text

Exit codes: 0 ok, 1 error, 2 timeout, 3/4/5 status (--check-status, --download),
6 too many redirects, 7 connection error, 8 protocol error, 64 usage error.
`;

/** Parses the command line; throws a {@linkcode UsageError} naming the mistake. */
export function parseCli(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs explains at length; one short line is enough here.
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    const missing = /^Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(message);
    throw new UsageError(
      unknown
        ? `Unknown option "${unknown[1]}"`
        : missing
        ? `Option "${missing[2]}" needs a value`
        : message.split("\n")[0],
    );
  }
  const { values, positionals } = parsed;
  const base = defaults();
  if (values.help) return { ...base, action: "help" };
  if (values.version) return { ...base, action: "version" };
  if (positionals.length === 0) throw new UsageError("The URL is missing");

  let method: string | null = null;
  let rest = positionals;
  if (positionals.length >= 2 && isMethod(positionals[0])) {
    method = positionals[0].toUpperCase();
    rest = positionals.slice(1);
  }
  const url = completeUrl(rest[0]);
  const items = rest.slice(1).map(parseItem);

  if (values.json && values.form) throw new UsageError("--json and --form cannot be combined");
  if (values.raw !== undefined && items.some((item) => isDataItem(item))) {
    throw new UsageError("--raw cannot be combined with data items (name=value)");
  }
  if (values.continue && values.output === undefined) {
    throw new UsageError("--continue needs --output FILE");
  }
  if (values.continue && !values.download) throw new UsageError("--continue needs --download");

  let print: PrintParts | null = null;
  if (values.print !== undefined) print = parsePrint(values.print);
  else if (values.verbose) print = parsePrint("HBhbm");
  else if (values.headers) print = parsePrint("h");
  else if (values.body) print = parsePrint("b");

  let verify: boolean | string = true;
  if (values["no-verify"]) verify = false;
  else if (values.verify !== undefined) {
    const value = values.verify;
    verify = /^(yes|true)$/i.test(value) ? true : /^(no|false)$/i.test(value) ? false : value;
  }

  let session: CliArgs["session"] = null;
  if (values.session !== undefined) session = { name: values.session, readOnly: false };
  if (values["session-read-only"] !== undefined) {
    if (session) throw new UsageError("--session and --session-read-only cannot be combined");
    session = { name: values["session-read-only"], readOnly: true };
  }
  for (
    const [option, name] of [[values.session, "--session"], [
      values["session-read-only"],
      "--session-read-only",
    ]] as const
  ) {
    if (option === "") throw new UsageError(`${name} needs a name`);
  }

  return {
    ...base,
    method,
    url,
    items,
    mode: values.form ? "form" : "json",
    json: Boolean(values.json),
    raw: values.raw ?? null,
    print,
    all: Boolean(values.all),
    quiet: Boolean(values.quiet),
    pretty: values.pretty === undefined ? null : oneOf(
      "--pretty",
      values.pretty,
      [
        "all",
        "colors",
        "format",
        "none",
      ] as const,
    ),
    download: Boolean(values.download),
    output: values.output ?? null,
    resume: Boolean(values.continue),
    progress: values.progress === undefined
      ? "auto"
      : oneOf("--progress", values.progress, ["auto", "always", "never"] as const),
    timeout: values.timeout === undefined ? undefined : parseTimeout(values.timeout),
    follow: Boolean(values.follow) || Boolean(values.download),
    maxRedirects: values["max-redirects"] === undefined
      ? undefined
      : parseCount("--max-redirects", values["max-redirects"]),
    auth: values.auth === undefined ? null : parseAuth(values.auth),
    authType: values["auth-type"] === undefined
      ? "basic"
      : oneOf("--auth-type", values["auth-type"], ["basic", "digest"] as const),
    proxy: values.proxy ?? null,
    verify,
    cert: values.cert ?? null,
    certKey: values["cert-key"] ?? null,
    http2: Boolean(values.http2),
    checkStatus: Boolean(values["check-status"]) || Boolean(values.download),
    offline: Boolean(values.offline),
    session,
    ignoreStdin: Boolean(values["ignore-stdin"]),
  };
}

function defaults(): CliArgs {
  return {
    action: "request",
    method: null,
    url: "",
    items: [],
    mode: "json",
    json: false,
    raw: null,
    print: null,
    all: false,
    quiet: false,
    pretty: null,
    download: false,
    output: null,
    resume: false,
    progress: "auto",
    timeout: undefined,
    follow: false,
    maxRedirects: undefined,
    auth: null,
    authType: "basic",
    proxy: null,
    verify: true,
    cert: null,
    certKey: null,
    http2: false,
    checkStatus: false,
    offline: false,
    session: null,
    ignoreStdin: false,
  };
}

/** The first argument is a method when it is a usual one (any case) or all upper case. */
function isMethod(text: string): boolean {
  return KNOWN_METHODS.has(text.toUpperCase()) || /^[A-Z]+$/.test(text);
}

function isDataItem(item: Item): boolean {
  return item.kind !== "header" && item.kind !== "query";
}

/**
 * Completes a URL as HTTPie does: `:8080/x` → `http://localhost:8080/x`, `:/x` →
 * `http://localhost/x`, `example.com` → `http://example.com`.
 */
export function completeUrl(text: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text)) return text;
  const local = /^:(\d*)(.*)$/.exec(text);
  if (local) {
    const [, port, rest] = local;
    return `http://localhost${port ? `:${port}` : ""}${rest.startsWith("/") ? rest : `/${rest}`}`;
  }
  return `http://${text}`;
}

/** Parses `--print` letters. */
export function parsePrint(text: string): PrintParts {
  const unknown = [...text].filter((letter) => !"HBhbm".includes(letter));
  if (unknown.length > 0 || text === "") {
    throw new UsageError(`Invalid --print "${text}": use the letters H, B, h, b and m`);
  }
  return {
    requestHead: text.includes("H"),
    requestBody: text.includes("B"),
    responseHead: text.includes("h"),
    responseBody: text.includes("b"),
    meta: text.includes("m"),
  };
}

function oneOf<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`Invalid ${option} "${value}": expected ${choices.join(", ")}`);
}

function parseTimeout(text: string): number | null {
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`Invalid --timeout "${text}": expected seconds, 0 for none`);
  }
  return seconds === 0 ? null : Math.round(seconds * 1000);
}

function parseCount(option: string, text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count)) {
    throw new UsageError(`Invalid ${option} "${text}": expected a whole number`);
  }
  return count;
}

function parseAuth(text: string): { username: string; password: string } {
  const colon = text.indexOf(":");
  if (colon === -1) throw new UsageError(`Invalid --auth "${text}": expected USER:PASSWORD`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
