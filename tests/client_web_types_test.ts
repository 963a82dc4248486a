/**
 * What a user of fetch, ky or undici tries first: web types as inputs (FormData,
 * URLSearchParams, Headers, Blob and File), `undefined` entries skipped, `response.ok`.
 */
import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { Client, FileContent, MockTransport, type Request, Response } from "../mod.ts";

const decoder = new TextDecoder();

/** A client whose transport records each request, with its body read. */
function recording(): { client: Client; sent: { request: Request; body: string }[] } {
  const sent: { request: Request; body: string }[] = [];
  const client = new Client({
    transport: new MockTransport(async (request) => {
      sent.push({ request, body: decoder.decode(await request.bytes()) });
      return new Response(200);
    }),
  });
  return { client, sent };
}

/** The parts of a multipart body: their head lines and content, by the declared boundary. */
function parts(contentType: string, body: string): { head: string; content: string }[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)![1];
  const pieces = body.split(`--${boundary}`);
  assert.equal(pieces.at(-1), "--\r\n", "the body ends with the closing boundary");
  return pieces.slice(1, -1).map((piece) => {
    const end = piece.indexOf("\r\n\r\n");
    return { head: piece.slice(2, end), content: piece.slice(end + 4, -2) };
  });
}

test("a web FormData (strings, File and Blob parts) is sent as multipart", async () => {
  const { client, sent } = recording();
  await using _ = client;
  const form = new FormData();
  form.append("name", "ferry");
  const notes = new File(["hello"], "notes.txt", { type: "text/plain" });
  form.append("notes", notes);
  form.append("raw", new Blob([new Uint8Array([1, 2, 3])]));
  form.append("name", "boat");
  for (const options of [{ data: form }, { content: form }]) {
    await client.post("http://x/upload", options);
    const { request, body } = sent.at(-1)!;
    const type = request.headers.get("content-type")!;
    assert.match(type, /^multipart\/form-data; boundary=/);
    assert.equal(
      request.headers.get("content-length"),
      String(new TextEncoder().encode(body).length),
    );
    const got = parts(type, body);
    assert.deepEqual(got.map((part) => part.content), ["ferry", "boat", "hello", "\x01\x02\x03"]);
    assert.equal(
      got[2].head,
      // The File's own type, as the runtime reports it (Bun adds ";charset=utf-8").
      `Content-Disposition: form-data; name="notes"; filename="notes.txt"\r\nContent-Type: ${notes.type}`,
    );
    // The spec names a Blob part "blob" (Bun leaves it nameless: Ferry's "upload").
    const rawName = (form.get("raw") as { name?: string }).name || "upload";
    assert.equal(
      got[3].head,
      `Content-Disposition: form-data; name="raw"; filename="${rawName}"\r\n` +
        "Content-Type: application/octet-stream",
    );
  }
});

test("FormData with files: the FormData's parts and the files travel together", async () => {
  const { client, sent } = recording();
  await using _ = client;
  const form = new FormData();
  form.append("a", "1");
  form.append("doc", new File(["x"], "doc.md"));
  await client.post("http://x/", { data: form, files: { extra: ["e.txt", "E"] } });
  const { request, body } = sent[0];
  const got = parts(request.headers.get("content-type")!, body);
  assert.deepEqual(got.map((part) => part.content), ["1", "x", "E"]);
  assert.match(got[1].head, /filename="doc.md"/);
});

test("URLSearchParams as params, as data and as content", async () => {
  const { client, sent } = recording();
  await using _ = client;
  const search = new URLSearchParams([["q", "a b"], ["q", "c"], ["x", "~"]]);
  await client.get("http://x/search", { params: search });
  assert.equal(sent[0].request.url.search, "?q=a+b&q=c&x=~");
  await client.post("http://x/form", { data: new URLSearchParams({ user: "ana" }) });
  await client.post("http://x/form", { content: new URLSearchParams({ user: "ana" }) });
  for (const { request, body } of sent.slice(1)) {
    assert.equal(body, "user=ana");
    assert.equal(request.headers.get("content-type"), "application/x-www-form-urlencoded");
  }
});

test("a web Headers is accepted for client and request headers", async () => {
  const { client, sent } = recording();
  await using _ = client;
  client.headers = new globalThis.Headers({ "X-Client": "1" });
  await client.get("http://x/", { headers: new globalThis.Headers([["X-Request", "2"]]) });
  assert.equal(sent[0].request.headers.get("x-client"), "1");
  assert.equal(sent[0].request.headers.get("x-request"), "2");
});

test("undefined entries in headers, params, data, cookies and files records are skipped", async () => {
  const { client, sent } = recording();
  await using _ = client;
  const maybe = (value: string | undefined) => value;
  await client.post("http://x/", {
    headers: { "X-A": maybe(undefined), "X-B": "b" },
    params: { a: maybe(undefined), b: "1" },
    data: { a: maybe(undefined), c: "3" },
    cookies: { a: maybe(undefined), d: "4" },
  });
  const { request, body } = sent[0];
  assert.equal(request.headers.has("x-a"), false);
  assert.equal(request.headers.get("x-b"), "b");
  assert.equal(request.url.search, "?b=1");
  assert.equal(body, "c=3");
  assert.equal(request.headers.get("cookie"), "d=4");
  await client.post("http://x/", { files: { a: undefined, b: ["b.txt", "B"] }, data: { f: "1" } });
  assert.doesNotMatch(sent[1].body, /name="a"/);
  assert.match(sent[1].body, /name="b"; filename="b.txt"/);
  // A files record with nothing but undefined is no files: the data stays urlencoded.
  await client.post("http://x/", { files: { a: undefined }, data: { f: "1" } });
  assert.equal(sent[2].body, "f=1");
});

test("the runtime's File and Blob upload with their names and types; FileContent coexists", async () => {
  const { client, sent } = recording();
  await using _ = client;
  const web = new File(["a,b"], "table.csv", { type: "text/csv" });
  const blob = new Blob(["<p/>"], { type: "text/html" });
  await client.post("http://x/", {
    files: {
      web,
      blob,
      ours: new FileContent(new Uint8Array([65]), { filename: "a.bin" }),
    },
  });
  const got = parts(sent[0].request.headers.get("content-type")!, sent[0].body);
  assert.equal(
    got[0].head,
    `Content-Disposition: form-data; name="web"; filename="table.csv"\r\nContent-Type: ${web.type}`,
  );
  assert.equal(
    got[1].head,
    `Content-Disposition: form-data; name="blob"; filename="upload"\r\nContent-Type: ${blob.type}`,
  );
  assert.equal(got[2].content, "A");
  // Ferry's own type does not replace the global one.
  assert.notEqual(FileContent as unknown, globalThis.File);
  const json = new File(["z"], "z.json", { type: "application/json" });
  await client.put("http://x/", { content: json });
  assert.equal(sent[1].request.headers.get("content-type"), json.type);
  assert.equal(sent[1].body, "z");
});

test("response.ok is true for 2xx only, as fetch's", () => {
  for (
    const [status, ok] of [[199, false], [200, true], [204, true], [299, true], [300, false], [
      404,
      false,
    ]] as const
  ) {
    assert.equal(new Response(status).ok, ok, String(status));
  }
});

test("an ArrayBuffer body is sent as its bytes", async () => {
  const { client, sent } = recording();
  await using _ = client;
  await client.post("http://x/", { content: new Uint8Array([104, 105]).buffer });
  assert.equal(sent[0].body, "hi");
  assert.equal(sent[0].request.headers.get("content-length"), "2");
});
