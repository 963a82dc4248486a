/**
 * `Connection`: one HTTP/1.1 connection, requests strictly one after another. The public
 * face of the files beside it:
 *
 * - `state.ts`: the states and the table of transitions (the theory of operation);
 * - `open.ts`: opening the stream (TCP or UNIX socket, retries, TLS);
 * - `handle_request.ts`: one request, from the turn to the response head;
 * - `body.ts`: reading the response body, draining or closing;
 * - `idle_probe.ts`: noticing that the server closed an idle connection;
 * - `core.ts`, `exchange.ts`, `request_head.ts`: the state those parts share;
 * - `pool_connection.ts`: what a pool needs of a connection (HTTP/1.1 or HTTP/2).
 *
 * @module
 */

import { ProxyError, RemoteProtocolError } from "../errors.ts";
import type { HeadersInit } from "../models/headers.ts";
import { parseUrl, phaseLimit, Request } from "../models/request.ts";
import type { Response } from "../models/response.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { type Origin, originOf, originString } from "../_origin.ts";
import { ConnectionCore } from "./core.ts";
import { handleRequest } from "./handle_request.ts";
import { openStream, type StreamOpener } from "./open.ts";
import {
  type ConnectionOptions,
  type ConnectionRequestInit,
  DEFAULT_TIMEOUT_MS,
} from "./options.ts";
import {
  type ConnectionHooks,
  exchangeCount,
  expiresAt,
  handleRequest as handleRequestKey,
  READ_ALL,
  READ_NONE,
  type RetryTarget,
} from "./pool_connection.ts";
import type { ConnectionState } from "./state.ts";
import { inspectAsRepr } from "../_inspect.ts";

/** Key of the factory of a pool's connections, `Connection[forPool]`. Not public API. */
export const forPool: unique symbol = Symbol("ferry.forPool");

/**
 * One HTTP/1.1 connection to one origin. Requests on it run strictly one after another:
 * concurrent callers wait in order. Usually made by {@linkcode openConnection} or by a
 * `ConnectionPool`.
 *
 * @example Two requests over one connection
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * const first = await connection.request("GET", "/");
 * const second = await connection.request("GET", "/other");
 * console.log(first.status, second.status, String(connection));
 * // 200 200 <Connection "http://127.0.0.1:8080/" IDLE>
 * ```
 */
export class Connection {
  #core: ConnectionCore;

  /**
   * Wraps an open network stream to `origin` (`"https://www.example.com"`). The
   * connection owns the stream from now on.
   */
  constructor(
    stream: NetworkStreamInterface | null,
    origin: string | URL,
    options: ConnectionOptions = {},
  ) {
    this.#core = new ConnectionCore(this, stream, originOf(parseUrl(origin)), options);
  }

  /**
   * Pool plumbing, not public API: a connection opened by `opener` when its first request
   * comes, reporting to `hooks`.
   */
  static [forPool](
    origin: Origin,
    opener: StreamOpener,
    options: ConnectionOptions,
    hooks: ConnectionHooks,
  ): Connection {
    const connection = new Connection(null, originString(origin), options);
    const core = connection.#core;
    core.origin = origin;
    core.opener = opener;
    core.hooks = hooks;
    return connection;
  }

  /** The connection's state. */
  get state(): ConnectionState {
    return this.#core.state;
  }

  /** The origin, as `"https://www.example.com"`. */
  get origin(): string {
    return this.#core.originText;
  }

  /** Whether the connection is idle and may take a request now. */
  get isIdle(): boolean {
    return this.#core.state === "IDLE";
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.#core.state === "CLOSED";
  }

  /** The network stream, once open. */
  get networkStream(): NetworkStreamInterface | null {
    return this.#core.stream;
  }

