/**
 * `Response`: status, headers, extensions and a body that is read once.
 *
 * @module
 */

import { Headers, type HeadersInit } from "./headers.ts";
import { type BodySource, bytesSource, concatBytes, utf8 } from "./body.ts";
import type { Request } from "./request.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { reasonPhraseOf } from "./status.ts";
import { StreamConsumed } from "../errors.ts";

/** Response extensions, as in httpcore (with camelCase names). */
export interface ResponseExtensions {
  /** `"HTTP/1.1"`, `"HTTP/1.0"`. */
  httpVersion?: string;
  /** The reason phrase the server sent. */
  reasonPhrase?: string;
  /** The raw stream after a `101` or a `2xx` to `CONNECT`. */
  networkStream?: NetworkStreamInterface;
  /** Any other extension a transport sets. */
  [key: string]: unknown;
}

/** Options of a {@linkcode Response}. */
export interface ResponseInit {
  /** Headers, in wire order. */
  headers?: HeadersInit | null;
  /** The body: bytes, text, or a source to pull it from. */
  content?: Uint8Array | string | BodySource | null;
  /** Extensions from the transport. */
  extensions?: ResponseExtensions;
  /** The request this answers. */
  request?: Request | null;
}

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * An HTTP response. Its body is read once, with {@linkcode Response.bytes},
 * {@linkcode Response.text}, {@linkcode Response.json} or by iterating.
 *
 * @example Read a response
 * ```ts
 * import { Response } from "@ferry/ferry";
 * const response = new Response(200, { content: '{"ok":true}' });
 * console.log(String(response)); // <Response [200 OK]>
 * console.log(await response.json()); // { ok: true }
 * ```
 */
export class Response {
  /** The status code. */
  readonly status: number;
  /** The headers, in wire order. */
  headers: Headers;
  /** Extensions from the transport. */
  extensions: ResponseExtensions;
  /** The request this answers, when known. */
  request: Request | null;
  #source: BodySource;
  #content: Uint8Array | null = null;
  #consumed = false;
  #closed = false;

  /** Creates a response with `status`. */
  constructor(status: number, init: ResponseInit = {}) {
    this.status = status;
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.extensions = init.extensions ?? {};
    this.request = init.request ?? null;
    const content = init.content ?? null;
    if (content === null) {
      this.#content = new Uint8Array(0);
      this.#source = bytesSource(this.#content);
    } else if (typeof content === "string") {
      this.#content = utf8(content);
      this.#source = bytesSource(this.#content);
    } else if (content instanceof Uint8Array) {
      this.#content = content;
      this.#source = bytesSource(content);
    } else {
      this.#source = content;
    }
  }

  /** The reason phrase the server sent, else the standard one. */
  get reasonPhrase(): string {
    return this.extensions.reasonPhrase ?? reasonPhraseOf(this.status);
  }

  /** The HTTP version, `"HTTP/1.1"` unless the transport said otherwise. */
  get httpVersion(): string {
    return this.extensions.httpVersion ?? "HTTP/1.1";
  }

  /** Whether the body was read to the end and is kept in memory. */
  get isRead(): boolean {
    return this.#content !== null && this.#consumed;
  }

  /** Whether the body's source was closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Reads the whole body (once) and returns it; later calls return the same bytes. */
  async bytes(): Promise<Uint8Array> {
    if (this.#content !== null) {
      if (!this.#consumed) {
        this.#consumed = true;
        await this.close();
      }
      return this.#content;
    }
    if (this.#consumed) throw new StreamConsumed();
    this.#consumed = true;
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (
        let chunk = await this.#source.read();
        chunk !== null;
        chunk = await this.#source.read()
      ) {
        chunks.push(chunk);
        total += chunk.length;
      }
    } finally {
      await this.close();
    }
    this.#content = concatBytes(chunks, total);
    return this.#content;
  }

  /** Reads the body and decodes it as UTF-8. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** Reads the body and parses it as JSON. */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /** Yields the body chunk by chunk as it arrives. */
  async *iterBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#content !== null) {
      this.#consumed = true;
      if (this.#content.length > 0) yield this.#content;
      await this.close();
      return;
    }
    if (this.#consumed) throw new StreamConsumed();
    this.#consumed = true;
    try {
      for (
        let chunk = await this.#source.read();
        chunk !== null;
        chunk = await this.#source.read()
      ) {
        yield chunk;
      }
    } finally {
      await this.close();
    }
  }

  /** Releases the body's source (and with it the connection). Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#source.close();
  }

  /** Closes the response when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `<Response [200 OK]>` */
  toString(): string {
    const reason = this.reasonPhrase;
    return `<Response [${this.status}${reason ? ` ${reason}` : ""}]>`;
  }

  /** Shown by `Deno.inspect`. */
  [INSPECT](): string {
    return this.toString();
  }

  /** Shown by Node's `util.inspect`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }
}
