import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtime, test } from "./_harness.ts";
import { runDenoScript } from "./_child.ts";
import { useNodeFileAccess } from "./_file_access.ts";
import {
  Client,
  FileContent,
  Files,
  Form,
  HTML,
  JSONContent,
  MockTransport,
  MultiPart,
  type Request,
  Response,
  Text,
} from "../mod.ts";
import { guessContentType, setFileAccess } from "../src/advanced/mod.ts";
import * as ferry from "../mod.ts";
import { ensureFileAccess } from "../src/runtime/files.ts";

const decoder = new TextDecoder();

async function collect(body: unknown): Promise<string> {
  if (body instanceof Uint8Array) return decoder.decode(body);
  let text = "";
  for await (const chunk of body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
  return text;
}

test("Text, HTML, JSON and Form encode with their content types", async () => {
  const text = new Text("héllo").encode();
  assert.deepEqual([text.contentType, text.contentLength], ["text/plain; charset=utf-8", 6]);
  assert.equal(new HTML("<p/>").encode().contentType, "text/html; charset=utf-8");
  const json = new JSONContent({ a: [1, "x"] }).encode();
  assert.equal(await collect(json.body), '{"a":[1,"x"]}');
  assert.equal(json.contentType, "application/json");
  assert.equal(ferry.JSON, JSONContent);
  const form = new Form({ a: "1 2", b: ["x", "y"] }).encode();
  assert.equal(await collect(form.body), "a=1+2&b=x&b=y");
  assert.equal(form.contentType, "application/x-www-form-urlencoded");
});

test("a Content given as content sets the Content-Type unless the request has one", async () => {
  const requests: Request[] = [];
  await using client = new Client({
    transport: new MockTransport((request) => {
      requests.push(request);
      return new Response(200);
    }),
  });
  await client.post("http://x/", { content: new HTML("<b>hi</b>") });
  await client.post("http://x/", {
    content: new JSONContent([1]),
    headers: { "Content-Type": "application/vnd.api+json" },
  });
  assert.equal(requests[0].headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(requests[0].headers.get("content-length"), "9");
  assert.equal(requests[1].headers.get("content-type"), "application/vnd.api+json");
});

test("multipart: exact bytes for fields and files, with the given boundary", async () => {
  const body = new MultiPart({
    boundary: "XyZ",
    form: { name: "ferry", tags: ["a", "b"] },
    files: {
      upload: ["report.csv", "1,2\n", "text/csv"],
      nameless: [null, "raw"],
    },
  }).encode();
  const expected = [
    '--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nferry\r\n',
    '--XyZ\r\nContent-Disposition: form-data; name="tags"\r\n\r\na\r\n',
    '--XyZ\r\nContent-Disposition: form-data; name="tags"\r\n\r\nb\r\n',
    '--XyZ\r\nContent-Disposition: form-data; name="upload"; filename="report.csv"\r\n' +
    "Content-Type: text/csv\r\n\r\n1,2\n\r\n",
    '--XyZ\r\nContent-Disposition: form-data; name="nameless"\r\n\r\nraw\r\n',
    "--XyZ--\r\n",
  ].join("");
  assert.equal(await collect(body.body), expected);
  assert.equal(body.contentLength, new TextEncoder().encode(expected).length);
  assert.equal(body.contentType, "multipart/form-data; boundary=XyZ");
});

test("multipart: names are quoted as browsers do; types are guessed from file names", async () => {
  const body = new Files({
    'we"ird\r\nname': new FileContent(new Uint8Array([1]), { filename: "a.png" }),
  });
  const encoded = body.encode();
  const text = await collect(encoded.body);
  assert.match(text, /name="we%22ird%0D%0Aname"; filename="a.png"\r\nContent-Type: image\/png/);
  assert.equal(guessContentType("x.JSON"), "application/json");
  assert.equal(guessContentType("no-extension"), "application/octet-stream");
  assert.equal(guessContentType("archive.unknown"), "application/octet-stream");
});

test("multipart: Blobs, streams and several files per field", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("streamed"));
      controller.close();
    },
  });
  const encoded = new MultiPart({
    boundary: "b",
    files: {
      docs: [
        new FileContent(new Blob(["blob"]), { filename: "a.txt" }),
        new FileContent(stream, { filename: "b.bin" }),
      ],
    },
  }).encode();
  assert.equal(encoded.contentLength, null); // a stream's size is not known
  const text = await collect(encoded.body);
  assert.match(text, /filename="a.txt"\r\nContent-Type: text\/plain\r\n\r\nblob\r\n/);
  assert.match(text, /filename="b.bin"\r\nContent-Type: application\/octet-stream\r\n\r\nstreamed/);
});