  /**
   * Sends a request and reads the whole response body. `url` may be a path, resolved
   * against the connection's origin.
   */
  async request(
    method: string,
    url: string | URL,
    init: ConnectionRequestInit = {},
  ): Promise<Response> {
    const request = new Request(method, parseUrl(url, this.#core.originText + "/"), init);
    return await handleRequest(this.#core, request, READ_ALL);
  }

  /**
   * Sends a request and returns the response with its body unread: read it or close it
   * (`await using`), or the connection stays busy.
   */
  stream(method: string, url: string | URL, init: ConnectionRequestInit = {}): Promise<Response> {
    let request: Request;
    try {
      request = new Request(method, parseUrl(url, this.#core.originText + "/"), init);
    } catch (error) {
      return Promise.reject(error);
    }
    return handleRequest(this.#core, request, READ_NONE);
  }

  /** Sends `request` and returns the response with its body unread. */
  send(request: Request): Promise<Response> {
    return handleRequest(this.#core, request, READ_NONE);
  }

  /**
   * Sends an `Upgrade` request (`GET` with `Upgrade: websocket`, say) or a `CONNECT`, and
   * hands back the raw stream once the server switched protocols (`101`) or accepted the
   * tunnel (`2xx`). Bytes the server sent right after its head come first from the
   * returned stream. The connection is the stream's from then on; closing the stream
   * closes the connection.
   *
   * For `CONNECT`, `target` is the authority (`"www.example.com:443"`); otherwise it is a
   * path. A refused `CONNECT` raises {@linkcode ProxyError}; a refused upgrade raises
   * {@linkcode RemoteProtocolError}.
   */
  async upgrade(
    method: string,
    target: string,
    headers?: HeadersInit | null,
  ): Promise<NetworkStreamInterface> {
    const core = this.#core;
    const isConnect = method.toUpperCase() === "CONNECT";
    const url = isConnect ? core.originText + "/" : parseUrl(target, core.originText + "/");
    const request = new Request(method, url, {
      headers,
      extensions: { target: isConnect ? target : undefined },
    });
    const response = await handleRequest(core, request, READ_NONE);
    const stream = response.extensions.networkStream;
    if (core.state === "UPGRADED" && stream !== undefined) return stream;
    await response.close();
    const reason = response.reasonPhrase;
    const message = `${isConnect ? "Proxy refused" : "Server refused to switch protocols for"} ${
      JSON.stringify(`${method} ${target}`)
    }: ${response.status}${reason ? ` ${reason}` : ""}`;
    if (isConnect) throw new ProxyError(message, { status: response.status, reasonPhrase: reason });
    throw new RemoteProtocolError(message, { request });
  }

  /** Closes the connection (and any response being read on it). */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Closes the connection when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Pool plumbing, not public API: sends `request`, reading as much of the body as `readAll` (a `ReadMode`) says. */
  [handleRequestKey](
    request: Request,
    readAll: 0 | 1 | 2,
    retry?: object | null,
  ): Promise<Response> {
    // A RetryTarget (not public API, hence the loose type).
    return handleRequest(this.#core, request, readAll, (retry ?? null) as RetryTarget | null);
  }

  /** Pool plumbing, not public API: when the idle connection expires (`Date.now()` scale). */
  get [expiresAt](): number {
    return this.#core.expiresAt;
  }

  /** Pool plumbing, not public API: how many exchanges the connection finished. */
  get [exchangeCount](): number {
    return this.#core.exchanges;
  }

  /** `<Connection "https://www.example.com/" IDLE>` */
  toString(): string {
    const core = this.#core;
    if (core.state === "UPGRADED") {
      if (core.upgradeLabel === "CONNECT") {
        return `<Connection ${JSON.stringify(core.upgradeUrl)} VIA ${
          JSON.stringify(core.originText)
        } CONNECT>`;
      }
      return `<Connection ${JSON.stringify(core.upgradeUrl)} ${core.upgradeLabel}>`;
    }
    return `<Connection ${JSON.stringify(core.originText + "/")} ${core.state}>`;
  }
}

inspectAsRepr(Connection);

/**
 * Opens a connection to `url`'s origin (TCP, then TLS for `https`).
 *
 * @example Open a connection and send a request
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("https://www.example.com/");
 * const response = await connection.request("GET", "/");
 * console.log(response.status, String(connection));
 * // 200 <Connection "https://www.example.com/" IDLE>
 * ```
 */
export async function openConnection(
  url: string | URL,
  options: ConnectionOptions = {},
): Promise<Connection> {
  const parsed = parseUrl(url);
  const origin = originOf(parsed);
  const timeouts = options.timeout ?? {};
  const connectMs = phaseLimit(timeouts, "connect", DEFAULT_TIMEOUT_MS);
  const stream = await openStream(origin, options, connectMs, {
    trace: options.trace,
    sniHostname: options.sniHostname,
    signal: options.signal,
  });
  return new Connection(stream, parsed, options);
}
