/**
 * One request on an HTTP/1.1 connection, start to response: wait for the turn, open the
 * stream if need be, write the head and the body, read the response head, and hand the
 * body over (whole, or to be read on demand through `body.ts`). Upgrades (`101`, `2xx` to
 * `CONNECT`) hand the stream itself over.
 *
 * The per-request path allocates no timer, no `AbortController`, no stream and no
 * generator: per-phase limits are passed down to the network stream (which shares one
 * deadline queue), the exchange's state lives in the connection's one
 * {@linkcode Exchange} record, and a response whose body came with its head is handed up
 * as bytes.
 *
 * @module
 */

import {
  LocalProtocolError,
  RemoteProtocolError,
  TimeoutException,
  WriteError,
} from "../errors.ts";
import { Headers } from "../models/headers.ts";
import { phaseLimit, type Request, type TraceCallback } from "../models/request.ts";
import { Response, type ResponseExtensions } from "../models/response.ts";
import { concatBytes } from "../models/body.ts";
import type { NetworkStreamInterface } from "../network/types.ts";
import { PrefixedStream } from "../network/prefixed_stream.ts";
import { asciiHead, type HeadEvent, type ResponseEvent } from "../http11/parser.ts";
import { traced } from "../_trace.ts";
import { defaultPort } from "../_origin.ts";
import type { ConnectionCore } from "./core.ts";
import type { Exchange } from "./exchange.ts";
import { BufferedBody, ConnectionBody } from "./body.ts";
import { unscheduleProbe } from "./idle_probe.ts";
import {
  IDEMPOTENT_METHODS,
  isRetryableError,
  markBeforeResponse,
  markRetryable,
  READ_ALL,
  READ_NONE,
  type ReadMode,
  retryRequest,
  type RetryTarget,
} from "./pool_connection.ts";
const EMPTY = new Uint8Array(0);

/**
 * Sends `request` on the connection of `core` and returns the response, with as much of
 * its body read as `readAll` says (see {@linkcode ReadMode}). A failure that is safe to
 * retry goes to `retry` when given (see {@linkcode RetryTarget}).
 *
 * Only the steps that wait are in this async function (the turn, opening, writing,
 * reading the head); what comes before and after is in plain functions. An async
 * function's frame holds every local of its body for as long as it runs, and is allocated
 * per call: kept small, it is a few hundred bytes fewer per request.
 */