test("files from paths are streamed; their size is learnt when the request is sent", async () => {
  useNodeFileAccess();
  const dir = mkdtempSync(join(tmpdir(), "ferry-files-"));
  try {
    const path = join(dir, "data.json");
    writeFileSync(path, '{"big":false}');
    let seen: { length: string | null; body: string } | null = null;
    await using client = new Client({
      transport: new MockTransport(async (request) => {
        seen = {
          length: request.headers.get("content-length"),
          body: decoder.decode(await request.bytes()),
        };
        return new Response(200);
      }),
    });
    const request = client.buildRequest("POST", "http://x/", {
      files: { data: new FileContent(path) },
      data: { note: "n" },
    });
    assert.equal(request.headers.get("content-length"), null); // no I/O while building
    await client.send(request);
    assert.ok(seen);
    const { length, body } = seen as { length: string; body: string };
    assert.equal(Number(length), new TextEncoder().encode(body).length);
    assert.match(
      body,
      /filename="data.json"\r\nContent-Type: application\/json\r\n\r\n\{"big":false\}/,
    );

    const single = await client.put("http://x/", { content: new FileContent(path) });
    assert.equal(single.status, 200);
    assert.equal((seen as { length: string }).length, "13");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a request that fails before its body is sent leaves no file open", async () => {
  let open = 0;
  setFileAccess({
    readTextFile: () => Promise.resolve(""),
    openFile: () => {
      open++;
      let sent = false;
      return Promise.resolve({
        size: 3,
        stream: new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent) {
              open--;
              return controller.close();
            }
            sent = true;
            controller.enqueue(new Uint8Array([1, 2, 3]));
          },
          cancel() {
            open--;
          },
        }),
      });
    },
  });
  try {
    await using failing = new Client({
      transport: {
        send: () => Promise.reject(new TypeError("no route")),
        close: () => Promise.resolve(),
      },
    });
    await assert.rejects(
      failing.post("http://x/", { files: { f: new FileContent("/virtual/f.bin") } }),
      /no route/,
    );
    assert.equal(open, 0);
    await using working = new Client({ transport: new MockTransport(() => new Response(200)) });
    await working.post("http://x/", { files: { f: new FileContent("/virtual/f.bin") } });
    assert.equal(open, 0);
  } finally {
    useNodeFileAccess();
  }
});

test("without registered file access: each runtime's backend loads its own on demand", async () => {
  setFileAccess(null);
  try {
    await using client = new Client({ transport: new MockTransport(() => new Response(200)) });
    const upload = client.post("http://x/", { files: { f: new FileContent("/no/such/file.txt") } });
    // The backend's access (Deno's file API, or node:fs) was loaded: the file is simply missing.
    await assert.rejects(upload, runtime === "deno" ? /NotFound|No such file/ : /ENOENT/);
    assert.equal(await ensureFileAccess(), true);
  } finally {
    useNodeFileAccess();
  }
});

test("FileContent(path) through Deno's own file API (the setFileAccess example)", {
  denoOnly: "uses Deno.open and Deno.readDir",
}, async () => {
  // deno-lint-ignore no-explicit-any
  const Deno = (globalThis as any).Deno;
  setFileAccess({
    readTextFile: (path) => Deno.readTextFile(path),
    openFile: async (path) => {
      const file = await Deno.open(path);
      return { size: (await file.stat()).size, stream: file.readable };
    },
    listDir: async (path) =>
      (await Array.fromAsync(Deno.readDir(path)) as { name: string }[]).map((entry) => entry.name),
  });
  const dir = mkdtempSync(join(tmpdir(), "ferry-deno-files-"));
  try {
    const path = join(dir, "hello.txt");
    writeFileSync(path, "hello from Deno.open");
    let received = "";
    let length: string | null = null;
    await using client = new Client({
      transport: new MockTransport(async (request) => {
        length = request.headers.get("content-length");
        received = decoder.decode(await request.bytes());
        return new Response(200);
      }),
    });
    await client.post("http://x/", { files: { f: new FileContent(path) } });
    assert.match(
      received,
      /filename="hello.txt"\r\nContent-Type: text\/plain\r\n\r\nhello from Deno.open\r\n/,
    );
    assert.equal(Number(length), new TextEncoder().encode(received).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    useNodeFileAccess();
  }
});

test(
  "FileContent(path) works on Deno without setFileAccess: the Deno backend's access loads on demand",
  {
    denoOnly: "runs a Deno child process, whose file access nobody registered",
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-deno-files-"));
    try {
      const path = join(dir, "note.txt");
      writeFileSync(path, "hello without setFileAccess");
      const script = `
      import { Client, FileContent, MockTransport, Response } from ${
        JSON.stringify(new URL("../mod.ts", import.meta.url).href)
      };
      let received = "";
      await using client = new Client({
        transport: new MockTransport(async (request) => {
          received = new TextDecoder().decode(await request.bytes());
          return new Response(200);
        }),
      });
      await client.post("http://x/", { files: { f: new FileContent(${JSON.stringify(path)}) } });
      console.log(received.includes("hello without setFileAccess") ? "uploaded" : received);
    `;
      const { code, output } = await runDenoScript(script);
      assert.equal(code, 0, output);
      assert.match(output, /uploaded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("multipart refuses a part content type or a boundary that would inject lines", () => {
  assert.throws(
    () =>
      new FileContent(new Uint8Array(1), {
        filename: "a.txt",
        contentType: "text/plain\r\nX-Inj: 1",
      }),
    (error) =>
      error instanceof ferry.LocalProtocolError && /Invalid content type/.test(error.message),
  );
  assert.throws(
    () => new MultiPart({ form: { a: "1" }, boundary: "B\r\nX-Inj: 1" }),
    (error) =>
      error instanceof ferry.LocalProtocolError && /Invalid multipart boundary/.test(error.message),
  );
  assert.throws(() => new MultiPart({ boundary: "ends-in-space " }), ferry.LocalProtocolError);
  assert.throws(() => new MultiPart({ boundary: "x".repeat(71) }), ferry.LocalProtocolError);
  // What RFC 2046 allows still works.
  const body = new MultiPart({ form: { a: "1" }, boundary: "a'()+_,-./:=? b" }).encode();
  assert.equal(body.contentType, 'multipart/form-data; boundary="a\'()+_,-./:=? b"');
});
