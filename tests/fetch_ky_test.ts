/**
 * ky (the real one, from npm) over `client.fetch`: ky calls `fetch(request)` with a
 * `Request` and no init, so method, headers, body and signal come from the Request.
 */

import assert from "node:assert/strict";
import ky, { HTTPError } from "ky";
import { test } from "./_harness.ts";
import { type Echo, echo, serveHttp, serveSilently } from "./_http_server.ts";
import { gate } from "./_sse.ts";
import { Client } from "../mod.ts";

test("ky: JSON in and out through client.fetch", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const api = ky.create({ prefix: server.origin, fetch: client.fetch, retry: 0 });
  const got = await api.post("items", { json: { name: "ferry" }, headers: { "x-id": "7" } })
    .json<Echo>();
  assert.equal(got.method, "POST");
  assert.equal(got.url, "/items");
  assert.equal(got.headers["content-type"], "application/json");
  assert.equal(got.headers["x-id"], "7");
  assert.equal(got.body, '{"name":"ferry"}');
});

test("ky: a streamed body arrives chunk by chunk", async () => {
  const midway = gate();
  await using server = await serveHttp(async (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.write("first;");
    await midway.opened;
    midway.serverDone = true;
    response.end("second");
  });
  await using client = new Client();
  const response = await ky.get(server.origin, { fetch: client.fetch, retry: 0 });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), "first;");
  assert.equal(midway.serverDone, false);
  midway.open();
  let rest = "";
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    rest += decoder.decode(next.value);
  }
  assert.equal(rest, "second");
});

test("ky: an error status becomes ky's HTTPError", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(404, { "content-type": "application/json" });
    response.end('{"error":"missing"}');
  });
  await using client = new Client();
  await assert.rejects(ky.get(server.origin, { fetch: client.fetch, retry: 0 }), (error) => {
    assert.ok(error instanceof HTTPError, String(error));
    assert.equal(error.response.status, 404);
    return true;
  });
});

test("ky: an abort rejects with the signal's reason", async () => {
  await using server = await serveSilently();
  await using client = new Client();
  const controller = new AbortController();
  const pending = ky.get(server.origin, {
    fetch: client.fetch,
    signal: controller.signal,
    retry: 0,
  });
  await server.requested;
  const reason = new Error("user left");
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
});

test("ky: ky retries a 503 through client.fetch", async () => {
  let calls = 0;
  await using server = await serveHttp((_request, response) => {
    calls++;
    if (calls === 1) response.writeHead(503, { "retry-after": "0" }).end("busy");
    else response.end("ok");
  });
  await using client = new Client();
  const text = await ky.get(server.origin, {
    fetch: client.fetch,
    retry: { limit: 2, delay: () => 0 },
  }).text();
  assert.equal(text, "ok");
  assert.equal(calls, 2);
});
