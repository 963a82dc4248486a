/**
 * Authentication flows, as in httpx: an auth is a generator that yields requests and is
 * sent back each response, so that one scheme can take several round trips (Digest) and
 * custom schemes need no I/O of their own.
 *
 * @module
 */

import type { Request } from "./models/request.ts";
import type { Response } from "./models/response.ts";
import { utf8 } from "./models/body.ts";
import { ProtocolError } from "./errors.ts";
import { Cookies, preparePublicSuffixes } from "./cookies.ts";
import { md5Hex } from "./_md5.ts";
import { basicAuthorization } from "./_basic_auth.ts";
import { ensureFileAccess, fileAccess } from "./runtime/files.ts";
import { getEnv } from "./runtime/env.ts";

/** What an auth flow yields and is sent back: requests out, responses in. */
export type AuthFlow =
  | Generator<Request, void, Response>
  | AsyncGenerator<Request, void, Response>;

/**
 * The base of every auth scheme. Subclasses implement {@linkcode Auth.authFlow}.
 *
 * @example A token in a header, resent once after a 401
 * ```ts
 * import { Auth, type Request, type Response } from "@ferry/ferry";
 * class TokenAuth extends Auth {
 *   constructor(private token: string) { super(); }
 *   *authFlow(request: Request): Generator<Request, void, Response> {
 *     const response = yield request;
 *     if (response.status === 401) {
 *       request.headers.set("X-Authentication", this.token);
 *       yield request;
 *     }
 *   }
 * }
 * console.log(new TokenAuth("t").requiresRequestBody); // false
 * ```
 */
export abstract class Auth {
  /** Set it when the flow needs `await request.bytes()` (the client reads it first). */
  requiresRequestBody = false;
  /** Set it when the flow reads response bodies (the client reads them first). */
  requiresResponseBody = false;
  /** Yields the request(s) to send, receiving each response in turn. */
  abstract authFlow(request: Request): AuthFlow;
}

/** A function that changes (or replaces) a request before it is sent. */
export type AuthFunction = (request: Request) => Request | void;

/** What the `auth` option accepts. */
export type AuthInit = Auth | readonly [string, string] | AuthFunction;

/**
 * An auth from a plain function: called once per request.
 *
 * @example
 * ```ts
 * import { FunctionAuth } from "@ferry/ferry";
 * const auth = new FunctionAuth((request) => request.headers.set("X-Key", "k"));
 * console.log(auth instanceof FunctionAuth); // true
 * ```
 */
export class FunctionAuth extends Auth {
  #fn: AuthFunction;
  /** Wraps `fn`. */
  constructor(fn: AuthFunction) {
    super();
    this.#fn = fn;
  }
  /** Calls the function and yields its request. */
  *authFlow(request: Request): Generator<Request, void, Response> {
    yield this.#fn(request) ?? request;
  }
}

/**
 * HTTP Basic auth: sends the credentials with every request.
 *
 * @example
 * ```ts
 * import { BasicAuth, Request } from "@ferry/ferry";
 * const request = new Request("GET", "https://example.com/");
 * new BasicAuth("user", "pass").authFlow(request).next();
 * console.log(request.headers.get("authorization")); // "Basic dXNlcjpwYXNz"
 * ```
 */
