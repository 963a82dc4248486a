/**
 * The client's plain lane (a request with no auth, hooks, retries, progress or mounts,
 * once the client's pool exists): what the full path does must still hold there. The
 * pool hands over only a body that came whole with its head; anything else the client
 * reads itself, after keeping the cookies, with its own decoding limit, outside the
 * pool's retries.
 */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import { cannedServer } from "./_servers.ts";
import { Client, ConnectionPool, Proxy, ProxyError } from "../mod.ts";

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

/** A gzip body of 100,000 zero bytes sent in two pieces: the second after the first is read. */
function gzipInTwo(_request: IncomingMessage, response: ServerResponse): void {
  const body = gzipSync(new Uint8Array(100_000));
  response.writeHead(200, { "content-encoding": "gzip" });
  response.write(body.subarray(0, 10));
  setTimeout(() => response.end(body.subarray(10)), 30);
}

test("plain lane: the client's maxDecompressedSize limits a gzip body that comes in pieces", async () => {
  await serve(gzipInTwo, async (origin) => {
    await using client = new Client({ maxDecompressedSize: 1000 });
    // The first request makes the pool (full lane); the second takes the plain lane.
    for (const lane of ["first", "second"]) {
      await assert.rejects(
        client.get(origin),
        (error: Error) => {
          assert.match(error.constructor.name, /Decoding/, `${lane}: ${error}`);
          return true;
        },
        `${lane} request`,
      );
    }
  });
});

test("plain lane: a Set-Cookie on a response whose body then fails is kept (plain lane)", async () => {
  // httpx extracts cookies in _send_single_request, before send() reads the body.
  await serve((request, response) => {
    if (request.url === "/warm") return void response.end("ok");
    response.writeHead(200, { "set-cookie": "session=abc", "content-length": "10" });
    response.write("abc", () => response.destroy());
  }, async (origin) => {
    await using client = new Client();
    await client.get(`${origin}/warm`); // makes the pool: the next request takes the plain lane
    await assert.rejects(client.get(`${origin}/cookie`));
    assert.equal(client.cookies.get("session"), "abc");
  });
});

test("plain lane: send() reports a bad options argument as a rejection, not a synchronous throw", async () => {
  // With a transport already there (given, or made by an earlier request): the plain lane.
  await using client = new Client({ transport: new ConnectionPool() });
  const request = client.buildRequest("GET", "http://127.0.0.1:9/");
  let promise: Promise<unknown> | null = null;
  assert.doesNotThrow(() => {
    // deno-lint-ignore no-explicit-any
    promise = client.send(request, null as any);
  });
  await assert.rejects(promise!, TypeError);
});

test("plain lane: a forwarded 407 is a ProxyError even when its body then breaks (pool with a proxy)", async () => {
  await using proxy = await cannedServer((_head, _index, socket) => {
    // 407 whose body is cut short: nobody needs to read it.
    socket.write("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 100\r\n\r\nshort");
    socket.end();
    return null;
  });
  await using client = new Client({
    transport: new ConnectionPool({ proxy: new Proxy(proxy.url) }),
  });
  await assert.rejects(client.get("http://example.test/private"), (error: Error) => {
    assert.ok(error instanceof ProxyError, String(error));
    return true;
  });
});
