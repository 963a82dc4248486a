/**
 * The connection reuses the serialised head of a bodiless request that repeats the last
 * one, and reads the request's header pairs without copying them: what goes on the wire
 * must still be each request's own headers, whatever happened to an earlier request's
 * `Headers` afterwards.
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { Connection } from "../src/connection/mod.ts";
import { Request } from "../src/models/request.ts";
import { MemoryNetworkBackend } from "../src/testing/mod.ts";

const OK = new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n");

/** A server that records each request head it reads and answers 204. */
function recordingBackend(heads: string[]): MemoryNetworkBackend {
  return new MemoryNetworkBackend(async (stream) => {
    let text = "";
    for (let bytes = await stream.read(); bytes.length > 0; bytes = await stream.read()) {
      text += new TextDecoder().decode(bytes);
      let end: number;
      while ((end = text.indexOf("\r\n\r\n")) !== -1) {
        heads.push(text.slice(0, end));
        text = text.slice(end + 4);
        await stream.write(OK);
      }
    }
    await stream.close();
  });
}

test("a repeated request reuses the head; a changed Headers of an earlier request does not leak", async () => {
  const heads: string[] = [];
  const backend = recordingBackend(heads);
  await using connection = new Connection(
    await backend.connect("ferry.test", 80),
    "http://ferry.test",
  );
  // With its own Host header, a request's pairs go to the wire as they are (no copy).
  const headers = (id: string) => [["Host", "ferry.test"], ["X-Id", id]] as [string, string][];
  const first = new Request("GET", "http://ferry.test/", { headers: headers("1") });
  await (await connection.send(first)).close();
  // The first request's headers change afterwards, to what the next request sends.
  first.headers.set("X-Id", "2");
  await (await connection.send(
    new Request("GET", "http://ferry.test/", { headers: headers("2") }),
  )).close();
  // And a request equal to the last one is sent as it is.
  await (await connection.send(
    new Request("GET", "http://ferry.test/", { headers: headers("2") }),
  )).close();
  assert.deepEqual(heads, [
    "GET / HTTP/1.1\r\nHost: ferry.test\r\nX-Id: 1",
    "GET / HTTP/1.1\r\nHost: ferry.test\r\nX-Id: 2",
    "GET / HTTP/1.1\r\nHost: ferry.test\r\nX-Id: 2",
  ]);
});

test("the request's own Host header is sent once, first as given", async () => {
  const heads: string[] = [];
  const backend = recordingBackend(heads);
  await using connection = new Connection(
    await backend.connect("ferry.test", 80),
    "http://ferry.test",
  );
  const request = new Request("GET", "http://ferry.test/a", {
    headers: [["Accept", "*/*"], ["Host", "other.test"]],
  });
  await (await connection.send(request)).close();
  assert.deepEqual(heads, ["GET /a HTTP/1.1\r\nAccept: */*\r\nHost: other.test"]);
  // The request's headers were read, not changed.
  assert.deepEqual([...request.headers], [["Accept", "*/*"], ["Host", "other.test"]]);
});
