/**
 * The request head as it goes on the wire: header pairs with `Host` added, and the
 * serialised bytes, reused when a bodiless request repeats the last one (polling,
 * benchmarks, a client's default headers).
 *
 * @module
 */

import { type Headers, pairsOf } from "../models/headers.ts";
import { type Request, requestHost } from "../models/request.ts";
import type { RequestContent } from "../models/body.ts";
import { serializeRequest } from "../http11/writer.ts";

/** One connection's request heads: builds them, and remembers the last one. */
export class RequestHeads {
  #lastMethod = "";
  #lastTarget = "";
  #lastPairs: [string, string][] | null = null;
  #lastHead: Uint8Array | null = null;
  #hostOnly: [string, string][] | null = null;

  /** Whether the headers last given to {@linkcode RequestHeads.pairs} ask to close. */
  closeAsked = false;
  /** The body to stream after the head last serialised, if it is not in the head. */
  body: AsyncIterable<Uint8Array> | null = null;

  /**
   * Headers for the wire: the request's, with `Host` first when absent. The result is only
   * read (it may be the request's own pairs): {@linkcode RequestHeads.serialize} copies
   * what it keeps.
   */
  pairs(headers: Headers, request: Request): readonly (readonly [string, string])[] {
    this.closeAsked = false;
    if (headers.size === 0) {
      // The common case, with no allocation when the host is the last one's.
      const host = requestHost(request);
      if (this.#hostOnly === null || this.#hostOnly[0][1] !== host) {
        this.#hostOnly = [["Host", host]];
      }
      return this.#hostOnly;
    }
    let hasHost = false;
    const pairs = pairsOf(headers);
    for (let i = 0; i < pairs.length; i++) {
      const name = pairs[i][0];
      if (name.length === 4 && name.toLowerCase() === "host") hasHost = true;
      else if (name.length === 10 && name.toLowerCase() === "connection") {
        if (/(^|,)\s*close\s*(,|$)/i.test(pairs[i][1])) this.closeAsked = true;
      }
    }
    return hasHost ? pairs : [["Host", requestHost(request)], ...pairs];
  }

  /** The head's bytes (with a body given as bytes); a streamed body is left in `body`. */
  serialize(
    method: string,
    target: string,
    pairs: readonly (readonly [string, string])[],
    content: RequestContent | null,
  ): Uint8Array {
    if (content === null && this.#sameHead(method, target, pairs)) {
      this.body = null;
      return this.#lastHead!;
    }
    const serialized = serializeRequest(method, target, pairs, content);
    this.body = serialized.body;
    if (content === null) {
      this.#lastMethod = method;
      this.#lastTarget = target;
      // A snapshot: the pairs may be the request's own, which its owner may still change.
      this.#lastPairs = pairs.map((pair) => [pair[0], pair[1]]);
      this.#lastHead = serialized.head;
    }
    return serialized.head;
  }

  /**
   * Whether a bodiless request serialises to the same bytes as the last one did: same
   * method, target and header pairs (compared one by one, never through a joined key, so
   * a value that smuggles a line break cannot match a valid request).
   */
  #sameHead(
    method: string,
    target: string,
    pairs: readonly (readonly [string, string])[],
  ): boolean {
    const last = this.#lastPairs;
    if (
      last === null || method !== this.#lastMethod || target !== this.#lastTarget ||
      last.length !== pairs.length
    ) return false;
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i][0] !== last[i][0] || pairs[i][1] !== last[i][1]) return false;
    }
    return true;
  }
}
