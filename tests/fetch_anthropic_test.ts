/**
 * Anthropic's SDK (the real one, from npm) over `client.fetch`, against a local fake of
 * the Messages API: a message, a streamed message read as it arrives, an error status, an
 * abort and a retry.
 */

import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { test } from "./_harness.ts";
import { type HttpServer, serveHttp, serveSilently } from "./_http_server.ts";
import { gate, sse } from "./_sse.ts";
import { Client } from "../mod.ts";

const usage = { input_tokens: 3, output_tokens: 2 };

function message(text: string): unknown {
  return {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "fake-model",
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage,
  };
}

function anthropic(server: HttpServer, client: Client, maxRetries = 0): Anthropic {
  return new Anthropic({
    apiKey: "sk-ant-test",
    baseURL: server.origin,
    fetch: client.fetch,
    maxRetries,
  });
}

const params = {
  model: "fake-model",
  max_tokens: 16,
  messages: [{ role: "user" as const, content: "Hi" }],
};

test("Anthropic SDK: a message through client.fetch", async () => {
  const seen: { path?: string; key?: string; version?: string } = {};
  await using server = await serveHttp((request, response) => {
    seen.path = request.url;
    seen.key = request.headers.authorization;
    seen.version = request.headers["anthropic-version"] as string;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(message("Hello!")));
  });
  await using client = new Client();
  const result = await anthropic(server, client).messages.create(params);
  assert.deepEqual(result.content, [{ type: "text", text: "Hello!" }]);
  assert.equal(seen.path, "/v1/messages");
  assert.equal(seen.key, "Bearer sk-ant-test");
  assert.ok(seen.version);
});

test("Anthropic SDK: a streamed message arrives event by event", async () => {
  const midway = gate();
  await using server = await serveHttp(async (_request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    const start = message("") as { content: unknown[] };
    start.content = [];
    response.write(sse({ type: "message_start", message: start }, "message_start"));
    response.write(sse({
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }, "content_block_start"));
    const delta = (text: string) =>
      sse({
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text },
      }, "content_block_delta");
    response.write(delta("Hel"));
    await midway.opened;
    midway.serverDone = true;
    response.write(delta("lo"));
    response.write(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
    response.write(sse({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 2 },
    }, "message_delta"));
    response.end(sse({ type: "message_stop" }, "message_stop"));
  });
  await using client = new Client();
  const stream = await anthropic(server, client).messages.create({ ...params, stream: true });
  const parts: string[] = [];
  for await (const event of stream) {
    if (event.type !== "content_block_delta" || event.delta.type !== "text_delta") continue;
    parts.push(event.delta.text);
    if (parts.length === 1) {
      assert.equal(midway.serverDone, false, "the first delta arrived only after the stream ended");
      midway.open();
    }
  }
  assert.deepEqual(parts, ["Hel", "lo"]);
});

test("Anthropic SDK: an error status becomes the SDK's error class", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(400, { "content-type": "application/json" });
    response.end(JSON.stringify({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: too large" },
    }));
  });
  await using client = new Client();
  await assert.rejects(anthropic(server, client).messages.create(params), (error) => {
    assert.ok(error instanceof Anthropic.BadRequestError, String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, /too large/);
    return true;
  });
});

test("Anthropic SDK: an abort ends a pending request with APIUserAbortError", async () => {
  await using server = await serveSilently();
  await using client = new Client();
  const controller = new AbortController();
  const pending = anthropic(server, client).messages.create(params, {
    signal: controller.signal,
  });
  await server.requested;
  controller.abort();
  await assert.rejects(pending, (error) => error instanceof Anthropic.APIUserAbortError);
});

test("Anthropic SDK: the SDK retries a 529 through client.fetch", async () => {
  let calls = 0;
  await using server = await serveHttp((_request, response) => {
    calls++;
    if (calls === 1) {
      response.writeHead(529, { "content-type": "application/json", "retry-after-ms": "0" });
      response.end(JSON.stringify({
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" },
      }));
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(message("second time")));
  });
  await using client = new Client();
  const result = await anthropic(server, client, 2).messages.create(params);
  assert.deepEqual(result.content, [{ type: "text", text: "second time" }]);
  assert.equal(calls, 2);
});
