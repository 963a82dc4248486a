/**
 * `Client`: the API users touch, as httpx's. Base URL, default headers, params and
 * cookies, auth flows, redirects, content encoding, event hooks, mounts and transports,
 * over a {@linkcode ConnectionPool} by default.
 *
 * ## Redirects are not followed by default
 *
 * As in httpx 0.28 (and unlike `fetch`), a `3xx` is returned as it is, with
 * `response.nextRequest` set; `followRedirects: true` (per client or per request) follows
 * them. The reasons are httpx's: a redirect can move a request to another host, change
 * its method or drop its body, and that should be asked for rather than happen silently;
 * and a client that inspects `Location` headers (OAuth flows, link checkers) needs them.
 *
 * ## The per-request path
 *
 * Kept lean: no URL re-parsing when there are no params, no cookie work while the jar is
 * empty and the request has none, no `ReadableStream` unless `response.body` is used, no
 * auth generator when there is no auth, and the default transport made once.
 *
 * @module
 */

import { Headers, type HeadersInit } from "./models/headers.ts";
import {
  hasUrlCredentials,
  Request,
  type RequestExtensions,
  requestHost,
  UrlReadings,
} from "./models/request.ts";
import {
  type DefaultEncoding,
  type Response,
  SETTLE_WHOLE,
  STARTED_AT,
} from "./models/response.ts";
import type { RequestContent } from "./models/body.ts";
import { mergeUrlParams, QueryParams, type QueryParamsInit } from "./models/query_params.ts";
import { queryOf, withQuery } from "./models/url.ts";
import { SEND_WHOLE, type Transport, type WholeTransport } from "./models/transport.ts";
import { Cookies, type CookiesInit, preparePublicSuffixes } from "./cookies.ts";
import { type Auth, type AuthInit, BasicAuth, toAuth } from "./auth.ts";
import {
  type BodyInit,
  encodeRequestContent,
  type FilesInit,
  multipartBoundary,
} from "./content.ts";
import { acceptEncoding } from "./decoding.ts";
import { Mounts } from "./mounts.ts";
import { mergeHeaders, mergeUrl, type TimeoutInit, toBaseUrl, toTimeouts } from "./merge.ts";
import { HTTPError, StreamConsumed, TooManyRedirects, UnsupportedProtocol } from "./errors.ts";
import { ConnectionPool } from "./pool.ts";
import type { Proxy, ProxyLike } from "./proxy/proxy.ts";
import { lazyTransport, proxyMounts } from "./proxy/client_mounts.ts";
import { VERSION } from "./version.ts";
import { buildRedirectRequest } from "./_redirects.ts";
import { type CertInit, tlsSettings } from "./tls_settings.ts";
import { inspectAsRepr } from "./_inspect.ts";
import { bindFetch, type Fetch } from "./client_fetch.ts";
import { type RetryInit, type RetryPolicy, toRetryPolicy } from "./retry.ts";
import {
  checkProgressCallback,
  checkProgressInterval,
  type ProgressCallback,
  reportDownloadProgress,
  withUploadProgress,
} from "./progress.ts";

/** Connection limits of the default transport. */
export interface Limits {
  /** The most connections open at once. Default 100. */
  maxConnections?: number;
  /** The most idle connections kept. Default 20. */
  maxKeepaliveConnections?: number;
  /** How long an idle connection is kept, in milliseconds. Default 5000. */
  keepaliveExpiry?: number;
}

/** A request hook: may change the request; awaited. */
export type RequestHook = (request: Request) => void | Promise<void>;
/** A response hook: sees each response (redirects included) before it is returned; awaited. */
export type ResponseHook = (response: Response) => void | Promise<void>;

/** Functions called around every request sent, as httpx's `event_hooks`. */
export interface EventHooks {
  /** Called with each request just before it is sent. */
  request?: RequestHook[];
  /** Called with each response as soon as its headers arrived. */
  response?: ResponseHook[];
}

export type { CertInit } from "./tls_settings.ts";

