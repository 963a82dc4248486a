/**
 * The fetch adapter: a function with the signature and the observable semantics of the
 * runtime's `fetch` that sends through a {@linkcode Client}, for code and SDKs that take
 * a custom `fetch` (OpenAI, Anthropic, Stripe, ky…). `client.fetch` is one, bound to its
 * client; the root `fetch` uses a module-level default client.
 *
 * ## Theory of operation
 *
 * The adapter sees the client only through its public `buildRequest()` and `send()`
 * (typed structurally here, so the dependency runs one way and there is no cycle):
 *
 * 1. `input` and `init` are read as the Fetch standard reads them: a `Request` gives the
 *    method, URL, headers, body, signal and redirect mode, and `init` overrides each.
 *    Headers go through the runtime's `Headers` (its validation, its lower-case names);
 *    the body is extracted as fetch does (default `Content-Type`s included), a `FormData`
 *    by the runtime itself.
 * 2. The request is sent with `stream: true` and the redirect mode (`follow` lets the
 *    client follow up to its `maxRedirects`, 20 by default; `manual` returns the 3xx;
 *    `error` rejects on one).
 * 3. The answer becomes the runtime's `Response`: a `ReadableStream` body that pulls from
 *    the client's response chunk by chunk (decoded), whose `cancel()` closes it; `url`,
 *    `redirected` and `type` are set on the instance, as the constructor cannot.
 *
 * Failures reject as fetch's do: an abort with `signal.reason`, everything else with
 * `TypeError("fetch failed", { cause })` where `cause` is Ferry's typed error; a body that
 * fails mid-way errors its stream with `TypeError("terminated", { cause })`.
 *
 * @module
 */

import type { Request as FerryRequest } from "./models/request.ts";
import { type Response as FerryResponse, TAKE_WHOLE } from "./models/response.ts";
import type { RequestContent } from "./models/body.ts";
import { utf8 } from "./models/body.ts";
import { RemoteProtocolError, TooManyRedirects } from "./errors.ts";

/**
 * The second argument of a {@linkcode Fetch}: the standard `RequestInit`, with `duplex`.
 *
 * @example Stream an upload
 * ```ts ignore
 * import { Client, type FetchInit } from "@ferry/ferry";
 * await using client = new Client();
 * const init: FetchInit = { method: "PUT", body: ReadableStream.from(["a", "b"]).pipeThrough(new TextEncoderStream()), duplex: "half" };
 * await client.fetch("https://example.com/upload", init);
 * ```
 */
export type FetchInit = RequestInit & {
  /** `"half"`: required with a stream body, as in the standard. */
  duplex?: "half";
};

/**
 * A function with `fetch`'s signature that sends through a Ferry client. It returns the
 * runtime's standard `Response`, whose class it also carries as `Response` (OpenAI's SDK
 * looks for it there).
 *
 * @example Hand a client to an SDK
 * ```ts ignore
 * import { Client } from "@ferry/ferry";
 * import OpenAI from "openai";
 * await using client = new Client({ timeout: { read: 600_000 } });
 * const openai = new OpenAI({ fetch: client.fetch });
 * ```
 */
export interface Fetch {
  /** Sends `input` as `fetch(input, init)` would. */
  (input: string | URL | Request, init?: FetchInit): Promise<Response>;
  /** The runtime's `Response` class. */
  readonly Response: typeof Response;
}

/** The request options the adapter hands to the client's `buildRequest()`. */
export interface FetchRequestOptions {
  /** The request's headers, merged over the client's. */
  headers?: Iterable<readonly [string, string]>;
  /** The body. */
  content?: RequestContent | Blob | null;
  /** The abort signal. */
  signal?: AbortSignal;
}

/** The part of a client the adapter uses: its public `buildRequest()` and `send()`. */
export interface FetchClient {
  /** Builds a request with the client's defaults merged in. */
  buildRequest(method: string, url: string | URL, options?: FetchRequestOptions): FerryRequest;
  /** Sends a built request. */
  send(
    request: FerryRequest,
    options?: { stream?: boolean; followRedirects?: boolean },
  ): Promise<FerryResponse>;
}