export class BasicAuth extends Auth {
  #header: string;
  /** Credentials to send. */
  constructor(username: string, password: string) {
    super();
    this.#header = basicAuthorization(username, password);
  }
  /** Sets `Authorization` and yields the request. */
  *authFlow(request: Request): Generator<Request, void, Response> {
    request.headers.set("Authorization", this.#header);
    yield request;
  }
}

/** One entry of a `.netrc` file. */
export interface NetRCEntry {
  /** The login name. */
  login: string;
  /** The password. */
  password: string;
  /** The account, when given. */
  account?: string;
}

/**
 * Parses a `.netrc` file: `machine`, `default`, `login`, `password`, `account`; `macdef`
 * bodies are skipped. Returns entries by host (`""` for `default`).
 */
export function parseNetrc(text: string): Map<string, NetRCEntry> {
  const entries = new Map<string, NetRCEntry>();
  const lines = text.split(/\r?\n/);
  const tokens: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*macdef\b/.test(line)) {
      while (i + 1 < lines.length && lines[i + 1].trim() !== "") i++;
      continue;
    }
    const stripped = line.replace(/(^|\s)#.*$/, "");
    for (const token of stripped.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []) {
      tokens.push(token.startsWith('"') ? token.slice(1, -1).replace(/\\(.)/g, "$1") : token);
    }
  }
  let host: string | null = null;
  let entry: NetRCEntry | null = null;
  const flush = () => {
    if (host !== null && entry !== null && !entries.has(host)) entries.set(host, entry);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === "machine" || token === "default") {
      flush();
      host = token === "default" ? "" : (tokens[++i] ?? "").toLowerCase();
      entry = { login: "", password: "" };
    } else if (entry !== null && (token === "login" || token === "user")) {
      entry.login = tokens[++i] ?? "";
    } else if (entry !== null && token === "password") {
      entry.password = tokens[++i] ?? "";
    } else if (entry !== null && token === "account") {
      entry.account = tokens[++i] ?? "";
    }
  }
  flush();
  return entries;
}

/** Options of {@linkcode NetRCAuth}. */
export interface NetRCAuthOptions {
  /** The file to read; default `NETRC`, else `~/.netrc`, else `~/_netrc`. */
  file?: string;
  /** The file's text, when the program read it itself (no file access needed). */
  content?: string;
}

/**
 * Basic auth with credentials from a `.netrc` file, looked up by the request's host. The
 * file is read once (through the registered file access, see `setFileAccess`) and cached.
 * A host with no entry (and no `default`) is sent without credentials.
 *
 * @example From text the program already has
 * ```ts
 * import { NetRCAuth } from "@ferry/ferry";
 * const auth = new NetRCAuth({ content: "machine example.com login me password secret" });
 * console.log(await auth.lookup("example.com")); // { login: "me", password: "secret" }
 * ```
 */
export class NetRCAuth extends Auth {
  #options: NetRCAuthOptions;
  #entries: Promise<Map<string, NetRCEntry>> | null = null;

  /** Reads `options.file` (or the default files) lazily, or uses `options.content`. */
  constructor(options: NetRCAuthOptions = {}) {
    super();
    this.#options = options;
  }

  #load(): Promise<Map<string, NetRCEntry>> {
    if (this.#entries !== null) return this.#entries;
    this.#entries = (async () => {
      if (this.#options.content !== undefined) return parseNetrc(this.#options.content);
      const home = getEnv("HOME") ?? getEnv("USERPROFILE");
      const candidates = this.#options.file !== undefined
        ? [this.#options.file]
        : getEnv("NETRC")
        ? [getEnv("NETRC")!]
        : home
        ? [`${home}/.netrc`, `${home}/_netrc`]
        : [];
      const available = await ensureFileAccess();
      for (const path of candidates) {
        if (this.#options.file === undefined && !available) break;
        try {
          return parseNetrc(await fileAccess(path).readTextFile(path));
        } catch (error) {
          if (this.#options.file !== undefined) throw error;
        }
      }
      return new Map<string, NetRCEntry>();
    })();
    return this.#entries;
  }

  /** The entry for `host` (or the `default` one), or `null`. */
  async lookup(host: string): Promise<NetRCEntry | null> {
    const entries = await this.#load();
    return entries.get(host.toLowerCase()) ?? entries.get("") ?? null;
  }

  /** Adds Basic credentials for the request's host, when the file has some. */
  async *authFlow(request: Request): AsyncGenerator<Request, void, Response> {
    const entry = await this.lookup(request.url.hostname);
    if (entry !== null) {
      request.headers.set("Authorization", basicAuthorization(entry.login, entry.password));
    }
    yield request;
  }
}

interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: string;
  opaque: string | null;
  qop: string | null;
}

/** Splits a challenge's `key=value, key="quoted, value"` list. */
function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const match of text.matchAll(pattern)) {
    params.set(
      match[1].toLowerCase(),
      match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : match[3],
    );
  }
  return params;
}

