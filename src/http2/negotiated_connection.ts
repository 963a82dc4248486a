/**
 * A pool's connection whose protocol is decided when it opens: TLS offers `h2` and
 * `http/1.1` by ALPN and the server's pick wins (or, for h2c by prior knowledge, HTTP/2 is
 * taken as given). It then hands every request to the {@linkcode Http2Connection} or the
 * HTTP/1.1 `Connection` it made, and reports to the pool as itself.
 *
 * While it opens, it counts as able to carry more requests (it may turn out HTTP/2): the
 * pool sends the other requests for its origin to it instead of opening a connection
 * each, as httpcore does. They are multiplexed once it is HTTP/2; if it turns out
 * HTTP/1.1 they take their turn on it, one after another.
 *
 * @module
 */

import { UnsupportedProtocol } from "../errors.ts";
import type { Request } from "../models/request.ts";
import type { Response } from "../models/response.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { type Origin, originString } from "../_origin.ts";
import {
  type ConnectionHooks,
  exchangeCount,
  expiresAt,
  handleRequest,
  handOverRetry,
} from "../connection/pool_connection.ts";
import { Connection, forPool } from "../connection/connection.ts";
import type { ConnectionState } from "../connection/state.ts";
import type { ConnectionOptions } from "../connection/options.ts";
import type { StreamOpener } from "../connection/open.ts";
import { Http2Connection, type Http2ConnectionOptions, installPoolHooks } from "./connection.ts";

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Requests a connection still opening takes before the pool opens another. */
const PENDING_LIMIT = 100;

/** Which protocols a pool may speak; see {@linkcode NegotiatedConnection}. */
export interface ProtocolChoice {
  /** HTTP/1.1 allowed. */
  http1: boolean;
  /** HTTP/2 allowed. */
  http2: boolean;
}

/** The ALPN protocols to offer for `choice`, most wanted first. */
export function alpnProtocols(choice: ProtocolChoice): string[] {
  const protocols: string[] = [];
  if (choice.http2) protocols.push("h2");
  if (choice.http1) protocols.push("http/1.1");
  return protocols;
}

/**
 * Whether a pool with `choice` opens connections to `url` that may speak HTTP/2: `https`
 * with HTTP/2 on (ALPN decides), or `http` with HTTP/2 only (h2c by prior knowledge).
 */
export function mayMultiplex(choice: ProtocolChoice, url: URL): boolean {
  if (!choice.http2) return false;
  return url.protocol === "https:" || !choice.http1;
}

/**
 * A pool connection that becomes HTTP/2 or HTTP/1.1 once opened. Its repr and state are
 * those of the connection it became.
 *
 * @example What a pool with HTTP/2 shows
 * ```ts ignore
 * import { ConnectionPool } from "@ferry/ferry";
 * await using pool = new ConnectionPool({ http2: true });
 * await pool.request("GET", "https://nghttp2.org/");
 * console.log(String(pool.connections[0])); // <Connection "https://nghttp2.org/" HTTP/2 IDLE>
 * ```
 */
export class NegotiatedConnection {
  #origin: Origin;
  #opener: StreamOpener;
  #options: ConnectionOptions & Http2ConnectionOptions;
  #hooks: ConnectionHooks;
  #choice: ProtocolChoice;
  #inner: Connection | Http2Connection | null = null;
  #opening: Promise<Connection | Http2Connection> | null = null;
  #pending = 0;
  #closed = false;

  /** Made by a pool: nothing is opened until the first request. */
  constructor(
    origin: Origin,
    opener: StreamOpener,
    options: ConnectionOptions & Http2ConnectionOptions,
    hooks: ConnectionHooks,
    choice: ProtocolChoice,
  ) {
    this.#origin = origin;
    this.#opener = opener;
    this.#options = options;
    this.#hooks = hooks;
    this.#choice = choice;
  }

  /** The connection it became, once open; else `null`. */
  get connection(): Connection | Http2Connection | null {
    return this.#inner;
  }

