/**
 * OpenAI's SDK (the real one, from npm) over `client.fetch`, against a local fake of the
 * Chat Completions API: a completion, a streamed completion read as it arrives, an error
 * status, an abort and a retry.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { test } from "./_harness.ts";
import { type HttpServer, serveHttp, serveSilently } from "./_http_server.ts";
import { gate, sse } from "./_sse.ts";
import { Client } from "../mod.ts";

function completion(content: string): unknown {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "fake-model",
    choices: [{
      index: 0,
      message: { role: "assistant", content, refusal: null },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

function chunk(content: string | null, finish: string | null = null): unknown {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "fake-model",
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  };
}

function openai(server: HttpServer, client: Client, maxRetries = 0): OpenAI {
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: `${server.origin}/v1`,
    fetch: client.fetch,
    maxRetries,
  });
}

const messages = [{ role: "user" as const, content: "Hi" }];

test("OpenAI SDK: a chat completion through client.fetch", async () => {
  const seen: { path?: string; auth?: string; body?: unknown } = {};
  await using server = await serveHttp((request, response, body) => {
    seen.path = request.url;
    seen.auth = request.headers.authorization;
    seen.body = JSON.parse(new TextDecoder().decode(body));
    response.writeHead(200, { "content-type": "application/json", "x-request-id": "req_1" });
    response.end(JSON.stringify(completion("Hello!")));
  });
  await using client = new Client();
  const result = await openai(server, client).chat.completions.create({
    model: "fake-model",
    messages,
  });
  assert.equal(result.choices[0].message.content, "Hello!");
  assert.equal(seen.path, "/v1/chat/completions");
  assert.equal(seen.auth, "Bearer sk-test");
  assert.deepEqual((seen.body as { messages: unknown }).messages, messages);
});

test("OpenAI SDK: a streamed completion arrives chunk by chunk", async () => {
  const midway = gate();
  await using server = await serveHttp(async (_request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(sse(chunk("Hel")));
    await midway.opened;
    midway.serverDone = true;
    response.write(sse(chunk("lo")));
    response.write(sse(chunk(null, "stop")));
    response.end(sse("[DONE]"));
  });
  await using client = new Client();
  const stream = await openai(server, client).chat.completions.create({
    model: "fake-model",
    messages,
    stream: true,
  });
  const parts: string[] = [];
  for await (const event of stream) {
    const content = event.choices[0].delta.content;
    if (content) parts.push(content);
    if (parts.length === 1 && content) {
      assert.equal(midway.serverDone, false, "the first chunk arrived only after the stream ended");
      midway.open();
    }
  }
  assert.deepEqual(parts, ["Hel", "lo"]);
});

test("OpenAI SDK: an error status becomes the SDK's error class", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(400, { "content-type": "application/json" });
    response.end(JSON.stringify({
      error: { message: "Unknown model", type: "invalid_request_error", code: "model_not_found" },
    }));
  });
  await using client = new Client();
  await assert.rejects(
    openai(server, client).chat.completions.create({ model: "nope", messages }),
    (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.status, 400);
      assert.match(error.message, /Unknown model/);
      return true;
    },
  );
});

test("OpenAI SDK: an abort ends a pending request with APIUserAbortError", async () => {
  await using server = await serveSilently();
  await using client = new Client();
  const controller = new AbortController();
  const pending = openai(server, client).chat.completions.create(
    { model: "fake-model", messages },
    { signal: controller.signal },
  );
  await server.requested;
  controller.abort();
  await assert.rejects(pending, (error) => error instanceof OpenAI.APIUserAbortError);
});

test("OpenAI SDK: the SDK retries a 500 through client.fetch", async () => {
  const retryCounts: (string | undefined)[] = [];
  await using server = await serveHttp((request, response) => {
    retryCounts.push(request.headers["x-stainless-retry-count"] as string | undefined);
    if (retryCounts.length === 1) {
      response.writeHead(500, { "content-type": "application/json", "retry-after-ms": "0" });
      response.end(JSON.stringify({ error: { message: "try again" } }));
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(completion("second time")));
  });
  await using client = new Client();
  const result = await openai(server, client, 2).chat.completions.create({
    model: "fake-model",
    messages,
  });
  assert.equal(result.choices[0].message.content, "second time");
  assert.deepEqual(retryCounts, ["0", "1"]);
});