const DIGEST_ALGORITHMS: Record<string, string> = {
  "MD5": "MD5",
  "MD5-SESS": "MD5",
  "SHA": "SHA-1",
  "SHA-SESS": "SHA-1",
  "SHA-256": "SHA-256",
  "SHA-256-SESS": "SHA-256",
  "SHA-512": "SHA-512",
  "SHA-512-SESS": "SHA-512",
};

/** Origins whose last Digest challenge one {@linkcode DigestAuth} remembers. */
const MAX_DIGEST_ORIGINS = 64;

async function digestHex(algorithm: string, text: string): Promise<string> {
  const bytes = utf8(text);
  if (algorithm === "MD5") return md5Hex(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, bytes as BufferSource));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * HTTP Digest auth (RFC 7616): MD5, SHA-256 (and SHA, SHA-512), their `-sess` variants,
 * `qop=auth` or no qop. The first request goes without credentials; a `401` with a Digest
 * challenge is answered once. Later requests to the same origin reuse that origin's last
 * challenge (its realm and nonce) with a growing nonce count, saving the round trip; a
 * request to another origin goes without credentials until that origin challenges it (the
 * last 64 origins are remembered). `qop=auth-int` is not supported (a `ProtocolError`).
 *
 * @example
 * ```ts ignore
 * import { Client, DigestAuth } from "@ferry/ferry";
 * await using client = new Client({ auth: new DigestAuth("user", "passwd") });
 * const response = await client.get("http://127.0.0.1:8080/digest-auth/auth/user/passwd");
 * ```
 */
export class DigestAuth extends Auth {
  #username: string;
  #password: string;
  /**
   * The last challenge of each origin, with its nonce count. A challenge is answered
   * ahead of time only on the origin that issued it: another host never sees the
   * username or a response hash computed for someone else's nonce.
   */
  #challenges = new Map<string, { challenge: DigestChallenge; nonceCount: number }>();

  /** Credentials to answer challenges with. */
  constructor(username: string, password: string) {
    super();
    this.#username = username;
    this.#password = password;
  }

