/**
 * The HTTP/2 engine Ferry ships: `node:http2`'s client session, run over a Ferry network
 * stream wrapped as a Node `Duplex` (`connect(authority, { createConnection })`). It works
 * the same under Node, Deno (its `node:http2`) and Bun, over any stream Ferry can open:
 * TLS with ALPN, h2c, CONNECT tunnels, SOCKS5.
 *
 * Why not an engine of our own yet: a correct HTTP/2 client needs HPACK (with its Huffman
 * table and dynamic table accounting), flow control on two levels, the stream state machine
 * and the many error rules RFC 9113 sets; Python's h2 + hpack + hyperframe are about 8,600
 * lines, with years of conformance fixes. nghttp2 (behind `node:http2` on Node) passes
 * h2spec. The {@linkcode Http2Engine} interface keeps the door open for a sans-IO engine
 * later, tested against the same suite.
 *
 * Copies this engine adds over HTTP/1.1, per direction: reading, the network bytes are
 * pushed to node:http2 as they are, which copies each DATA payload into a new `Buffer` (on
 * Node the bytes also pass through the native stream wrapper once more); writing, a body
 * chunk is framed by node:http2 into its own buffers (one copy), and small frames are
 * joined into one write (one more copy of headers and small bodies only).
 *
 * @module
 */

import type * as Http2 from "node:http2";
import type { NetworkStreamInterface } from "../network/types.ts";
import { TransportError } from "../errors.ts";
import { loadBuiltin, streamDuplex } from "./_stream_duplex.ts";
import type {
  Http2Engine,
  Http2EngineError,
  Http2EngineOptions,
  Http2EngineSession,
  Http2EngineStream,
  Http2SessionListener,
  Http2StreamListener,
} from "./engine.ts";
import { setRef as setSocketRef } from "../connection/idle_probe.ts";

const NO_ERROR = 0;
const REFUSED_STREAM = 7;
const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
/** The largest value SETTINGS_MAX_CONCURRENT_STREAMS can take: "no limit". */
const UNLIMITED = 2 ** 32 - 1;

let http2: typeof Http2 | null = null;

/** Pairs from node:http2's raw header list (`[name, value, name, value, …]`) or object. */
function headerPairs(
  object: Http2.IncomingHttpHeaders,
  raw: unknown,
): [string, string][] {
  const pairs: [string, string][] = [];
  if (Array.isArray(raw) && raw.length % 2 === 0 && typeof raw[0] === "string") {
    for (let i = 0; i < raw.length; i += 2) {
      const name = String(raw[i]);
      if (name.charCodeAt(0) !== 58 /* : */) pairs.push([name, String(raw[i + 1])]);
    }
    return pairs;
  }
  for (const name of Object.keys(object)) {
    if (name.charCodeAt(0) === 58) continue;
    const value = object[name];
    if (Array.isArray(value)) { for (const item of value) pairs.push([name, String(item)]); }
    else if (value !== undefined) pairs.push([name, String(value)]);
  }
  return pairs;
}

function errorCodeOf(error: unknown): number | null {
  const message = String((error as Error | undefined)?.message ?? "");
  const match = /code (\d+)/.exec(message);
  return match === null ? null : Number(match[1]);
}

/** Maps what node:http2 raised on the session to the engine contract. */
function sessionError(error: unknown, goawayCode: number | null): Http2EngineError {
  if (error instanceof TransportError) {
    return { kind: "network", code: null, message: error.message, cause: error };
  }
  const code = goawayCode ?? errorCodeOf(error);
  const message = String((error as Error | undefined)?.message ?? error);
  const nodeCode = String((error as { code?: unknown } | undefined)?.code ?? "");
  const network = nodeCode === "ECONNRESET" || nodeCode === "EPIPE" ||
    nodeCode === "ERR_STREAM_PREMATURE_CLOSE";
  return { kind: network ? "network" : "protocol", code, message, cause: error };
}

class NodeStream implements Http2EngineStream {
  #stream: Http2.ClientHttp2Stream;

  constructor(stream: Http2.ClientHttp2Stream) {
    this.#stream = stream;
  }

  get id(): number {
    return this.#stream.id ?? 0;
  }