/** Options of a {@linkcode Client}. */
export interface ClientOptions {
  /** Prefix of relative request URLs (its path always ends with `/`). */
  baseUrl?: string | URL;
  /** Headers sent with every request (request headers win per name). */
  headers?: HeadersInit;
  /** Query parameters sent with every request (request params win per name). */
  params?: QueryParamsInit;
  /** Cookies sent with every request; the jar also keeps what servers set. */
  cookies?: CookiesInit;
  /** Authentication for every request: `[user, pass]`, an `Auth`, or a function. */
  auth?: AuthInit | null;
  /** Milliseconds for every phase, per-phase limits, or `null` for none. Default 5000 each. */
  timeout?: TimeoutInit;
  /** Whether to follow redirects. Default `false` (see the module documentation). */
  followRedirects?: boolean;
  /** The most redirects followed before `TooManyRedirects`. Default 20. */
  maxRedirects?: number;
  /** Limits of the default connection pool. */
  limits?: Limits;
  /** The transport for every request not matched by `mounts`. Default: a `ConnectionPool`. */
  transport?: Transport;
  /**
   * Transports by URL pattern (`"all://"`, `"https://*.example.com"`); `null` means the
   * default transport (as in httpx: how a host is exempted from a proxy).
   */
  mounts?: Record<string, Transport | null>;
  /**
   * A proxy for every request: a URL (`http://`, `https://`, `socks5://`, `socks5h://`,
   * credentials allowed) or a `Proxy`. The environment's proxies are then ignored.
   */
  proxy?: ProxyLike | null;
  /**
   * Server certificate checks: `true` (default), `false` (tests only), or extra CA
   * certificates as PEM text or a file path.
   */
  verify?: boolean | string;
  /** A client certificate for servers that ask for one. */
  cert?: CertInit;
  /**
   * Whether to read `SSL_CERT_FILE` and `SSL_CERT_DIR` (CA certificates to trust) and,
   * unless `proxy` or `transport` is given, `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
   * `NO_PROXY` (upper or lower case). Default `true`.
   */
  trustEnv?: boolean;
  /** Functions called with each request and response. */
  eventHooks?: EventHooks;
  /** Text encoding when a response names no charset. Default `"utf-8"`. */
  defaultEncoding?: DefaultEncoding;
  /** Limit on a decompressed response body, in bytes; `null` for none. Default 256 MiB. */
  maxDecompressedSize?: number | null;
  /** Speak HTTP/1.1 (httpx's `http1`). Default `true`. */
  http1?: boolean;
  /**
   * Speak HTTP/2 (httpx's `http2`): offered by ALPN on `https`, by prior knowledge on
   * `http` when `http1` is `false`. Default `false`. See `ConnectionPoolOptions.http2`.
   */
  http2?: boolean;
  /**
   * Retries of failed requests: a number of retries, `RetryOptions`, or none (default).
   * See the README's "Retries".
   */
  retry?: RetryInit;
}

/** Options of one request. */
export interface RequestOptions {
  /** Query parameters, merged over the client's. */
  params?: QueryParamsInit;
  /** Headers, merged over the client's. */
  headers?: HeadersInit;
  /** Cookies for this request only, merged over the client's jar. */
  cookies?: CookiesInit;
  /**
   * The body: bytes, text, a `Blob` or `File` (its type becomes the `Content-Type`), a
   * stream, an (async) iterable of chunks, a `Content`, or, as with `fetch`, a web
   * `FormData` (multipart, streamed) or `URLSearchParams` (urlencoded).
   */
  content?: BodyInit | null;
  /** A value to send as JSON. */
  json?: unknown;
  /**
   * Form fields: urlencoded (a record, pairs, a query string or `URLSearchParams`), or
   * multipart fields when `files` are given; a web `FormData` is sent as multipart.
   * `undefined` values are skipped.
   */
  data?: QueryParamsInit | FormData;
  /** Files to upload as `multipart/form-data`. */
  files?: FilesInit;
  /** Authentication for this request; `null` sends none even when the client has one. */
  auth?: AuthInit | null;
  /** Timeouts for this request. */
  timeout?: TimeoutInit;
  /** Whether to follow redirects for this request. */
  followRedirects?: boolean;
  /** Extensions for the transport. */
  extensions?: RequestExtensions;
  /** Cancels the request (and the reading of its body) when aborted. */
  signal?: AbortSignal;
  /** Retries for this request, instead of the client's (`0` for none). */
  retry?: RetryInit;
  /**
   * Called as the request body is sent: `{ percent, transferredBytes, totalBytes }` and
   * the latest chunk; throttled, and once at the end. See the README's "Progress".
   */
  onUploadProgress?: ProgressCallback;
  /**
   * Called as the response body is received, however it is read: `{ percent,
   * transferredBytes, totalBytes }` and the latest chunk; throttled, and once at the end.
   */
  onDownloadProgress?: ProgressCallback;
  /** The least milliseconds between two progress calls (the last one excepted). Default 16. */
  progressInterval?: number;
}