export async function handleRequest(
  core: ConnectionCore,
  request: Request,
  readAll: ReadMode,
  retry: RetryTarget | null = null,
): Promise<Response> {
  if (core.busy) await core.takeTurn();
  let exchange: number;
  try {
    exchange = begin(core, request);
  } catch (refusal) {
    // Closed (or upgraded) meanwhile: retryable, and the retry target's to take.
    if (retry !== null && isRetryableError(refusal)) {
      return retry[retryRequest](refusal, request, readAll);
    }
    throw refusal;
  }
  const x = core.x;
  try {
    if (core.stream === null) await core.open(request);
    const stream = core.stream!;
    const writeMs = phaseLimit(request.extensions.timeout, "write", core.writeMs);
    const wire = serializeHead(core, request);
    x.headSent = true;
    if (x.trace) await sendHeadTraced(x, stream, wire, writeMs);
    else await stream.write(wire, writeMs);
    const body = core.heads.body;
    if (body !== null || x.trace) x.writeFailure = await sendBody(x, stream, body, writeMs);

    // -- Response head --
    const parser = core.parser;
    parser.startResponse(request.method);
    if (x.trace) await x.trace("http11.receive_response_headers.started", { request });
    let event: ResponseEvent | null;
    try {
      try {
        event = parser.next();
        while (event === null || event.type === "informational") {
          if (event === null) {
            const bytes = await core.readChunk(stream);
            if (bytes.length === 0) parser.feedEnd();
            else {
              x.gotBytes = true;
              parser.feed(bytes);
            }
          }
          event = parser.next();
        }
      } catch (error) {
        throw x.writeFailure ?? error;
      }
      if (event.type !== "head") {
        throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} before the head`);
      }
    } catch (error) {
      if (x.trace) {
        await traceFailed(x.trace, "http11.receive_response_headers", core.failure(error, request));
      }
      throw error;
    }
    if (x.trace) {
      // The pairs may be shared with later heads (see core.ts): the callback gets copies.
      const pairs = event.headers.map((pair): [string, string] => [pair[0], pair[1]]);
      await x.trace("http11.receive_response_headers.complete", {
        return_value: [event.version, event.status, event.reason, pairs],
      });
    }
    const response = respond(core, request, event, readAll, exchange);
    return response instanceof Response ? response : await response;
  } catch (error) {
    const failure = await failExchange(core, request, error);
    if (retry !== null && isRetryableError(failure)) {
      return retry[retryRequest](failure, request, readAll);
    }
    throw failure;
  }
}

/** Takes the connection for `request` (or refuses it) and starts the exchange's record. */
function begin(core: ConnectionCore, request: Request): number {
  core.busy = true;
  const extensions = request.extensions;
  const signal = extensions.signal;
  if (core.state === "CLOSED" || core.state === "UPGRADED" || signal?.aborted) {
    throw refuse(core, request);
  }
  // Reused: the stream was open before this request (it may have gone stale meanwhile).
  const reused = core.exchanges > 0 || core.stream !== null;
  if (core.state === "IDLE" && core.armed === null) unscheduleProbe(core);
  core.setState("ACTIVE");
  const x = core.x;
  x.start(request, extensions.trace, signal, phaseLimit(extensions.timeout, "read", core.readMs));
  x.reused = reused;
  if (signal !== undefined) core.listen(signal);
  return ++core.exchangeId;
}

/** The request head's bytes (with a body given as bytes); a streamed body is left in `heads.body`. */
function serializeHead(core: ConnectionCore, request: Request): Uint8Array {
  const target = (request.extensions.target as string | undefined) ?? request.target;
  const heads = core.heads;
  const pairs = heads.pairs(request.headers, request);
  if (heads.closeAsked) core.x.keepAlive = false;
  return heads.serialize(request.method, target, pairs, request.content);
}

function sendHeadTraced(
  x: Exchange,
  stream: NetworkStreamInterface,
  wire: Uint8Array,
  writeMs: number | null,
): Promise<unknown> {
  return traced(
    x.trace!,
    "http11.send_request_headers",
    { request: x.request },
    () => stream.write(wire, writeMs).then(() => null),
  );
}

/**
 * The response to `request` from its head: an upgrade hands the stream over; a body that
 * came whole is handed up as bytes (in memory unless `readAll` is {@linkcode READ_NONE});
 * anything else is read on demand (or whole first, with {@linkcode READ_ALL}). A promise
 * only when something must be waited for (tracing, reading).
 */
function respond(
  core: ConnectionCore,
  request: Request,
  head: HeadEvent,
  readAll: ReadMode,
  exchange: number,
): Response | Promise<Response> {
  const x = core.x;
  const parser = core.parser;
  const status = head.status;
  // Fields known to be ASCII (a head like the last one) have nothing to decode.
  const headers = asciiHead(parser)
    ? Headers.fromPairs(head.headers)
    : Headers.fromWire(head.headers);
  const extensions: ResponseExtensions = {
    httpVersion: head.version,
    reasonPhrase: head.reason,
    networkStream: core.stream!,
  };
  readKeepAliveHint(x, head.headers);
  x.bodiless = request.method === "HEAD" || status === 204 || status === 304;

  // -- Upgrades: 101, or 2xx to CONNECT --
  if (status === 101 || (request.method === "CONNECT" && status >= 200 && status < 300)) {
    if (status === 101 && !request.headers.has("upgrade")) {
      // As h11 and undici: a switch nobody asked for would take the connection (and
      // its pool slot) for good, with nobody to close it.
      throw new RemoteProtocolError(
        `Unexpected "101 ${head.reason}": the request did not ask to switch protocols`,
        { request },
      );
    }
    const next = parser.next();
    const rest = next !== null && next.type === "upgrade" ? next.rest : parser.takeBuffered();
    extensions.networkStream = upgrade(core, request, headers, rest);
    return new Response(status, { headers, extensions, request });
  }

  // -- Body: whole already, or pulled on demand --
  let first: Uint8Array | null = null;
  let more: Uint8Array[] | null = null;
  let size = 0;
  let event = parser.next();
  for (; event !== null && event.type === "data"; event = parser.next()) {
    if (first === null) first = event.data;
    else (more ??= [first]).push(event.data);
    size += event.data.length;
  }
  if (event !== null && event.type === "end") {
    const content = more !== null ? concatBytes(more, size) : first ?? EMPTY;
    x.keepAlive &&= event.keepAlive;
    x.bodyDone = true;
    if (x.trace) {
      const trace = x.trace;
      return Promise.resolve(trace("http11.receive_response_body.started", { request }))
        .then(() => trace("http11.receive_response_body.complete", { return_value: null }))
        .then(() =>
          wholeResponse(core, request, status, headers, extensions, content, readAll, exchange)
        );
    }
    return wholeResponse(core, request, status, headers, extensions, content, readAll, exchange);
  }
  if (event !== null) {
    throw new RemoteProtocolError(`Unexpected ${JSON.stringify(event.type)} in the body`);
  }
  const stream = core.stream!;
  x.borrow = request.extensions.borrowBodyChunks === true && stream.readInto !== undefined;
  const source = new ConnectionBody(core, exchange, x.borrow);
  if (first !== null) x.pending = more ?? [first];
  x.remaining = head.bodyLength === null ? null : head.bodyLength - size;
  const response = new Response(status, { headers, content: source, extensions, request });
  return readAll === READ_ALL ? readWhole(core, request, response) : response;
}

/**
 * The response for a body that came whole: in memory with its connection freed (unless
 * `readAll` is {@linkcode READ_NONE}), else a buffered body that frees it when read.
 */
function wholeResponse(
  core: ConnectionCore,
  request: Request,
  status: number,
  headers: Headers,
  extensions: ResponseExtensions,
  content: Uint8Array,
  readAll: ReadMode,
  exchange: number,
): Response | Promise<Response> {
  if (readAll !== READ_NONE) {
    const ending = core.endExchange(exchange);
    const response = new Response(status, { headers, content, extensions, request });
    return ending === undefined ? response : ending.then(() => response);
  }
  return new Response(status, {
    headers,
    content: new BufferedBody(core, exchange, content),
    extensions,
    request,
  });
}

async function readWhole(
  core: ConnectionCore,
  request: Request,
  response: Response,
): Promise<Response> {
  try {
    await response.bytes();
  } catch (error) {
    throw core.failure(error, request);
  }
  return response;
}

/**
 * The exchange failed: the error to report, after marking what may be retried and closing
 * (or, for a request refused before a byte was written, keeping) the connection.
 */
async function failExchange(
  core: ConnectionCore,
  request: Request,
  error: unknown,
): Promise<unknown> {
  const x = core.x;
  const failure = core.failure(error, request);
  // The exchange ended before this failure (a trace callback that throws as it ends): the
  // connection went back whole, and may serve the next request already.
  if (x.request !== request) return failure;
  // Retry on a fresh connection only what a stale keep-alive connection explains: the
  // peer closed or reset it before any response byte. Not a timeout (the server may be
  // working on it), and never a body that cannot be sent again.
  const gotBytes = x.gotBytes;
  const headSent = x.headSent;
  if (
    x.reused && !gotBytes &&
    (!headSent || (IDEMPOTENT_METHODS.has(request.method) && request.isReplayable)) &&
    !(failure instanceof LocalProtocolError) && !(failure instanceof TimeoutException) &&
    !request.extensions.signal?.aborted
  ) markRetryable(failure as object);
  // For a client's retries (src/retry.ts): nothing of the response was received.
  if (!gotBytes && typeof failure === "object" && failure !== null) markBeforeResponse(failure);
  if (failure instanceof LocalProtocolError && !headSent) core.unwind();
  else await core.close();
  return failure;
}

/**
 * Emits `<step>.failed` with the exception the request will fail with, as httpcore does.
 * A trace callback that throws here is ignored: the request's own failure is reported.
 */
async function traceFailed(trace: TraceCallback, step: string, exception: unknown): Promise<void> {
  await Promise.resolve(trace(`${step}.failed`, { exception })).catch(() => {});
}

/**
 * A request that cannot start: aborted before anything was sent (the connection goes
 * back as it was; a pool's unopened connection is simply dropped), or the connection is
 * closed or upgraded (retryable: the pool tries another).
 */
function refuse(core: ConnectionCore, request: Request): unknown {
  const signal = request.extensions.signal;
  if (signal?.aborted && core.state !== "CLOSED" && core.state !== "UPGRADED") {
    if (core.stream === null) core.close();
    else core.release();
    return signal.reason;
  }
  core.passTurn();
  const error = new RemoteProtocolError(
    `Connection to ${JSON.stringify(core.originText)} is closed`,
    { request },
  );
  markRetryable(error);
  return error;
}

/**
 * Sends a streamed request body. A server may answer early (413, 401) and close while the
 * body is still being sent: the write then fails, and the answer is read anyway (as
 * httpcore does). Returns that write error, to report if no answer can be read.
 */
async function sendBody(
  x: Exchange,
  stream: NetworkStreamInterface,
  body: AsyncIterable<Uint8Array> | null,
  writeMs: number | null,
): Promise<WriteError | null> {
  const trace = x.trace;
  try {
    if (trace) {
      await traced(trace, "http11.send_request_body", { request: x.request }, async () => {
        if (body !== null) {
          for await (const chunk of body) await stream.write(chunk, writeMs);
        }
        return null;
      });
    } else if (body !== null) {
      for await (const chunk of body) await stream.write(chunk, writeMs);
    }
  } catch (error) {
    if (!(error instanceof WriteError) || x.signal?.aborted) throw error;
    x.keepAlive = false;
    return error;
  }
  return null;
}

/** `Keep-Alive: timeout=N` shortens this connection's idle expiry. */
function readKeepAliveHint(x: Exchange, pairs: [string, string][]): void {
  for (let i = 0; i < pairs.length; i++) {
    const name = pairs[i][0];
    if (
      name.length === 10 && (name.charCodeAt(0) | 0x20) === 107 /* k */ &&
      name.toLowerCase() === "keep-alive"
    ) {
      const match = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(pairs[i][1]);
      if (match !== null) x.hintMs = Number(match[1]) * 1000;
    }
  }
}

/** The server switched protocols or opened the tunnel: the stream is the caller's now. */
function upgrade(
  core: ConnectionCore,
  request: Request,
  headers: Headers,
  rest: Uint8Array,
): NetworkStreamInterface {
  core.exchangeId++;
  core.detachSignal();
  core.setState("UPGRADED");
  if (request.method === "CONNECT") {
    const target = (request.extensions.target as string | undefined) ?? request.url.host;
    const colon = target.lastIndexOf(":");
    const port = colon === -1 ? 443 : Number(target.slice(colon + 1));
    const host = colon === -1 ? target : target.slice(0, colon);
    const scheme = port === 443 ? "https" : "http";
    core.upgradeLabel = "CONNECT";
    core.upgradeUrl = port === defaultPort(scheme)
      ? `${scheme}://${host}`
      : `${scheme}://${host}:${port}`;
  } else {
    core.upgradeLabel = (headers.get("upgrade") ?? "UPGRADED").toUpperCase();
    core.upgradeUrl = request.url.href;
  }
  return new PrefixedStream(core.stream!, rest, {
    tlsRefused: (unread) =>
      new RemoteProtocolError(
        `Cannot start TLS: the server sent ${unread} bytes before the handshake`,
      ),
    close: () => core.close(),
  });
}