// Captured once: `data:` URLs are answered by the runtime's own fetch, and a program that
// installs Ferry's fetch as the global one must not loop back here.
const runtimeFetch: typeof globalThis.fetch | undefined = globalThis.fetch;
const WebResponse: typeof Response = globalThis.Response;
const WebHeaders: typeof Headers = globalThis.Headers;
const WebRequest: typeof Request | undefined = globalThis.Request;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const NORMALISED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const REDIRECT_MODES = new Set(["follow", "manual", "error"]);
/** Statuses whose response has no body, whatever the server sent. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Makes the `fetch` of `client`: a plain function (usable detached, as SDKs call it)
 * carrying the runtime's `Response` class.
 */
export function bindFetch(client: FetchClient): Fetch {
  const fetch = (input: string | URL | Request, init?: FetchInit): Promise<Response> =>
    fetchThrough(client, input, init);
  Object.defineProperty(fetch, "Response", { value: WebResponse, enumerable: true });
  return fetch as Fetch;
}

/** What a request body was extracted into. */
interface ExtractedBody {
  content: RequestContent | Blob | null;
  contentType: string | null;
}

const NO_BODY: ExtractedBody = { content: null, contentType: null };
const HEADER_VALUE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const INVALID_HEADER_VALUE = /[\0\r\n]/;

/**
 * The request's headers as the runtime's `Headers` would take them (names checked and
 * lower-cased, values trimmed and checked), as pairs: the runtime's `Headers` class costs
 * more per request than the rest of the adapter together.
 */
function requestHeaders(init: HeadersInit | undefined): [string, string][] {
  const pairs: [string, string][] = [];
  if (init === undefined || init === null) return pairs;
  if (init instanceof WebHeaders) {
    for (const [name, value] of init) pairs.push([name, value]);
    return pairs;
  }
  if (typeof init !== "object") {
    throw new TypeError(`Invalid headers of type ${typeof init}: expected an object`);
  }
  if (Symbol.iterator in init) {
    for (const pair of init as Iterable<unknown>) {
      const items = typeof pair === "object" && pair !== null && Symbol.iterator in pair
        ? [...pair as Iterable<unknown>]
        : null;
      if (items === null || items.length !== 2) {
        throw new TypeError("Invalid header pair: expected a name and a value");
      }
      pairs.push(checkedHeader(String(items[0]), String(items[1])));
    }
    return pairs;
  }
  for (const name of Object.keys(init)) {
    pairs.push(checkedHeader(name, String((init as Record<string, unknown>)[name])));
  }
  return pairs;
}

