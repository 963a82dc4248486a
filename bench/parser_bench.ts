/**
 * `deno bench` groups for the response parser: each case of issue 2 parsed by Ferry and,
 * on the same bytes, by Node's llhttp (`HTTPParser` of `node:_http_common`). The summary
 * of each group prints the ratio. For messages per second and MB/s in one table, run
 * `deno run -A bench/parser_side_by_side.ts`.
 *
 * Run: `deno task bench:parser`
 */

import { parserCases, parseWithFerry, parseWithLlhttp } from "./_parser_cases.ts";
import { serializeRequest } from "../src/http11/writer.ts";

for (const input of parserCases()) {
  if (parseWithFerry(input) !== input.bodyBytes || parseWithLlhttp(input) !== input.bodyBytes) {
    throw new Error(`The parsers disagree on ${input.name}`);
  }
  const group = `${input.name} (${input.messages} msg, ${input.bytes} bytes)`;
  Deno.bench({
    name: "Ferry ResponseParser",
    group,
    baseline: true,
    fn: () => {
      parseWithFerry(input);
    },
  });
  Deno.bench({
    name: "llhttp (node:_http_common)",
    group,
    fn: () => {
      parseWithLlhttp(input);
    },
  });
}

// The request side: serialising a typical GET head (no peer to compare with in-process).
const requestHeaders: [string, string][] = [
  ["Host", "127.0.0.1:8080"],
  ["Accept", "*/*"],
  ["Accept-Encoding", "gzip, deflate, br, zstd"],
  ["Connection", "keep-alive"],
  ["User-Agent", "ferry/0.1"],
];
Deno.bench({
  name: "serializeRequest: GET head with 5 headers",
  group: "request writer",
  fn: () => {
    serializeRequest("GET", "/index.html?page=1", requestHeaders, null);
  },
});
Deno.bench({
  name: "serializeRequest: POST with a 1 KiB string body",
  group: "request writer",
  fn: () => {
    serializeRequest("POST", "/items", requestHeaders, "x".repeat(1024));
  },
});
