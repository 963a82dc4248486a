/** Properties of the models, over generated inputs (fast-check). */

import assert from "node:assert/strict";
import fc from "fast-check";
import { getPublicSuffix } from "tldts";
import { test } from "./_harness.ts";
import { Cookies, Headers, QueryParams, Response } from "../mod.ts";

test("QueryParams encodes any text as httpx does, and parses it back grouped by name", () => {
  // Oracle: URLSearchParams, whose encoding differs from Python's urlencode (httpx) only in
  // `~` (it escapes it) and `*` (it keeps it); and httpx's grouping of repeated names.
  const python = (text: string) => text.replace(/%7E/g, "~").replace(/\*/g, "%2A");
  const grouped = (pairs: [string, string][]) => {
    const names = [...new Set(pairs.map(([name]) => name))];
    return names.flatMap((name) => pairs.filter(([n]) => n === name));
  };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }))),
      (pairs) => {
        const params = new QueryParams(pairs);
        const expected = grouped([...new URLSearchParams(pairs)]);
        assert.equal(params.toString(), python(new URLSearchParams(expected).toString()));
        const back = new QueryParams(params.toString()).pairs();
        assert.deepEqual(back, grouped([...new URLSearchParams(params.toString())]));
      },
    ),
    { numRuns: 300 },
  );
});

test("Headers lookups ignore case and keep every value in order", () => {
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
  fc.assert(
    fc.property(fc.array(fc.tuple(name, fc.string())), name, (pairs, probe) => {
      const headers = new Headers(pairs);
      const expected = pairs.filter(([n]) => n.toLowerCase() === probe.toLowerCase()).map(([, v]) =>
        v
      );
      assert.deepEqual(headers.getAll(probe.toUpperCase()), expected);
      assert.equal(headers.has(probe), expected.length > 0);
      assert.equal(headers.get(probe), expected.length ? expected.join(", ") : null);
      headers.set(probe, "x");
      assert.deepEqual(headers.getAll(probe), ["x"]);
      headers.delete(probe.toLowerCase());
      assert.equal(headers.has(probe), false);
    }),
    { numRuns: 300 },
  );
});

test("iterLines splits the same way however the body is cut", async () => {
  const text = fc.array(fc.constantFrom("a", "b", "\n", "\r", "\r\n", "é"), { maxLength: 40 })
    .map((parts) => parts.join(""));
  await fc.assert(
    fc.asyncProperty(text, fc.array(fc.nat(50), { maxLength: 6 }), async (body, cuts) => {
      const bytes = new TextEncoder().encode(body);
      const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) =>
        a - b
      );
      const chunks: Uint8Array[] = [];
      let start = 0;
      for (const point of [...points, bytes.length]) {
        chunks.push(bytes.subarray(start, point));
        start = point;
      }
      const source = {
        read: () => Promise.resolve(chunks.shift() ?? null),
        close: () => Promise.resolve(),
      };
      const lines: string[] = [];
      for await (const line of new Response(200, { content: source }).iterLines()) lines.push(line);
      const expected = body.split(/\r\n|\r|\n/);
      if (expected[expected.length - 1] === "") expected.pop();
      assert.deepEqual(lines, expected);
    }),
    { numRuns: 300 },
  );
});

test("cookie jars never send a cookie to a host outside its domain", async () => {
  await Cookies.loadPublicSuffixList();
  const label = fc.stringMatching(/^[ab]{1,2}$/); // few names: domains overlap often
  const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join("."));
  fc.assert(
    fc.property(host, host, host, (setter, domain, receiver) => {
      const jar = new Cookies();
      const response = new Response(200, {
        headers: { "Set-Cookie": `c=1; Domain=${domain}` },
      });
      response.request = { url: new URL(`http://${setter}/`) } as Response["request"];
      jar.extract(response);
      const sent = jar.header(new URL(`http://${receiver}/`)) !== null;
      const inDomain = (h: string) => h === domain || h.endsWith(`.${domain}`);
      // A public suffix ("b", any single label here) only as the setter's own host-only name.
      const suffix = getPublicSuffix(domain, { allowPrivateDomains: true }) === domain;
      assert.equal(
        sent,
        suffix ? domain === setter && receiver === setter : inDomain(setter) && inDomain(receiver),
      );
    }),
    { numRuns: 500 },
  );
});