function checkedHeader(name: string, value: string): [string, string] {
  if (!TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  const trimmed = value.replace(HEADER_VALUE_EDGES, "");
  if (INVALID_HEADER_VALUE.test(trimmed)) {
    throw new TypeError(
      `Invalid value of header ${JSON.stringify(name)}: ${JSON.stringify(value)}`,
    );
  }
  return [name.toLowerCase(), trimmed];
}

async function fetchThrough(
  client: FetchClient,
  input: string | URL | Request,
  init: FetchInit = {},
): Promise<Response> {
  const fromRequest = WebRequest !== undefined && input instanceof WebRequest ? input : null;
  const signal = init.signal !== undefined
    ? init.signal ?? undefined
    : fromRequest?.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;

  let method = init.method ?? fromRequest?.method ?? "GET";
  if (!TOKEN.test(method)) throw new TypeError(`Invalid method ${JSON.stringify(method)}`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) {
    throw new TypeError(`Forbidden method ${JSON.stringify(method)}`);
  }
  if (NORMALISED_METHODS.has(upper)) method = upper;

  const redirect = init.redirect ?? fromRequest?.redirect ?? "follow";
  if (!REDIRECT_MODES.has(redirect)) {
    throw new TypeError(
      `Invalid redirect ${JSON.stringify(redirect)}: expected "follow", "manual" or "error"`,
    );
  }

  const headers = requestHeaders(init.headers ?? fromRequest?.headers);
  let body: ExtractedBody;
  if (init.body !== undefined && init.body !== null) {
    body = await extractBody(init.body, init.duplex);
  } else if (init.body === undefined && fromRequest !== null && fromRequest.body !== null) {
    if (fromRequest.bodyUsed) {
      throw new TypeError("Cannot fetch a Request whose body was already read");
    }
    // Read into memory: the body then has a length and can be sent again (307/308).
    body = { content: new Uint8Array(await fromRequest.arrayBuffer()), contentType: null };
  } else {
    body = NO_BODY;
  }
  if (body.content !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`Request with ${method} method cannot have body`);
  }
  // What undici adds besides Accept, Accept-Encoding and User-Agent (the client's).
  let hasLanguage = false;
  let hasMode = false;
  let hasType = false;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    if (name === "accept-language") hasLanguage = true;
    else if (name === "sec-fetch-mode") hasMode = true;
    else if (name === "content-type") hasType = true;
  }
  if (body.contentType !== null && !hasType) headers.push(["content-type", body.contentType]);
  if (!hasLanguage) headers.push(["accept-language", "*"]);
  if (!hasMode) headers.push(["sec-fetch-mode", "cors"]);

  const url = fromRequest !== null ? fromRequest.url : input as string | URL;
  if (typeof url === "string" ? url.startsWith("data:") : url.protocol === "data:") {
    if (runtimeFetch === undefined) throw new TypeError("No runtime fetch for a data: URL");
    return await runtimeFetch(url, { signal });
  }

  let request: FerryRequest;
  try {
    request = client.buildRequest(method, typeof url === "string" ? url : url.href, {
      headers,
      content: body.content,
      signal,
    });
  } catch (error) {
    throw new TypeError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }

  let response: FerryResponse;
  try {
    response = await client.send(request, { stream: true, followRedirects: redirect === "follow" });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new TypeError("fetch failed", { cause: error });
  }
  if (redirect === "error" && response.hasRedirectLocation) {
    await response.close().catch(() => {});
    const location = response.headers.get("location");
    throw new TypeError("fetch failed", {
      cause: new TooManyRedirects(
        `Unexpected redirect to ${JSON.stringify(location)}: the redirect mode is "error"`,
        { request },
      ),
    });
  }
  // A body that came whole with its head goes to the web Response as bytes: no stream to
  // build and pull, and the connection is back in the pool before the caller reads it.
  const whole = method === "HEAD" ? null : response[TAKE_WHOLE]();
  // Closing a body that came whole gives the connection back at once (before the promise).
  if (whole !== null) response.close().catch(() => {});
  return toWebResponse(response, method, signal, whole);
}

async function extractBody(body: unknown, duplex: string | undefined): Promise<ExtractedBody> {
  if (typeof body === "string") {
    return { content: utf8(body), contentType: "text/plain;charset=UTF-8" };
  }
  if (body instanceof URLSearchParams) {
    return {
      content: utf8(body.toString()),
      contentType: "application/x-www-form-urlencoded;charset=UTF-8",
    };
  }
  if (body instanceof Blob) return { content: body, contentType: body.type || null };
  if (body instanceof ArrayBuffer) {
    return { content: new Uint8Array(body.slice(0)), contentType: null };
  }
  if (ArrayBuffer.isView(body)) {
    const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return { content: bytes.slice(), contentType: null };
  }
  if (typeof FormData !== "undefined" && body instanceof FormData) {
    // The runtime encodes it (boundary and all); a Blob has a length and can be resent.
    const encoded = new WebResponse(body);
    return { content: await encoded.blob(), contentType: encoded.headers.get("content-type") };
  }
  const isStream = typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
  if (isStream || (typeof body === "object" && body !== null && Symbol.asyncIterator in body)) {
    if (duplex !== "half") {
      throw new TypeError("RequestInit: duplex option is required when sending a body stream");
    }
    if (isStream && (body as ReadableStream).locked) {
      throw new TypeError("Cannot send a ReadableStream body that is locked");
    }
    return { content: checkedChunks(body as AsyncIterable<unknown>), contentType: null };
  }
  // Anything else is sent as its string, as the standard's `USVString` conversion does.
  return { content: utf8(String(body)), contentType: "text/plain;charset=UTF-8" };
}

