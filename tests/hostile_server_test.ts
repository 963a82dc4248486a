/**
 * A hostile (or merely broken) server, end to end through Client and ConnectionPool over
 * the in-memory backend: what the parser's limits and leniencies mean for a request.
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { Client, ConnectionPool, RemoteProtocolError } from "../mod.ts";
import { MemoryNetworkBackend, type MemoryNetworkStream } from "../src/testing/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads one request head (this test's requests have no body). */
async function readHead(stream: MemoryNetworkStream, buffered: { text: string }): Promise<boolean> {
  while (!buffered.text.includes("\r\n\r\n")) {
    const part = await stream.read();
    if (part.length === 0) return false;
    buffered.text += decoder.decode(part);
  }
  buffered.text = buffered.text.slice(buffered.text.indexOf("\r\n\r\n") + 4);
  return true;
}

test("a server sending 103 Early Hints forever fails the request after ten", async () => {
  let sent = 0;
  const backend = new MemoryNetworkBackend(async (stream) => {
    await readHead(stream, { text: "" });
    try {
      // Forever, as far as the client is concerned: it stops reading after the limit.
      while (sent < 1000) {
        await stream.write(encoder.encode("HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"));
        sent++;
      }
    } catch {
      // The client closed the connection.
    }
    await stream.close();
  });
  await using client = new Client({ transport: new ConnectionPool({ backend }) });
  await assert.rejects(
    client.get("http://hints.test/"),
    (error) =>
      error instanceof RemoteProtocolError &&
      /More than maxInformationalResponses \(10\)/.test(error.message),
  );
  await client.close();
  await Promise.all(backend.served);
  assert.ok(sent > 10 && sent < 1000, `the server sent ${sent} hints before the client left`);
});

test("a stray CRLF after a body does not break the next response on the connection", async () => {
  const backend = new MemoryNetworkBackend(async (stream) => {
    const buffered = { text: "" };
    // The CRLF that ends the first body is sent with the second response: the client has
    // kept the connection and reads it as the start of the next response.
    await readHead(stream, buffered);
    await stream.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"));
    await readHead(stream, buffered);
    await stream.write(encoder.encode("\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"));
    await readHead(stream, buffered);
    await stream.close();
  });
  await using client = new Client({ transport: new ConnectionPool({ backend }) });
  assert.equal(await (await client.get("http://crlf.test/1")).text(), "one");
  assert.equal(await (await client.get("http://crlf.test/2")).text(), "two");
  assert.equal(backend.connections.length, 1, "one connection served both");
  await client.close();
  await Promise.all(backend.served);
});

test("a transfer coding other than chunked is refused and its connection not reused", async () => {
  const backend = new MemoryNetworkBackend(async (stream) => {
    const buffered = { text: "" };
    while (await readHead(stream, buffered)) {
      await stream.write(
        encoder.encode(
          buffered.text === "" && backend.connections.length === 1
            ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot-decoded"
            : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
      );
    }
    await stream.close();
  });
  await using client = new Client({ transport: new ConnectionPool({ backend }) });
  await assert.rejects(
    client.get("http://te.test/"),
    (error) =>
      error instanceof RemoteProtocolError &&
      /^Unsupported Transfer-Encoding "gzip"/.test(error.message),
  );
  assert.equal(await (await client.get("http://te.test/")).text(), "ok");
  assert.equal(backend.connections.length, 2, "the second request had a new connection");
  await client.close();
  await Promise.all(backend.served);
});

for (const [method, status] of [["HEAD", 200], ["GET", 204], ["GET", 304]] as const) {
  test(`a body sent late after a ${method} ${status} closes the connection, never answers the next request`, async () => {
    // The server answers `method` with a head that frames no body, then (once the client
    // has its response) sends a body anyway: a second response, ready before the next
    // request is written. Read as that request's answer, it would desynchronise the
    // connection for good.
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    let smuggled!: () => void;
    const smuggledSent = new Promise<void>((resolve) => smuggled = resolve);
    const backend = new MemoryNetworkBackend(async (stream) => {
      const buffered = { text: "" };
      try {
        while (await readHead(stream, buffered)) {
          if (backend.connections.length === 1) {
            await stream.write(encoder.encode(`HTTP/1.1 ${status} X\r\nContent-Length: 8\r\n\r\n`));
            await released;
            await stream.write(
              encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"),
            );
            smuggled();
          } else {
            await stream.write(
              encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngenuine"),
            );
          }
        }
      } catch {
        // The client closed the connection.
      }
      await stream.close();
    });
    await using pool = new ConnectionPool({ backend });
    const first = await pool.request(method, "http://late.test/");
    assert.equal(first.status, status);
    release();
    await smuggledSent;
    await new Promise((resolve) => setTimeout(resolve, 0)); // the client's reads settle
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
    const second = await pool.request("GET", "http://late.test/");
    assert.equal(decoder.decode(second.content), "genuine");
    assert.equal(backend.connections.length, 2);
  });
}

test("a 101 to a request that did not ask to switch protocols fails and frees the connection", async () => {
  const backend = new MemoryNetworkBackend(async (stream) => {
    const buffered = { text: "" };
    try {
      while (await readHead(stream, buffered)) {
        await stream.write(
          encoder.encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"),
        );
      }
    } catch {
      // The client closed the connection.
    }
    await stream.close();
  });
  // One connection: a switch taken for granted would keep it, and the second request
  // would wait for the pool until it timed out.
  await using pool = new ConnectionPool({ backend, maxConnections: 1 });
  for (const path of ["/1", "/2"]) {
    await assert.rejects(
      pool.request("GET", `http://switch.test${path}`),
      (error) =>
        error instanceof RemoteProtocolError &&
        error.message ===
          `Unexpected "101 Switching Protocols": the request did not ask to switch protocols (GET http://switch.test${path})`,
    );
    assert.equal(String(pool), "<ConnectionPool [0 active]>");
  }
  assert.equal(backend.connections.length, 2);
  assert.ok(backend.connections.every((stream) => stream.closed));
});