  write(chunk: Uint8Array): Promise<void> {
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) {
      return Promise.reject(new Error("The stream is closed"));
    }
    return new Promise((resolve, reject) => {
      stream.write(chunk, (error) => error ? reject(error) : resolve());
    });
  }

  end(): void {
    if (!this.#stream.destroyed) this.#stream.end();
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  reset(code: number): void {
    const stream = this.#stream;
    if (!stream.closed && !stream.destroyed) stream.close(code);
  }
}

class NodeSession implements Http2EngineSession {
  #session: Http2.ClientHttp2Session;
  #stream: NetworkStreamInterface;
  #maxConcurrent = DEFAULT_MAX_CONCURRENT_STREAMS;
  /** GOAWAY received: its code and last stream id. */
  #goaway: { code: number; lastStreamId: number } | null = null;
  #error: Http2EngineError | null = null;

  constructor(
    stream: NetworkStreamInterface,
    authority: string,
    options: Http2EngineOptions,
    listener: Http2SessionListener,
  ) {
    http2 ??= loadBuiltin<typeof Http2>("node:http2");
    this.#stream = stream;
    const duplex = streamDuplex(stream, (goaway) => {
      // We ended the session (nghttp2 found the peer broke the protocol): Node reports it
      // nowhere, so close now that the GOAWAY is out.
      if (goaway.errorCode === NO_ERROR) return;
      this.#error ??= {
        kind: "protocol",
        code: goaway.errorCode,
        message: goaway.debug || "the server broke the protocol",
      };
      this.destroy(goaway.errorCode);
    });
    const session = http2.connect(authority, {
      createConnection: () => duplex,
      settings: {
        enablePush: false,
        initialWindowSize: options.streamWindowSize,
        maxHeaderListSize: options.maxHeaderListSize,
      },
      // Memory node:http2 may hold for the session (MB): the windows plus headroom.
      maxSessionMemory: Math.max(10, Math.ceil(options.connectionWindowSize / 1048576) * 2),
    } as Http2.ClientSessionOptions);
    this.#session = session;
    // Bun 1.4's setLocalWindowSize() stops its stream WINDOW_UPDATEs (a download stalls
    // once the stream window is used up): there the connection window stays at 64 KiB.
    // deno-lint-ignore no-explicit-any
    if ((globalThis as any).Bun === undefined) {
      session.once("connect", () => {
        try {
          session.setLocalWindowSize?.(options.connectionWindowSize);
        } catch {
          // A runtime without it keeps the 64 KiB default: slower, still correct.
        }
      });
    }
    session.on("remoteSettings", (settings: Http2.Settings) => {
      const max = settings.maxConcurrentStreams;
      this.#maxConcurrent = max === undefined || max >= UNLIMITED
        ? DEFAULT_MAX_CONCURRENT_STREAMS * 10
        : max;
      listener.onRemoteSettings(this.#maxConcurrent);
    });
    session.on("goaway", (code: number, lastStreamId: number) => {
      this.#goaway = { code, lastStreamId };
      listener.onGoaway(code, lastStreamId);
    });
    session.on("error", (error: unknown) => {
      this.#error ??= sessionError(error, this.#goaway?.code || null);
    });
    session.on("frameError", () => {
      // A frame that could not be sent: the stream it belonged to reports the failure.
    });
    session.once("close", () => {
      stream.close().catch(() => {});
      listener.onClose(this.#error);
    });
  }

  get maxConcurrentStreams(): number {
    return this.#maxConcurrent;
  }

  request(
    headers: [string, string][],
    endStream: boolean,
    listener: Http2StreamListener,
  ): Http2EngineStream {
    const object: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of headers) {
      const existing = object[name];
      if (existing === undefined) object[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else object[name] = [existing, value];
    }
    let stream: Http2.ClientHttp2Stream;
    try {
      stream = this.#session.request(object, { endStream });
    } catch (cause) {
      throw {
        kind: "local",
        code: null,
        message: String((cause as Error)?.message ?? cause),
        cause,
      } satisfies Http2EngineError;
    }
    let ended = false;
    let failed = false;
    const fail = (error: Http2EngineError): void => {
      if (ended || failed) return;
      failed = true;
      listener.onError(error);
    };
    stream.on("response", (object: Http2.IncomingHttpHeaders, _flags: number, raw: unknown) => {
      listener.onHeaders(Number(object[":status"]), headerPairs(object, raw));
    });
    stream.on("headers", (object: Http2.IncomingHttpHeaders, _flags: number, raw: unknown) => {
      listener.onInformational(Number(object[":status"]), headerPairs(object, raw));
    });
    stream.on("data", (chunk: Uint8Array) => listener.onData(chunk));
    stream.on("trailers", (object: Http2.IncomingHttpHeaders, _flags: number, raw: unknown) => {
      listener.onTrailers(headerPairs(object, raw));
    });
    stream.on("end", () => {
      if (failed) return;
      // A stream the peer reset ends with "close" and a code, not "end". ("close" comes
      // later than "end", by milliseconds on Deno: reporting the end here keeps latency low.)
      const code = stream.rstCode;
      if (code !== undefined && code !== NO_ERROR) return;
      ended = true;
      listener.onEnd();
    });
    stream.on("error", () => {
      // Reported through "close", with the stream's reset code and the session's state.
    });
    stream.on("close", () => {
      if (ended) return;
      const code = stream.rstCode ?? null;
      const goaway = this.#goaway;
      const id = stream.id ?? 0;
      if (goaway !== null && (id === 0 || id > goaway.lastStreamId)) {
        return fail({
          kind: "goaway",
          code: goaway.code,
          message: `the server sent GOAWAY with last stream id ${goaway.lastStreamId}`,
        });
      }
      if (this.#error !== null) return fail(this.#error);
      if (code !== null && code !== NO_ERROR) {
        // REFUSED_STREAM without GOAWAY: the peer did not process it either.
        return fail({
          kind: code === REFUSED_STREAM ? "goaway" : "reset",
          code,
          message: "the server reset the stream",
        });
      }
      // Closed without END_STREAM and without a code: the session went away under it.
      queueMicrotask(() =>
        fail(
          this.#error ?? {
            kind: this.#stream.closed ? "network" : "protocol",
            code: null,
            message: "the stream closed before the response ended",
          },
        )
      );
    });
    return new NodeStream(stream);
  }

  setRef(ref: boolean): void {
    const session = this.#session;
    try {
      // Deno's session forwards to a socket method our Duplex does not have.
      if (ref) session.ref();
      else session.unref();
    } catch {
      // The network stream's socket below is what keeps the process alive anyway.
    }
    setSocketRef(this.#stream, ref);
  }

  close(): Promise<void> {
    const session = this.#session;
    if (session.closed || session.destroyed) return Promise.resolve();
    return new Promise((resolve) => session.close(() => resolve()));
  }

  destroy(code: number): void {
    const session = this.#session;
    if (!session.destroyed) session.destroy(undefined, code);
  }
}

/**
 * The `node:http2` engine (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { nodeHttp2Engine } from "./node_engine.ts";
 * console.log(nodeHttp2Engine.name); // "node:http2"
 * ```
 */
export const nodeHttp2Engine: Http2Engine = {
  name: "node:http2",
  open(stream, authority, options, listener): Http2EngineSession {
    return new NodeSession(stream, authority, options, listener);
  },
};
