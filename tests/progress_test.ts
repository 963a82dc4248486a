/**
 * Upload and download progress (`onUploadProgress`, `onDownloadProgress`), against
 * `node:http` servers on loopback. Throttling is tested with `progressInterval` 0 (every
 * chunk) and `Infinity` (the first chunk and the end), so no test depends on timing.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import { echo, serveHttp } from "./_http_server.ts";
import { Client, MockTransport, type Progress, Response } from "../mod.ts";

interface Call {
  progress: Progress;
  chunk: Uint8Array;
}

function recorder(): { calls: Call[]; callback: (p: Progress, c: Uint8Array) => void } {
  const calls: Call[] = [];
  return { calls, callback: (progress, chunk) => void calls.push({ progress, chunk }) };
}

function joined(calls: Call[]): string {
  return calls.map((c) => new TextDecoder().decode(c.chunk)).join("");
}

/** A server sending `parts` one write at a time (each after the previous was flushed). */
async function chunked(parts: string[], headers: Record<string, string> = {}) {
  return await serveHttp(async (_request, response) => {
    response.writeHead(200, headers);
    for (const part of parts) {
      await new Promise<void>((resolve) => response.write(part, () => resolve()));
    }
    response.end();
  });
}

test("download progress: every chunk at interval 0, percent below 1 until the end", async () => {
  const parts = ["alpha-", "beta-", "gamma"];
  const body = parts.join("");
  await using server = await chunked(parts, { "content-length": String(body.length) });
  await using client = new Client();
  const { calls, callback } = recorder();
  const response = await client.get(server.origin, {
    onDownloadProgress: callback,
    progressInterval: 0,
  });
  assert.equal(await response.text(), body);
  assert.equal(joined(calls), body, "each chunk is given once");
  const last = calls.at(-1)!.progress;
  assert.deepEqual(last, { percent: 1, transferredBytes: body.length, totalBytes: body.length });
  for (const { progress } of calls.slice(0, -1)) {
    assert.ok(progress.percent > 0 && progress.percent < 1, String(progress.percent));
    assert.equal(progress.totalBytes, body.length);
  }
  const transferred = calls.map((c) => c.progress.transferredBytes);
  assert.deepEqual(transferred, [...transferred].sort((a, b) => a - b));
});

test("download progress: an unknown length keeps percent 0 until the end", async () => {
  await using server = await chunked(["one ", "two ", "three"]); // chunked encoding
  await using client = new Client();
  const { calls, callback } = recorder();
  await using response = await client.stream("GET", server.origin, {
    onDownloadProgress: callback,
    progressInterval: 0,
  });
  let text = "";
  for await (const chunk of response.iterBytes()) text += new TextDecoder().decode(chunk);
  assert.equal(text, "one two three");
  assert.ok(
    calls.slice(0, -1).every((c) => c.progress.percent === 0 && c.progress.totalBytes >= 0),
  );
  assert.deepEqual(calls.at(-1)!.progress, { percent: 1, transferredBytes: 13, totalBytes: 13 });
});

/** A client whose transport answers with `parts` as separate reads of the body. */
function partsClient(parts: string[]): Client {
  const transport = new MockTransport(() => {
    const queue = parts.map((part) => new TextEncoder().encode(part));
    return new Response(200, {
      content: {
        read: () => Promise.resolve(queue.shift() ?? null),
        close: () => Promise.resolve(),
      },
    });
  });
  return new Client({ transport });
}

test("download progress: throttled to the first chunk and the end, which has the last", async () => {
  const parts = Array.from({ length: 20 }, (_, i) => `part ${i};`);
  await using client = partsClient(parts);
  const { calls, callback } = recorder();
  const response = await client.get("http://mock/", {
    onDownloadProgress: callback,
    progressInterval: Infinity,
  });
  const body = await response.text();
  assert.equal(body, parts.join(""));
  assert.equal(calls.length, 2);
  assert.equal(new TextDecoder().decode(calls[0].chunk), "part 0;");
  assert.equal(new TextDecoder().decode(calls[1].chunk), "part 19;");
  assert.equal(calls[1].progress.percent, 1);
  assert.equal(calls[1].progress.transferredBytes, body.length);
  // Interval 0: every read reported, and the end with no chunk left to give.
  const every = recorder();
  await using again = partsClient(parts);
  await again.get("http://mock/", { onDownloadProgress: every.callback, progressInterval: 0 });
  assert.equal(every.calls.length, 21);
  assert.equal(joined(every.calls), body);
});

test("download progress: an empty body is reported once, at its end", async () => {
  await using server = await serveHttp((_request, response) => response.writeHead(204).end());
  await using client = new Client();
  const { calls, callback } = recorder();
  await client.get(server.origin, { onDownloadProgress: callback });
  assert.deepEqual(calls.map((c) => c.progress), [
    { percent: 1, transferredBytes: 0, totalBytes: 0 },
  ]);
  assert.equal(calls[0].chunk.length, 0);
});

