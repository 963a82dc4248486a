import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "./_harness.ts";
import * as ferry from "../mod.ts";
import { MockTransport, Response } from "../mod.ts";
import { MountPattern, Mounts } from "../src/advanced/mod.ts";

test("mount patterns: schemes, hosts, wildcards and ports", () => {
  const cases: [string, string, boolean][] = [
    ["all://", "https://a.b/", true],
    ["http://", "https://a.b/", false],
    ["https://", "https://a.b/", true],
    ["all://example.com", "http://example.com/x", true],
    ["all://example.com", "http://www.example.com/", false],
    ["all://*.example.com", "http://www.example.com/", true],
    ["all://*.example.com", "http://example.com/", false],
    ["all://*example.com", "http://example.com/", true],
    ["all://*example.com", "http://a.b.example.com/", true],
    ["all://*example.com", "http://badexample.com/", false],
    ["http://example.com:8080", "http://example.com:8080/", true],
    ["http://example.com:8080", "http://example.com/", false],
    ["http://example.com:80", "http://example.com/", true],
    ["all://*", "http://anything/", true],
  ];
  for (const [pattern, url, expected] of cases) {
    assert.equal(new MountPattern(pattern).matches(new URL(url)), expected, `${pattern} ${url}`);
  }
  assert.throws(() => new MountPattern("example.com"), /Invalid mount pattern "example.com"/);
});

test("mounts: the most specific pattern wins whatever the order given", () => {
  const mounts = new Mounts([
    ["all://", "all"],
    ["http://", "http"],
    ["all://example.com", "host"],
    ["http://example.com", "scheme+host"],
    ["http://example.com:8080", "port"],
  ]);
  assert.equal(mounts.lookup(new URL("http://example.com:8080/")), "port");
  assert.equal(mounts.lookup(new URL("http://example.com/")), "scheme+host");
  assert.equal(mounts.lookup(new URL("https://example.com/")), "host");
  assert.equal(mounts.lookup(new URL("http://other/")), "http");
  assert.equal(mounts.lookup(new URL("https://other/")), "all");
  assert.equal(new Mounts({ "http://": 1 }).lookup(new URL("https://x/")), undefined);
});

test("module-level get/post/delete send once and close their client", async () => {
  const transport = new MockTransport(async (request) =>
    new Response(200, {
      content: `${request.method} ${request.url.search} ${
        new TextDecoder().decode(await request.bytes())
      }`,
    })
  );
  const got = await ferry.get("http://x/", { transport, params: { q: "1" } });
  assert.equal(await got.text(), "GET ?q=1 ");
  assert.equal(transport.isClosed, true);
  const posted = await ferry.post("http://x/", { transport, json: { a: 1 } });
  assert.equal(await posted.text(), 'POST  {"a":1}');
  assert.equal(await (await ferry.delete("http://x/", { transport })).text(), "DELETE  ");
  assert.equal(ferry.del, ferry.delete);
  for (const method of ["put", "patch", "head", "options"] as const) {
    assert.equal((await ferry[method]("http://x/", { transport })).status, 200);
  }
});

test("module-level request goes over the network with the default pool", async () => {
  const server = createServer((request, response) => response.end(`hi ${request.url}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await ferry.request("GET", `http://127.0.0.1:${port}/path`);
    assert.equal(await response.text(), "hi /path");
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("module-level stream closes its client when the response is closed", async () => {
  const transport = new MockTransport(() => new Response(200, { content: "a\nb\n" }));
  {
    await using response = await ferry.stream("GET", "http://x/", { transport });
    assert.equal(transport.isClosed, false);
    const lines: string[] = [];
    for await (const line of response.iterLines()) lines.push(line);
    assert.deepEqual(lines, ["a", "b"]);
  }
  assert.equal(transport.isClosed, true);
  const failing = new MockTransport(() => {
    throw new TypeError("no");
  });
  await assert.rejects(ferry.stream("GET", "http://x/", { transport: failing }), TypeError);
  assert.equal(failing.isClosed, true);
});

test("module-level requests take a proxy", async () => {
  // Nothing listens on port 1: the refusal names the proxy, so the proxy was used.
  await assert.rejects(
    ferry.get("http://example.invalid/", { proxy: "http://127.0.0.1:1" }),
    (error) => error instanceof ferry.ConnectError && /127\.0\.0\.1:1/.test(error.message),
  );
});
