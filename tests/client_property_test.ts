/** The client's redirect rules over generated chains (fast-check), against a small oracle. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { test } from "./_harness.ts";
import { Client, MockTransport, type Request, Response } from "../mod.ts";

const hosts = ["http://a.test", "http://b.test", "https://a.test", "http://a.test:8080"];

interface Hop {
  status: 301 | 302 | 303 | 307 | 308;
  host: string;
  path: string;
}

/** What httpx would send next: method, whether the body survives, whether auth does. */
function oracle(
  previous: { method: string; url: URL; hasBody: boolean; hasAuth: boolean },
  hop: Hop,
) {
  let method = previous.method;
  if (hop.status === 303 && method !== "HEAD") method = "GET";
  if ((hop.status === 301 || hop.status === 302) && method === "POST") method = "GET";
  const url = new URL(hop.path, hop.host);
  const sameOrigin = url.origin === previous.url.origin;
  const upgrade = previous.url.protocol === "http:" && url.protocol === "https:" &&
    previous.url.hostname === url.hostname && previous.url.port === "" && url.port === "";
  return {
    method,
    url,
    hasBody: previous.hasBody && method === previous.method,
    hasAuth: previous.hasAuth && (sameOrigin || upgrade),
  };
}

test("redirect chains follow httpx's method, body and Authorization rules", async () => {
  const hop = fc.record({
    status: fc.constantFrom(301, 302, 303, 307, 308) as fc.Arbitrary<Hop["status"]>,
    host: fc.constantFrom(...hosts),
    path: fc.constantFrom("/x", "/y/z", "/"),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("GET", "POST", "PUT", "HEAD", "DELETE"),
      fc.array(hop, { maxLength: 5 }),
      async (method, hops) => {
        const seen: Request[] = [];
        await using client = new Client({
          followRedirects: true,
          transport: new MockTransport((request) => {
            seen.push(request);
            const next = hops[seen.length - 1];
            if (next === undefined) return new Response(200);
            return new Response(next.status, {
              headers: { Location: new URL(next.path, next.host).href },
            });
          }),
        });
        const withBody = method === "POST" || method === "PUT";
        const response = await client.request(method, "http://a.test/start", {
          headers: { Authorization: "Bearer t" },
          ...(withBody ? { content: "payload" } : {}),
        });
        assert.equal(response.status, 200);
        assert.equal(response.history.length, hops.length);
        let expected = {
          method,
          url: new URL("http://a.test/start"),
          hasBody: withBody,
          hasAuth: true,
        };
        for (let i = 0; i < seen.length; i++) {
          if (i > 0) expected = oracle(expected, hops[i - 1]);
          const request = seen[i];
          assert.equal(request.method, expected.method, `hop ${i}`);
          assert.equal(request.url.href, expected.url.href, `hop ${i}`);
          assert.equal(request.content !== null, expected.hasBody, `hop ${i} body`);
          assert.equal(request.headers.has("authorization"), expected.hasAuth, `hop ${i} auth`);
          assert.equal(request.headers.get("host"), expected.url.host, `hop ${i} host`);
        }
      },
    ),
    { numRuns: 200 },
  );
});