test("download progress counts the bytes as sent (compressed), against Content-Length", async () => {
  const text = "compress me ".repeat(500);
  const gzipped = gzipSync(text);
  await using server = await serveHttp((_request, response) => {
    response.writeHead(200, {
      "content-encoding": "gzip",
      "content-length": String(gzipped.length),
    });
    response.end(gzipped);
  });
  await using client = new Client();
  const { calls, callback } = recorder();
  const response = await client.get(server.origin, { onDownloadProgress: callback });
  assert.equal(await response.text(), text);
  assert.deepEqual(calls.at(-1)!.progress, {
    percent: 1,
    transferredBytes: gzipped.length,
    totalBytes: gzipped.length,
  });
});

test("download progress works over an in-memory transport too", async () => {
  const transport = new MockTransport(() => new Response(200, { content: "in memory" }));
  await using client = new Client({ transport });
  const { calls, callback } = recorder();
  const response = await client.get("http://mock/", { onDownloadProgress: callback });
  assert.equal(await response.text(), "in memory");
  assert.deepEqual(calls.at(-1)!.progress, { percent: 1, transferredBytes: 9, totalBytes: 9 });
  assert.equal(joined(calls), "in memory");
});

test("upload progress: a byte body is sent in 64 KiB pieces, counted against its length", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const { calls, callback } = recorder();
  const body = new Uint8Array(200 * 1024).fill(120);
  const response = await client.post(server.origin, {
    content: body,
    onUploadProgress: callback,
    progressInterval: 0,
  });
  assert.equal(((await response.json()) as { body: string }).body.length, body.length);
  assert.deepEqual(calls.map((c) => c.progress.transferredBytes), [
    65536,
    131072,
    196608,
    204800,
    204800,
  ]);
  assert.ok(calls.every((c) => c.progress.totalBytes === 204800));
  assert.ok(calls.slice(0, -1).every((c) => c.progress.percent < 1));
  assert.equal(calls.at(-1)!.progress.percent, 1);
  assert.equal(calls.at(-1)!.chunk.length, 0, "the last piece was reported already");
});

test("upload progress: a stream of unknown length, and an empty body", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const stream = recorder();
  const parts = ["a", "bb", "ccc"];
  await client.post(server.origin, {
    content: (async function* () {
      for (const part of parts) yield new TextEncoder().encode(part);
    })(),
    onUploadProgress: stream.callback,
    progressInterval: 0,
  });
  assert.deepEqual(stream.calls.map((c) => [c.progress.percent, c.progress.transferredBytes]), [
    [0, 1],
    [0, 3],
    [0, 6],
    [1, 6],
  ]);
  assert.equal(stream.calls.at(-1)!.progress.totalBytes, 6);

  const empty = recorder();
  await client.post(server.origin, { content: "", onUploadProgress: empty.callback });
  assert.deepEqual(empty.calls.map((c) => c.progress), [
    { percent: 1, transferredBytes: 0, totalBytes: 0 },
  ]);
});

test("upload progress: a body sent again after a 307 counts from 0 again", async () => {
  await using server = await serveHttp((request, response, body) => {
    if (request.url === "/moved") response.writeHead(307, { location: "/echo" }).end();
    else echo(request, response, body);
  });
  await using client = new Client({ followRedirects: true });
  const { calls, callback } = recorder();
  const response = await client.put(`${server.origin}/moved`, {
    content: "resend me",
    onUploadProgress: callback,
    progressInterval: Infinity,
  });
  assert.equal(((await response.json()) as { body: string }).body, "resend me");
  assert.deepEqual(calls.map((c) => [c.progress.percent, c.progress.transferredBytes]), [
    [1 - Number.EPSILON, 9],
    [1, 9],
    [1 - Number.EPSILON, 9],
    [1, 9],
  ]);
});

test("a progress callback that throws fails the transfer with its error", async () => {
  await using server = await serveHttp(echo);
  await using client = new Client();
  const failure = new Error("progress broke");
  await assert.rejects(
    client.get(server.origin, {
      onDownloadProgress: () => {
        throw failure;
      },
    }),
    (error) => error === failure,
  );
  await assert.rejects(
    client.post(server.origin, {
      content: "x",
      onUploadProgress: () => {
        throw failure;
      },
    }),
    (error) => error === failure || (error as Error).cause === failure,
  );
});

test("progress options are checked, naming the option and value", () => {
  const client = new Client();
  assert.throws(
    () => client.buildRequest("GET", "http://x/", { onDownloadProgress: 5 as never }),
    /Invalid onDownloadProgress "5": expected a function/,
  );
  assert.throws(
    () =>
      client.buildRequest("GET", "http://x/", { onUploadProgress: () => {}, progressInterval: -1 }),
    /Invalid progressInterval "-1"/,
  );
});