/** Options of {@linkcode Client.send}. */
export interface SendOptions {
  /** Return with the body unread (default `false`: the body is read before returning). */
  stream?: boolean;
  /** Authentication; `undefined` uses the client's, `null` none. */
  auth?: AuthInit | null;
  /** Whether to follow redirects; default the client's. */
  followRedirects?: boolean;
}

/** The options of a call given none: one frozen object, not a new `{}` per request. */
const NO_OPTIONS: RequestOptions & SendOptions = Object.freeze({});

const now: () => number = typeof performance !== "undefined"
  ? () => performance.now()
  : () => Date.now();

/** Bodies whose length is learnt by I/O when the request is sent (files given by path). */
const PENDING_LENGTH = new WeakMap<Request, () => Promise<number | null>>();

/**
 * The user API: sends requests through a transport, with shared configuration, cookie
 * persistence and connection reuse.
 *
 * @example Requests through a client
 * ```ts ignore
 * import { Client } from "@ferry/ferry";
 * await using client = new Client({ baseUrl: "https://httpbin.org", timeout: 10_000 });
 * const response = await client.get("/get", { params: { q: "ferry" } });
 * console.log(String(response), (await response.json() as { args: unknown }).args);
 * ```
 */
export class Client {
  #baseUrl: URL | null;
  #headers: Headers;
  #params: QueryParams | null;
  #cookies: Cookies;
  #auth: Auth | null;
  #timeouts: RequestExtensions["timeout"];
  #followRedirects: boolean;
  #maxRedirects: number;
  #transport: Transport | null;
  #transportReady: Promise<Transport> | null = null;
  #mounts: Mounts<Transport | null> | null;
  #options: ClientOptions;
  #requestHooks: RequestHook[];
  #responseHooks: ResponseHook[];
  #defaultEncoding: DefaultEncoding;
  #maxDecompressedSize: number | null | undefined;
  #closed = false;
  #fetch: Fetch | null = null;
  #retry: RetryPolicy | null;