  /** The origin, as `"https://www.example.com"`. */
  get origin(): string {
    return originString(this.#origin);
  }

  /** The state of the connection it became (`NEW` or `ACTIVE` while opening). */
  get state(): ConnectionState {
    if (this.#inner !== null) return this.#inner.state;
    if (this.#closed) return "CLOSED";
    return this.#opening !== null ? "ACTIVE" : "NEW";
  }

  /** Whether it can take one more request now without waiting for a turn. */
  get canTakeRequest(): boolean {
    const inner = this.#inner;
    if (inner === null) return !this.#closed && this.#pending < PENDING_LIMIT;
    return inner instanceof Http2Connection && inner.isAvailable;
  }

  /** Whether it is (or may still become) HTTP/2. */
  get isMultiplexed(): boolean {
    return this.#inner === null ? !this.#closed : this.#inner instanceof Http2Connection;
  }

  /** When the idle connection expires. Not public API. */
  get [expiresAt](): number {
    return this.#inner?.[expiresAt] ?? Infinity;
  }

  /** Exchanges finished or started. Not public API. */
  get [exchangeCount](): number {
    return this.#inner?.[exchangeCount] ?? 0;
  }

  /** The pool's entry point. Not public API. */
  [handleRequest](
    request: Request,
    readAll: 0 | 1 | 2,
    retry?: object | null,
  ): Promise<Response> {
    return handOverRetry(this.#send(request, readAll), retry, request, readAll);
  }

  async #send(request: Request, readAll: 0 | 1 | 2): Promise<Response> {
    let inner = this.#inner;
    if (inner === null) {
      this.#pending++;
      try {
        inner = await (this.#opening ??= this.#open(request));
      } finally {
        this.#pending--;
      }
    }
    return await inner[handleRequest](request, readAll);
  }

  /** Closes the connection (or gives up opening it). */
  close(): Promise<void> {
    if (this.#inner !== null) return this.#inner.close();
    if (!this.#closed) {
      this.#closed = true;
      if (this.#opening === null) this.#hooks.closed(this);
    }
    return Promise.resolve();
  }

  /** The repr of the connection it became, or `<Connection "https://x/" NEW>`. */
  toString(): string {
    if (this.#inner !== null) return this.#inner.toString();
    return `<Connection ${JSON.stringify(originString(this.#origin) + "/")} ${this.state}>`;
  }

  /** Shown by `Deno.inspect`. */
  [INSPECT](): string {
    return this.toString();
  }

  /** Shown by Node's `util.inspect`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }

  async #open(request: Request): Promise<Connection | Http2Connection> {
    let stream: NetworkStreamInterface;
    try {
      stream = await this.#opener(this.#origin, request);
    } catch (error) {
      this.#closed = true;
      this.#hooks.closed(this);
      throw error;
    }
    const hooks: ConnectionHooks = {
      idle: () => this.#hooks.idle(this),
      closed: () => this.#hooks.closed(this),
    };
    const origin = originString(this.#origin);
    if (this.#closed) {
      await stream.close().catch(() => {});
      this.#hooks.closed(this);
      throw new UnsupportedProtocol(`Connection to ${JSON.stringify(origin)} was closed`);
    }
    const alpn = stream.getExtraInfo("alpn_protocol");
    const h2 = this.#origin.scheme === "https" ? alpn === "h2" : !this.#choice.http1;
    if (h2) {
      const connection = new Http2Connection(stream, origin, this.#options);
      installPoolHooks(connection, hooks);
      this.#inner = connection;
      return connection;
    }
    if (!this.#choice.http1) {
      await stream.close().catch(() => {});
      this.#closed = true;
      this.#hooks.closed(this);
      throw new UnsupportedProtocol(
        `${JSON.stringify(origin)} did not agree to HTTP/2 (ALPN: ${
          JSON.stringify(alpn ?? null)
        }) and HTTP/1.1 is off (http1: false)`,
        { request },
      );
    }
    const connection = Connection[forPool](
      this.#origin,
      () => Promise.resolve(stream),
      this.#options,
      hooks,
    );
    this.#inner = connection;
    return connection;
  }
}