/** Passes a stream's chunks on, failing (as fetch does) on a chunk that is not bytes. */
async function* checkedChunks(source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(
        `Invalid body chunk of type ${typeof chunk}: a stream body must yield Uint8Array`,
      );
    }
    yield chunk;
  }
}

function toWebResponse(
  response: FerryResponse,
  method: string,
  signal: AbortSignal | undefined,
  whole: Uint8Array | null,
): Response {
  const status = response.status;
  if (status < 200 || status > 599) {
    void response.close().catch(() => {});
    throw new TypeError("fetch failed", {
      cause: new RemoteProtocolError(
        `Unsupported status "${status}": a fetch Response has a status from 200 to 599`,
        { request: response.request },
      ),
    });
  }
  let body: ReadableStream<Uint8Array> | null = null;
  if (method === "HEAD" || NULL_BODY_STATUSES.has(status)) {
    void response.close().catch(() => {});
  } else if (whole === null) {
    body = bodyStream(response, signal);
  }
  const content = body ?? wholeBody(whole, status);
  const statusText = response.extensions.reasonPhrase ?? "";
  let web: FetchResponse;
  try {
    web = new FetchResponse(content, { status, statusText });
  } catch {
    try {
      // A reason phrase the runtime refuses (it is only informative): leave it out.
      web = new FetchResponse(content, { status });
    } catch (error) {
      void response.close().catch(() => {});
      throw new TypeError("fetch failed", { cause: error });
    }
  }
  // The headers are appended after construction, one pair at a time (Set-Cookie values stay
  // apart): given to Deno's constructor with a body in memory, they make it prepare a native
  // copy of the response for Deno.serve, which costs twice what the rest of this does.
  try {
    const target = web.headers;
    const pairs = response.headers.pairs();
    for (let i = 0; i < pairs.length; i++) target.append(pairs[i][0], pairs[i][1]);
  } catch (error) {
    void response.close().catch(() => {});
    throw new TypeError("fetch failed", { cause: error });
  }
  web[STATE] = {
    url: withoutFragment(response.url),
    redirected: response.history.length > 0,
    source: body === null ? null : response,
    signal,
    used: false,
  };
  if (body !== null) unread.register(web, { response, state: web[STATE], body: new WeakRef(body) });
  return web;
}

/** The web body of a response that came whole: its bytes, `null` where none is allowed. */
function wholeBody(whole: Uint8Array | null, status: number): BodyInit | null {
  return whole === null || NULL_BODY_STATUSES.has(status) ? null : whole as Uint8Array<ArrayBuffer>;
}

/**
 * Closes the client's response of a web `Response` that was dropped with its body never
 * read, as undici's fetch cancels such a body when its `Response` is collected: code that
 * only looks at the status (`if (!response.ok) throw …`) would otherwise keep the
 * connection busy for good, and the pool's connections run out where the runtime's fetch
 * goes on. A body stream still locked by a live reader is left to it.
 */
const unread = new FinalizationRegistry<{
  response: FerryResponse;
  state: FetchState;
  body: WeakRef<ReadableStream<Uint8Array>>;
}>(({ response, state, body }) => {
  if (!state.used && body.deref()?.locked !== true) void response.close().catch(() => {});
});

/** A response's URL as fetch shows it: without its fragment. */
function withoutFragment(url: URL | null): string {
  if (url === null) return "";
  if (!url.href.includes("#")) return url.href;
  const copy = new URL(url.href);
  copy.hash = "";
  return copy.href;
}

const STATE = Symbol("ferry.fetch.state");

/** What a {@linkcode FetchResponse} knows beyond the runtime's `Response`. */
interface FetchState {
  url: string;
  redirected: boolean;
  /** The client's response while its body can still be read past the web stream. */
  source: FerryResponse | null;
  signal: AbortSignal | undefined;
  /** Whether the body was read past the web stream. */
  used: boolean;
}