  /** Sends, answers a Digest challenge once, and sends again. */
  async *authFlow(request: Request): AsyncGenerator<Request, void, Response> {
    const origin = request.url.origin;
    const known = this.#challenges.get(origin);
    if (known !== undefined) {
      request.headers.set("Authorization", await this.#authorization(request, known));
    }
    const response = yield request;
    if (response.status !== 401) return;
    const challenge = this.#parseChallenge(response);
    if (challenge === null) return;
    const state = { challenge, nonceCount: 1 };
    this.#challenges.delete(origin); // re-inserted last: the oldest origin is evicted first
    this.#challenges.set(origin, state);
    if (this.#challenges.size > MAX_DIGEST_ORIGINS) {
      this.#challenges.delete(this.#challenges.keys().next().value!);
    }
    request.headers.set("Authorization", await this.#authorization(request, state));
    // Cookies the challenge set (httpbin's digest endpoint relies on them) go along,
    // replacing a cookie of the same name the request already had (a stale session).
    const jar = new Cookies();
    await preparePublicSuffixes(response);
    jar.extract(response);
    if (jar.size > 0) {
      const cookies = jar.header(request.url);
      if (cookies !== null) {
        request.headers.set("Cookie", mergeCookieHeaders(request.headers.get("cookie"), cookies));
      }
    }
    yield request;
  }

  #parseChallenge(response: Response): DigestChallenge | null {
    for (const header of response.headers.getAll("www-authenticate")) {
      const space = header.indexOf(" ");
      if (space === -1 || header.slice(0, space).toLowerCase() !== "digest") continue;
      const params = parseAuthParams(header.slice(space + 1));
      const realm = params.get("realm");
      const nonce = params.get("nonce");
      if (realm === undefined || nonce === undefined) {
        throw new ProtocolError(
          `Malformed Digest challenge ${JSON.stringify(header)}: realm and nonce are required`,
        );
      }
      return {
        realm,
        nonce,
        algorithm: params.get("algorithm") ?? "MD5",
        opaque: params.get("opaque") ?? null,
        qop: params.get("qop") ?? null,
      };
    }
    return null;
  }

  async #authorization(
    request: Request,
    state: { challenge: DigestChallenge; nonceCount: number },
  ): Promise<string> {
    const challenge = state.challenge;
    // Looked up without regard to case; echoed as the server wrote it (`MD5-sess`).
    const algorithm = challenge.algorithm.toUpperCase();
    const hash = DIGEST_ALGORITHMS[algorithm];
    if (hash === undefined) {
      throw new ProtocolError(
        `Unsupported Digest algorithm ${JSON.stringify(challenge.algorithm)}`,
      );
    }
    const h = (text: string) => digestHex(hash, text);
    const uri = request.target;
    const nc = (state.nonceCount++).toString(16).padStart(8, "0");
    const cnonce = Array.from(
      crypto.getRandomValues(new Uint8Array(8)),
      (byte) => byte.toString(16).padStart(2, "0"),
    ).join("");
    let ha1 = await h(`${this.#username}:${challenge.realm}:${this.#password}`);
    const sess = algorithm.endsWith("-SESS");
    if (sess) ha1 = await h(`${ha1}:${challenge.nonce}:${cnonce}`);
    const ha2 = await h(`${request.method}:${uri}`);
    let qop: string | null = null;
    if (challenge.qop !== null) {
      const offered = challenge.qop.split(",").map((item) => item.trim().toLowerCase());
      if (!offered.includes("auth")) {
        throw new ProtocolError(`Unsupported Digest qop ${JSON.stringify(challenge.qop)}`);
      }
      qop = "auth";
    }
    const response = qop === null
      ? await h(`${ha1}:${challenge.nonce}:${ha2}`)
      : await h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    const quote = (value: string) => `"${value.replace(/(["\\])/g, "\\$1")}"`;
    const parts = [
      `username=${quote(this.#username)}`,
      `realm=${quote(challenge.realm)}`,
      `nonce=${quote(challenge.nonce)}`,
      `uri=${quote(uri)}`,
      `response=${quote(response)}`,
      `algorithm=${challenge.algorithm}`,
    ];
    if (challenge.opaque !== null) parts.push(`opaque=${quote(challenge.opaque)}`);
    if (qop !== null) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    else if (sess) parts.push(`cnonce=${quote(cnonce)}`); // the server needs it for HA1
    return `Digest ${parts.join(", ")}`;
  }
}

/** A `Cookie` header value with `added`'s cookies replacing same-named ones in `existing`. */
function mergeCookieHeaders(existing: string | null, added: string): string {
  if (!existing) return added;
  const name = (pair: string) => pair.slice(0, pair.indexOf("=") >>> 0).trim();
  const replaced = new Set(added.split(";").map(name));
  const kept = existing.split(";").map((pair) => pair.trim()).filter((pair) =>
    pair !== "" && !replaced.has(name(pair))
  );
  return [...kept, added].join("; ");
}

/** Turns the `auth` option into an {@linkcode Auth} (or `null` for none). */
export function toAuth(auth: AuthInit | null | undefined): Auth | null {
  if (auth == null) return null;
  if (auth instanceof Auth) return auth;
  if (typeof auth === "function") return new FunctionAuth(auth as AuthFunction);
  if (Array.isArray(auth)) return new BasicAuth(auth[0], auth[1]);
  throw new TypeError(`Invalid auth ${JSON.stringify(String(auth))}`);
}
