/**
 * `deno bench` groups for the response parser: each case of issue 2 parsed by Ferry and,
 * on the same bytes, by Node's llhttp (`HTTPParser` of `node:_http_common`). The summary
 * of each group prints the ratio. For messages per second and MB/s in one table, run
 * `deno run -A bench/parser_side_by_side.ts`.
 *
 * Run: `deno task bench:parser`
 */

import { parserCases, parseWithFerry, parseWithLlhttp } from "./_parser_cases.ts";

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