  /** Creates a client; nothing is opened until the first request. */
  constructor(options: ClientOptions = {}) {
    this.#options = options;
    this.#baseUrl = options.baseUrl === undefined ? null : toBaseUrl(options.baseUrl);
    this.#headers = mergeHeaders(defaultHeaders(), options.headers);
    this.#params = options.params === undefined ? null : new QueryParams(options.params);
    this.#cookies = new Cookies(options.cookies);
    this.#auth = toAuth(options.auth);
    this.#timeouts = toTimeouts(options.timeout);
    // The pool is made on first use; its limits are checked now, where the mistake is.
    for (const [name, value] of Object.entries(options.limits ?? {})) {
      if (value !== undefined && !(typeof value === "number" && value >= 0)) {
        throw new RangeError(`Invalid limits.${name} "${value}": expected a number, at least 0`);
      }
    }
    if (options.limits?.maxConnections !== undefined && options.limits.maxConnections < 1) {
      throw new RangeError(
        `Invalid limits.maxConnections "${options.limits.maxConnections}": expected at least 1`,
      );
    }
    this.#followRedirects = options.followRedirects ?? false;
    this.#maxRedirects = options.maxRedirects ?? 20;
    this.#transport = options.transport ?? null;
    // Proxies (issue 6): `proxy`, or the environment's, as mounts under the client's own.
    const proxied = proxyMounts(
      { proxy: options.proxy, trustEnv: (options.trustEnv ?? true) && !options.transport },
      (proxy) => lazyTransport(() => this.#makePool(proxy)),
    );
    const mounts = { ...proxied, ...options.mounts };
    this.#mounts = Object.keys(mounts).length > 0 ? new Mounts(mounts) : null;
    this.#requestHooks = options.eventHooks?.request?.slice() ?? [];
    this.#responseHooks = options.eventHooks?.response?.slice() ?? [];
    this.#defaultEncoding = options.defaultEncoding ?? "utf-8";
    this.#maxDecompressedSize = options.maxDecompressedSize;
    this.#retry = toRetryPolicy(options.retry);
  }

  /** The base URL, or `null`. */
  get baseUrl(): URL | null {
    return this.#baseUrl;
  }

  /** The default headers (change them in place to affect later requests). */
  get headers(): Headers {
    return this.#headers;
  }

  /** Replaces the client's headers: merged over Ferry's defaults, as httpx does. */
  set headers(headers: HeadersInit) {
    this.#headers = mergeHeaders(defaultHeaders(), headers);
  }

  /** The default query parameters. */
  get params(): QueryParams {
    return this.#params ?? new QueryParams();
  }

  /** Replaces the default query parameters. */
  set params(params: QueryParamsInit) {
    this.#params = new QueryParams(params);
  }

  /** The cookie jar, kept across requests. */
  get cookies(): Cookies {
    return this.#cookies;
  }

  /** Replaces the cookie jar. */
  set cookies(cookies: CookiesInit) {
    this.#cookies = cookies instanceof Cookies ? cookies : new Cookies(cookies);
  }

  /** The default auth, or `null`. */
  get auth(): Auth | null {
    return this.#auth;
  }

  /** Replaces the default auth. */
  set auth(auth: AuthInit | null) {
    this.#auth = toAuth(auth);
  }

  /** The event hooks (the arrays may be changed in place). */
  get eventHooks(): { request: RequestHook[]; response: ResponseHook[] } {
    return { request: this.#requestHooks, response: this.#responseHooks };
  }

  /**
   * This client as a `fetch` function (the standard signature, the runtime's `Response`),
   * for SDKs and code written for `fetch`. It is bound: pass it on detached. See the
   * README's "Using Ferry with fetch-based code" for how it differs from the runtime's.
   *
   * @example Hand the client to an SDK
   * ```ts ignore
   * import { Client } from "@ferry/ferry";
   * await using client = new Client({ timeout: { read: 600_000 } });
   * const { fetch } = client;
   * const response = await fetch("https://example.com/", { headers: { accept: "text/html" } });
   * console.log(response.status, response.url);
   * ```
   */
  get fetch(): Fetch {
    return this.#fetch ??= bindFetch(this);
  }

  /** Whether {@linkcode Client.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Builds the request that {@linkcode Client.request} would send (client defaults merged
   * in), to change it before {@linkcode Client.send}.
   */
  buildRequest(method: string, url: string | URL, options: RequestOptions = NO_OPTIONS): Request {
    // The URL stays text until the Request reads it, so the path and query are sent as
    // the caller wrote them (httpx's normalisation only; see models/url.ts).
    let target: string | URL = typeof url === "string" ? mergeUrl(this.#baseUrl, url, method) : url;
    if (this.#params !== null || options.params !== undefined) {
      const params = this.#params === null
        ? new QueryParams(options.params)
        : options.params === undefined
        ? this.#params
        : this.#params.merge(options.params);
      if (params.size > 0) {
        if (typeof target !== "string") target = mergeUrlParams(target, params);
        else {
          // As httpx: the URL's own query is read as parameters and the merge re-encoded.
          const query = queryOf(target);
          target = query === undefined && !target.includes("#")
            ? `${target}?${params}`
            : withQuery(target, new QueryParams(query).merge(params).toString());
        }
      }
    }
    const request = this.#urls.request(method, target);
    const headers = mergeHeaders(this.#headers, options.headers, requestHost(request));
    request.headers = headers;

    let content: RequestContent | null = null;
    let pendingLength: (() => Promise<number | null>) | null = null;
    // A multipart boundary the caller declared in Content-Type is the one the body uses.
    const encoded = encodeRequestContent(
      options,
      multipartBoundary(headers.get("content-type")),
    );
    if (encoded !== null) {
      content = encoded.body;
      if (encoded.contentType !== null && !headers.has("content-type")) {
        headers.set("Content-Type", encoded.contentType);
      }
      if (!headers.has("content-length") && !headers.has("transfer-encoding")) {
        if (encoded.contentLength !== null) {
          headers.set("Content-Length", String(encoded.contentLength));
        } else if (encoded.prepareLength !== undefined) {
          pendingLength = encoded.prepareLength;
        }
      }
    }

    // A Cookie header given by hand wins over the jar, as with urllib's cookie jars.
    if (options.cookies !== undefined) {
      const jar = new Cookies(this.#cookies);
      jar.update(options.cookies);
      if (!headers.has("cookie")) jar.applyTo(request);
    } else if (this.#cookies.size > 0 && !headers.has("cookie")) {
      const value = this.#cookies.header(request.url);
      if (value !== null) headers.set("Cookie", value);
    }

    const extensions: RequestExtensions = options.extensions ? { ...options.extensions } : {};
    if (extensions.timeout === undefined) {
      extensions.timeout = options.timeout === undefined
        ? this.#timeouts
        : toTimeouts(options.timeout);
    }
    if (options.signal !== undefined) extensions.signal = options.signal;
    if (options.retry !== undefined) extensions.retry = toRetryPolicy(options.retry) ?? 0;
    // Progress (src/progress.ts): the upload wraps the body; the download is set up by send().
    if (options.onUploadProgress !== undefined || options.onDownloadProgress !== undefined) {
      checkProgressCallback("onUploadProgress", options.onUploadProgress);
      checkProgressCallback("onDownloadProgress", options.onDownloadProgress);
      const interval = checkProgressInterval(options.progressInterval);
      if (options.onUploadProgress !== undefined && content !== null) {
        const length = headers.get("content-length");
        content = withUploadProgress(
          content,
          length === null ? null : Number(length),
          options.onUploadProgress,
          interval,
        );
      }
      if (options.onDownloadProgress !== undefined) {
        extensions.downloadProgress = { callback: options.onDownloadProgress, interval };
      }
    }
    request.content = content;
    request.extensions = extensions;
    if (pendingLength !== null) PENDING_LENGTH.set(request, pendingLength);
    return request;
  }

  #urls = new UrlReadings();

  /** Sends a request and reads its body. */
  request(
    method: string,
    url: string | URL,
    options: RequestOptions = NO_OPTIONS,
  ): Promise<Response> {
    // Not an async function: one promise and one turn fewer per request.
    let request: Request;
    try {
      request = this.buildRequest(method, url, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.send(
      request,
      options.auth === undefined && options.followRedirects === undefined
        ? NO_OPTIONS
        : { auth: options.auth, followRedirects: options.followRedirects },
    );
  }

  /**
   * Sends a request and returns as soon as the headers arrived: read the body by
   * iterating, and close the response (`await using` does).
   *
   * @example Stream a download
   * ```ts ignore
   * import { Client } from "@ferry/ferry";
   * await using client = new Client();
   * await using response = await client.stream("GET", "https://example.com/big");
   * for await (const chunk of response.iterBytes()) console.log(chunk.length);
   * ```
   */
  async stream(method: string, url: string | URL, options: RequestOptions = {}): Promise<Response> {
    const request = this.buildRequest(method, url, options);
    return await this.send(request, {
      stream: true,
      auth: options.auth,
      followRedirects: options.followRedirects,
    });
  }

  /** `GET` */
  get(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("GET", url, options);
  }

  /** `HEAD` */
  head(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("HEAD", url, options);
  }

  /** `OPTIONS` */
  options(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("OPTIONS", url, options);
  }

  /** `POST` */
  post(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("POST", url, options);
  }

  /** `PUT` */
  put(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("PUT", url, options);
  }

  /** `PATCH` */
  patch(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("PATCH", url, options);
  }

  /** `DELETE` */
  delete(url: string | URL, options?: RequestOptions): Promise<Response> {
    return this.request("DELETE", url, options);
  }

  /**
   * Sends a built request: auth flow, redirects (when followed), hooks and cookies. The
   * body is read before returning unless `stream` is set.
   */
  send(request: Request, options: SendOptions = NO_OPTIONS): Promise<Response> {
    // Not an async function: a request with nothing to do between sending and reading
    // (no auth, hooks, retries, progress, mounts) takes the plain lane, with two async
    // frames fewer and, on a pool, a small body handed over in memory.
    if (this.#closed) {
      return Promise.reject(new TypeError("Cannot send a request, as the client has been closed"));
    }
    if (!(request instanceof Request)) return Promise.reject(notAFerryRequest(request));
    try {
      const transport = this.#transport;
      if (
        transport !== null && this.#mounts === null && this.#auth === null &&
        options.auth === undefined && this.#retry === null &&
        this.#requestHooks.length === 0 && this.#responseHooks.length === 0 &&
        request.extensions.retry === undefined &&
        request.extensions.downloadProgress === undefined && !PENDING_LENGTH.has(request)
      ) {
        if (!hasUrlCredentials(request)) {
          return this.#sendPlain(
            transport,
            request,
            options.followRedirects ?? this.#followRedirects,
            options.stream === true,
          );
        }
      }
    } catch (error) {
      // Bad options (`null`, say): a rejection, as from an async function.
      return Promise.reject(error);
    }
    return this.#sendFull(request, options);
  }

  /**
   * {@linkcode Client.send}'s plain lane; see there. Not an async function either: the
   * transport's promise is continued, and the rest ({@linkcode Client.#plainReceived}) is
   * plain unless cookies, a redirect or a body still to read make it wait.
   */
  #sendPlain(
    transport: Transport,
    request: Request,
    follow: boolean,
    stream: boolean,
  ): Promise<Response> {
    const started = now();
    const whole = !stream && SEND_WHOLE in transport;
    let sending: Promise<Response>;
    try {
      sending = whole
        ? (transport as WholeTransport)[SEND_WHOLE](request)
        : transport.send(request);
    } catch (error) {
      return Promise.reject(attachRequest(error, request));
    }
    return sending.then(
      (response) => this.#plainReceived(request, response, started, follow, stream),
      (error) => {
        throw attachRequest(error, request);
      },
    );
  }

  #plainReceived(
    request: Request,
    response: Response,
    started: number,
    follow: boolean,
    stream: boolean,
  ): Response | Promise<Response> {
    // Cookies first (as httpx, before the body is read: a body that fails keeps them).
    // A body that came in memory is then marked read, its elapsed time stamped.
    const cookies = this.#received(request, response, started);
    if (cookies === undefined && !response.hasRedirectLocation) {
      if (stream || response[SETTLE_WHOLE]()) return response;
    }
    return this.#plainFinish(request, response, cookies, follow, stream);
  }

  /** The waiting part of {@linkcode Client.#plainReceived}. */
  async #plainFinish(
    request: Request,
    response: Response,
    cookies: Promise<void> | undefined,
    follow: boolean,
    stream: boolean,
  ): Promise<Response> {
    if (cookies !== undefined) await cookies;
    if (response.hasRedirectLocation) {
      response = await this.#sendHandlingRedirects(request, follow, [], response);
    }
    if (!stream && !response[SETTLE_WHOLE]()) await readWhole(response, request);
    return response;
  }

  async #sendFull(request: Request, options: SendOptions): Promise<Response> {
    const prepareLength = PENDING_LENGTH.get(request);
    if (prepareLength !== undefined) {
      PENDING_LENGTH.delete(request);
      const length = await prepareLength();
      if (length !== null) request.headers.set("Content-Length", String(length));
    }
    const follow = options.followRedirects ?? this.#followRedirects;
    let auth = options.auth === undefined ? this.#auth : toAuth(options.auth);
    if (auth === null && options.auth === undefined) {
      // Credentials in the URL (`http://user:pass@host/`) are Basic auth, as in httpx.
      const url = request.url;
      if (url.username || url.password) {
        auth = new BasicAuth(unquote(url.username), unquote(url.password));
      }
    }
    const response = auth === null
      ? await this.#sendHandlingRedirects(request, follow, [])
      : await this.#sendHandlingAuth(request, auth, follow);
    const progress = request.extensions.downloadProgress as
      | { callback: ProgressCallback; interval: number }
      | undefined;
    if (progress !== undefined) {
      reportDownloadProgress(response, progress.callback, progress.interval);
    }
    if (!options.stream) await readWhole(response, request);
    return response;
  }

  async #sendHandlingAuth(request: Request, auth: Auth, follow: boolean): Promise<Response> {
    if (auth.requiresRequestBody) await request.bytes();
    const flow = auth.authFlow(request);
    const history: Response[] = [];
    let next = await flow.next(undefined as unknown as Response);
    if (next.done) throw new TypeError("Invalid auth flow: it yielded no request");
    let current = next.value;
    for (;;) {
      const response = await this.#sendHandlingRedirects(current, follow, history);
      try {
        if (auth.requiresResponseBody) await response.bytes();
        next = await flow.next(response);
        if (next.done) return response;
        await response.bytes();
      } catch (error) {
        await response.close().catch(() => {});
        await flow.return?.(undefined);
        throw error;
      }
      history.push(response);
      current = next.value;
      if (!current.isReplayable && current === request) {
        throw new StreamConsumed(
          "Cannot resend a request with a streamed body: set requiresRequestBody on the auth",
        );
      }
    }
  }

  /**
   * Sends `request` and follows its redirects (when `follow`); `first`, when given, is the
   * response to `request` already received (the plain lane of {@linkcode Client.send}).
   */
  async #sendHandlingRedirects(
    request: Request,
    follow: boolean,
    history: Response[],
    first: Response | null = null,
  ): Promise<Response> {
    const start = history.length;
    for (;;) {
      if (history.length - start > this.#maxRedirects) {
        throw new TooManyRedirects(
          `Exceeded maximum allowed redirects (${this.#maxRedirects})`,
          { request },
        );
      }
      let response: Response;
      if (first !== null) {
        response = first;
        first = null;
      } else {
        for (const hook of this.#requestHooks) await hook(request);
        response = await this.#sendSingle(request);
      }
      let next: Request;
      try {
        for (const hook of this.#responseHooks) await hook(response);
        if (history.length > 0) response.history = history.slice();
        if (!response.hasRedirectLocation) return response;
        if (!follow) {
          try {
            response.nextRequest = buildRedirectRequest(request, response, this.#cookies);
          } catch (error) {
            // Not following: a Location that could not be followed (another scheme, such as
            // an OAuth app's callback, or a body that cannot be sent again) is still a
            // response for the caller to read, without a nextRequest.
            if (!(error instanceof UnsupportedProtocol || error instanceof StreamConsumed)) {
              throw error;
            }
          }
          return response;
        }
        next = buildRedirectRequest(request, response, this.#cookies);
        await response.bytes();
      } catch (error) {
        await response.close().catch(() => {});
        throw attachRequest(error, request);
      }
      history.push(response);
      request = next;
    }
  }

  async #sendSingle(request: Request): Promise<Response> {
    const transport = this.#mounts === null
      ? (this.#transport ?? await this.#defaultTransport())
      : await this.#transportFor(request.url);
    const started = now();
    let response: Response;
    try {
      // Retries (src/retry.ts): the request's own policy (extensions.retry), else the client's.
      const retry = request.extensions.retry === undefined
        ? this.#retry
        : toRetryPolicy(request.extensions.retry as RetryInit | RetryPolicy);
      response = retry === null
        ? await transport.send(request)
        : await retry.send(request, transport);
    } catch (error) {
      throw attachRequest(error, request);
    }
    const cookies = this.#received(request, response, started);
    if (cookies !== undefined) await cookies;
    return response;
  }

  /** A response came for `request`: stamp it with the client's settings, keep its cookies. */
  #received(request: Request, response: Response, started: number): Promise<void> | undefined {
    response.request = request;
    response[STARTED_AT] = started;
    response.defaultEncoding = this.#defaultEncoding;
    if (this.#maxDecompressedSize !== undefined) {
      response.maxDecompressedSize = this.#maxDecompressedSize;
    }
    if (!response.headers.has("set-cookie")) return undefined;
    return preparePublicSuffixes(response).then(() => this.#cookies.extract(response));
  }

  async #transportFor(url: URL): Promise<Transport> {
    // `null` (a NO_PROXY host, say) and no match both mean the default transport.
    const mounted = this.#mounts!.lookup(url);
    return mounted ?? this.#transport ?? await this.#defaultTransport();
  }

  #defaultTransport(): Promise<Transport> {
    if (this.#closed && this.#transportReady === null) {
      // close() ran while this request was on its way: make no pool that nobody closes.
      return Promise.reject(new TypeError("Cannot send a request, as the client has been closed"));
    }
    this.#transportReady ??= this.#makePool().then((pool) => this.#transport = pool);
    return this.#transportReady;
  }

  async #makePool(proxy: Proxy | null = null): Promise<Transport> {
    const options = this.#options;
    const tls = await tlsSettings(options);
    return new ConnectionPool({
      proxy,
      maxConnections: options.limits?.maxConnections,
      maxKeepaliveConnections: options.limits?.maxKeepaliveConnections,
      keepaliveExpiry: options.limits?.keepaliveExpiry,
      http1: options.http1,
      http2: options.http2,
      timeout: this.#timeouts,
      ...(tls ? { tls } : {}),
    });
  }

  /** Closes the transports (the default pool, the given one, and every mounted one). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const transports = new Set<Transport>();
    if (this.#transport !== null) transports.add(this.#transport);
    else if (this.#transportReady !== null) {
      const ready = await this.#transportReady.catch(() => null);
      if (ready !== null) transports.add(ready);
    }
    for (const [, transport] of this.#mounts?.entries ?? []) {
      if (transport !== null) transports.add(transport);
    }
    await Promise.all([...transports].map((transport) => transport.close()));
  }

  /** Closes the client when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<Client [open]>` or `<Client [closed]>` */
  toString(): string {
    return `<Client [${this.#closed ? "closed" : "open"}]>`;
  }
}

/** What `send()` says when given something else than Ferry's `Request` (a web one, say). */
function notAFerryRequest(value: unknown): TypeError {
  const web = typeof globalThis.Request === "function" && value instanceof globalThis.Request;
  return new TypeError(
    web
      ? "Invalid request: client.send() takes Ferry's Request, not a web Request; send a " +
        "web Request with client.fetch(request) (a web Response comes back), or build a " +
        "Ferry Request with client.buildRequest(method, url, options)"
      : `Invalid request ${JSON.stringify(String(value))}: client.send() takes Ferry's ` +
        "Request, as client.buildRequest(method, url, options) makes it",
  );
}

inspectAsRepr(Client);

/** Reads the body of a response the caller gets whole; a failure closes it. */
async function readWhole(response: Response, request: Request): Promise<void> {
  try {
    await response.bytes();
  } catch (error) {
    await response.close().catch(() => {});
    throw attachRequest(error, response.request ?? request);
  }
}

function attachRequest(error: unknown, request: Request): unknown {
  if (error instanceof HTTPError && error.request === null) error.request = request;
  return error;
}

/** The headers every client starts with. */
function defaultHeaders(): Headers {
  return new Headers([
    ["Accept", "*/*"],
    ["Accept-Encoding", acceptEncoding()],
    ["User-Agent", `ferry/${VERSION}`],
  ]);
}

/** Percent-decodes URL credentials; a malformed escape is kept as written. */
function unquote(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
