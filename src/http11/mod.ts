/**
 * Ferry's sans-IO HTTP/1.1 core: an incremental, strict and bounded response parser and a
 * request writer. No I/O and no timers: bytes in, events out.
 *
 * @example Parse a response
 * ```ts
 * import { ResponseParser } from "@ferry/ferry/http11";
 * const parser = new ResponseParser();
 * parser.startResponse("GET");
 * parser.feed(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * console.log(parser.next()?.type); // "head"
 * console.log(parser.next()?.type); // "end"
 * ```
 *
 * @example Serialise a request
 * ```ts
 * import { requestTarget, serializeRequest } from "@ferry/ferry/http11";
 * const url = new URL("http://example.com/search?q=ferry");
 * const { head } = serializeRequest("GET", requestTarget(url), [["Host", url.host]], null);
 * console.log(new TextDecoder().decode(head));
 * ```
 *
 * @module
 */

export {
  type DataEvent,
  DEFAULT_PARSER_LIMITS,
  type EndEvent,
  type HeadEvent,
  type InformationalEvent,
  type ParserLimits,
  type ParserState,
  type ResponseEvent,
  ResponseParser,
  type UpgradeEvent,
} from "./parser.ts";
export { requestTarget, type SerializedRequest, serializeRequest } from "./writer.ts";
export type { RequestContent } from "../models/body.ts";
