/** The Client over the real default pool, against node:http servers on loopback. */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "./_harness.ts";
import { Client, ReadTimeout } from "../mod.ts";

async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  fn: (origin: string) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
}

test("an aborted signal ends a request waiting for its response", async () => {
  // The abort comes when the server holds the request, not after a delay that a loaded
  // machine may outrun (the request would then be aborted before it was even sent).
  const pending: ServerResponse[] = [];
  const controller = new AbortController();
  const reason = new Error("user gave up");
  await serve((_request, response) => {
    pending.push(response);
    controller.abort(reason);
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin });
    await assert.rejects(
      client.get("/slow", { signal: controller.signal }),
      (error) => error === reason,
    );
    for (const response of pending) response.destroy();
  });
});

test("an aborted signal ends the reading of a streamed body", async () => {
  await serve((_request, response) => {
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.write("first\n");
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin });
    const controller = new AbortController();
    await using response = await client.stream("GET", "/", { signal: controller.signal });
    const lines = response.iterLines();
    assert.equal((await lines.next()).value, "first");
    const reason = new Error("enough");
    controller.abort(reason);
    await assert.rejects(lines.next(), (error) => error === reason);
  });
});

test("the read timeout applies per request over the pool", async () => {
  await serve((_request, response) => {
    response.writeHead(200);
    response.write("a");
  }, async (origin) => {
    await using client = new Client({ baseUrl: origin, timeout: { read: 100 } });
    await assert.rejects(client.get("/"), (error) => {
      assert.ok(error instanceof ReadTimeout);
      assert.equal(error.request?.url.href, `${origin}/`);
      return true;
    });
  });
});

test("ten concurrent requests share the pool; elapsed is measured", async () => {
  await serve((request, response) => response.end(request.url), async (origin) => {
    await using client = new Client({ baseUrl: origin, limits: { maxConnections: 4 } });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.get(`/n${i}`)),
    );
    assert.deepEqual(
      await Promise.all(responses.map((response) => response.text())),
      Array.from({ length: 10 }, (_, i) => `/n${i}`),
    );
    for (const response of responses) {
      assert.ok(response.elapsed > 0);
      assert.equal(response.httpVersion, "HTTP/1.1");
    }
  });
});