const bodyOf = Object.getOwnPropertyDescriptor(WebResponse.prototype, "body")!.get!;
const bodyUsedOf = Object.getOwnPropertyDescriptor(WebResponse.prototype, "bodyUsed")!.get!;
const utf8Decoder = new TextDecoder();

/**
 * The runtime's `Response` with what its constructor cannot set, as the runtime's own
 * fetch has it: `url`, `redirected` and `type: "basic"` (kept by `clone()`).
 *
 * Its body is a web stream over the client's response. Reading it whole (`arrayBuffer()`,
 * `bytes()`, `text()`, `json()`) while nobody has touched that stream reads the client's
 * response directly instead, and locks the stream as reading it would have: the same
 * result without a promise per chunk through the stream machinery, which costs more than
 * the rest of a small request. Any other use (a reader, `clone()`, `blob()`,
 * `formData()`) goes through the stream.
 */
class FetchResponse extends WebResponse {
  declare [STATE]: FetchState;

  override get url(): string {
    return this[STATE].url;
  }

  override get redirected(): boolean {
    return this[STATE].redirected;
  }

  override get type(): ResponseType {
    return "basic";
  }

  override get bodyUsed(): boolean {
    return this[STATE].used || bodyUsedOf.call(this);
  }

  // Each reader goes straight to the runtime's own when the client's response is no longer
  // behind the body (it came whole, or the stream took over): no extra promise per call.

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this[STATE].source === null) return super.arrayBuffer();
    return readWhole(this).then((bytes) => {
      if (bytes === null) return super.arrayBuffer();
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer as ArrayBuffer
        : bytes.slice().buffer as ArrayBuffer;
    });
  }

  /** The body's bytes (as `Response.bytes()` where the runtime has it). */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this[STATE].source === null) return super.arrayBuffer().then(toBytes);
    return readWhole(this).then((bytes) =>
      bytes === null ? super.arrayBuffer().then(toBytes) : bytes as Uint8Array<ArrayBuffer>
    );
  }

  override text(): Promise<string> {
    if (this[STATE].source === null) return super.text();
    return readWhole(this).then((bytes) =>
      bytes === null ? super.text() : utf8Decoder.decode(bytes)
    );
  }

  override json(): Promise<unknown> {
    if (this[STATE].source === null) return super.json();
    return readWhole(this).then((bytes) =>
      bytes === null ? super.json() : JSON.parse(utf8Decoder.decode(bytes))
    );
  }

  override clone(): Response {
    // Cloning tees the stream: from now on the body is read through it only.
    this[STATE].source = null;
    const copy = super.clone() as FetchResponse;
    Object.setPrototypeOf(copy, FetchResponse.prototype);
    copy[STATE] = { ...this[STATE] };
    return copy;
  }
}

function toBytes(buffer: ArrayBuffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer);
}

/**
 * Reads the client's response whole when the web stream is untouched (locking the stream,
 * as consuming it would); `null` when the stream must be used instead.
 */
async function readWhole(web: FetchResponse): Promise<Uint8Array | null> {
  const state = web[STATE];
  const source = state.source;
  if (source === null || state.used) return null;
  const stream = bodyOf.call(web) as ReadableStream<Uint8Array> | null;
  if (stream === null || stream.locked || bodyUsedOf.call(web)) return null;
  stream.getReader();
  state.used = true;
  state.source = null;
  try {
    return await source.bytes();
  } catch (error) {
    throw state.signal?.aborted
      ? state.signal.reason
      : new TypeError("terminated", { cause: error });
  }
}

/** The response body as a web stream: one chunk per pull; cancelling closes the response. */
function bodyStream(
  response: FerryResponse,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const chunks = response.iterBytes();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await chunks.next();
          if (next.done) return controller.close();
          if (next.value.length > 0) return controller.enqueue(next.value);
        }
      } catch (error) {
        controller.error(
          signal?.aborted ? signal.reason : new TypeError("terminated", { cause: error }),
        );
      }
    },
    async cancel() {
      await response.close().catch(() => {});
    },
  }, { highWaterMark: 0 });
}
