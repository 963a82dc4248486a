import assert from "node:assert/strict";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { test } from "./_harness.ts";
import {
  type BodySource,
  Client,
  DecodingError,
  MockTransport,
  ReadTimeout,
  Request,
  Response,
} from "../mod.ts";
import { registerDecoder, supportedEncodings } from "../src/advanced/mod.ts";
import { parseContentEncoding } from "../src/decoding.ts";

const text = "Ferry decodes what the runtime can. ".repeat(200);
const bytes = new TextEncoder().encode(text);

function u8(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A body source that hands out `chunks` one by one, then maybe fails. */
function chunked(chunks: Uint8Array[], failWith?: unknown): BodySource & { closed: boolean } {
  let index = 0;
  const source = {
    closed: false,
    read(): Promise<Uint8Array | null> {
      if (index < chunks.length) return Promise.resolve(chunks[index++]);
      if (failWith !== undefined) return Promise.reject(failWith);
      return Promise.resolve(null);
    },
    close(): Promise<void> {
      source.closed = true;
      return Promise.resolve();
    },
  };
  return source;
}

function split(data: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return chunks;
}

test("gzip, deflate (zlib and raw) decode, whole and trickled", async () => {
  const cases: [string, Uint8Array][] = [
    ["gzip", u8(gzipSync(bytes))],
    ["x-gzip", u8(gzipSync(bytes))],
    ["deflate", u8(deflateSync(bytes))],
    ["deflate", u8(deflateRawSync(bytes))],
  ];
  for (const [encoding, encoded] of cases) {
    for (const size of [encoded.length, 1, 7]) {
      const response = new Response(200, {
        headers: { "Content-Encoding": encoding },
        content: chunked(split(encoded, size)),
      });
      assert.equal(await response.text(), text, `${encoding} in chunks of ${size}`);
      assert.equal(response.numBytesDownloaded, encoded.length);
    }
  }
});

test("br decodes on every runtime (node:zlib), zstd wherever node:zlib has it", async () => {
  assert.ok(supportedEncodings().includes("br"));
  const encoded = u8(brotliCompressSync(bytes));
  const response = new Response(200, {
    headers: { "Content-Encoding": "br" },
    content: chunked(split(encoded, 100)),
  });
  assert.equal(await response.text(), text);
  const corrupt = new Response(200, {
    headers: { "Content-Encoding": "br" },
    content: chunked([new TextEncoder().encode("hello world, not brotli at all")]),
  });
  await assert.rejects(corrupt.bytes(), DecodingError);
  // deno-lint-ignore no-explicit-any
  const zlib = await import("node:zlib") as any;
  const hasZstd = typeof zlib.zstdCompressSync === "function";
  assert.equal(supportedEncodings().includes("zstd"), hasZstd);
  if (hasZstd) {
    const zstd = new Response(200, {
      headers: { "Content-Encoding": "zstd" },
      content: chunked(split(u8(zlib.zstdCompressSync(bytes)), 50)),
    });
    assert.equal(await zstd.text(), text);
  }
});

test("stacked codings are undone in reverse order; identity and unknown pass through", async () => {
  const twice = u8(gzipSync(u8(deflateSync(bytes))));
  const response = new Response(200, {
    headers: { "Content-Encoding": "deflate, gzip" },
    content: chunked([twice]),
  });
  assert.equal(await response.text(), text);
  assert.deepEqual(parseContentEncoding("Identity, GZIP"), ["gzip"]);
  const unknown = new Response(200, {
    headers: { "Content-Encoding": "compress-9000" },
    content: chunked([bytes]),
  });
  assert.equal(await unknown.text(), text);
});

test("a corrupt or truncated body is a DecodingError, and the source is closed", async () => {
  const garbage = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const gz = u8(gzipSync(bytes));
  // A truncated deflate body too: Deno's DecompressionStream used to accept it.
  for (
    const [encoding, data] of [
      ["gzip", garbage],
      ["gzip", gz.subarray(0, gz.length - 10)],
      ["deflate", new Uint8Array([0x78, 0x9c, 0xff, 0xff, 0xff])],
      ["deflate", u8(deflateSync(bytes)).subarray(0, 40)],
    ] as const
  ) {
    const source = chunked([data]);
    const response = new Response(200, {
      headers: { "Content-Encoding": encoding },
      content: source,
    });
    await assert.rejects(response.bytes(), (error) => {
      assert.ok(error instanceof DecodingError, String(error));
      assert.match(error.message, new RegExp(`"${encoding}"`));
      return true;
    });
    assert.equal(source.closed, true);
  }
});

test("a decoding error while streaming names the response's request", async () => {
  const request = new Request("GET", "http://x/data");
  const response = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: chunked([new Uint8Array([1, 2, 3, 4])]),
    request,
  });
  await assert.rejects(async () => {
    for await (const _ of response.iterBytes()) { /* reading */ }
  }, (error) => error instanceof DecodingError && error.request === request);
});

test("errors of the source pass through decoding unchanged", async () => {
  const gz = u8(gzipSync(bytes));
  const timeout = new ReadTimeout("Read timed out");
  const response = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: chunked([gz.subarray(0, 20)], timeout),
  });
  await assert.rejects(response.bytes(), (error) => error === timeout);
});

test("the decompressed size limit stops a bomb", async () => {
  const bomb = u8(gzipSync(new Uint8Array(5_000_000)));
  const source = chunked(split(bomb, 1000));
  const response = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: source,
    maxDecompressedSize: 1_000_000,
  });
  await assert.rejects(response.bytes(), /exceeds the limit of 1000000 bytes/);
  assert.equal(source.closed, true);
});

test("the client's maxDecompressedSize applies to its responses", async () => {
  const bomb = u8(gzipSync(new Uint8Array(200_000)));
  await using client = new Client({
    maxDecompressedSize: 100_000,
    transport: new MockTransport(() =>
      new Response(200, { headers: { "Content-Encoding": "gzip" }, content: chunked([bomb]) })
    ),
  });
  await assert.rejects(client.get("http://x/"), DecodingError);
  await using unlimited = new Client({
    maxDecompressedSize: null,
    transport: new MockTransport(() =>
      new Response(200, { headers: { "Content-Encoding": "gzip" }, content: chunked([bomb]) })
    ),
  });
  assert.equal((await (await unlimited.get("http://x/")).bytes()).length, 200_000);
});

test("iterRaw yields the body as sent; iterBytes decoded", async () => {
  const gz = u8(gzipSync(bytes));
  const raw = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: chunked([gz]),
  });
  const parts: Uint8Array[] = [];
  for await (const chunk of raw.iterRaw()) parts.push(chunk);
  assert.deepEqual(parts, [gz]);
  const decoded = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: chunked([gz]),
  });
  let total = 0;
  for await (const chunk of decoded.iterBytes()) total += chunk.length;
  assert.equal(total, bytes.length);
});

test("in-memory content with a Content-Encoding is decoded too", async () => {
  const response = new Response(200, {
    headers: { "Content-Encoding": "gzip" },
    content: u8(gzipSync(bytes)),
  });
  assert.equal(await response.text(), text);
});

test("registerDecoder adds a coding and Accept-Encoding lists it", async () => {
  registerDecoder("x-reverse", (input) =>
    input.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk.slice().reverse());
        },
      }),
    ));
  assert.ok(supportedEncodings().includes("x-reverse"));
  const response = new Response(200, {
    headers: { "Content-Encoding": "x-reverse" },
    content: new TextEncoder().encode("olleh"),
  });
  assert.equal(await response.text(), "hello");
  await using client = new Client({
    transport: new MockTransport((request) =>
      new Response(200, { content: request.headers.get("accept-encoding") ?? "" })
    ),
  });
  assert.match(await (await client.get("http://x/")).text(), /x-reverse/);
  registerDecoder("x-reverse", null);
  assert.ok(!supportedEncodings().includes("x-reverse"));
});

test("an empty body with a Content-Encoding (HEAD, 204, 304) decodes to nothing", async () => {
  for (const encoding of supportedEncodings()) {
    const source = chunked([new Uint8Array(0)]);
    const response = new Response(200, {
      headers: { "Content-Encoding": encoding },
      content: source,
    });
    assert.equal((await response.bytes()).length, 0, encoding);
    assert.equal(source.closed, true);
  }
});

test("more than five content codings is a DecodingError before anything is read", async () => {
  const source = chunked([u8(gzipSync(bytes))]);
  let reads = 0;
  const counting = { ...source, read: () => (reads++, source.read()) };
  const response = new Response(200, {
    headers: { "Content-Encoding": Array(6).fill("gzip").join(", ") },
    content: counting,
  });
  await assert.rejects(response.bytes(), (error) => {
    assert.ok(error instanceof DecodingError, String(error));
    assert.match(error.message, /Too many content codings: 6 \(the limit is 5\)/);
    return true;
  });
  assert.equal(reads, 0);
  assert.equal(source.closed, true);
  let five = u8(gzipSync(bytes));
  for (let i = 1; i < 5; i++) five = u8(gzipSync(five));
  const ok = new Response(200, {
    headers: { "Content-Encoding": "gzip, gzip, gzip, gzip, gzip" },
    content: chunked([five]),
  });
  assert.equal(await ok.text(), text);
});

test("a body with a coding that cannot be decoded is handed up as sent, not half-decoded", async () => {
  const gz = u8(gzipSync(bytes));
  const response = new Response(200, {
    headers: { "Content-Encoding": "x-unknown, gzip" },
    content: chunked([gz]),
  });
  assert.deepEqual(await response.bytes(), gz);
});

test("Accept-Encoding lists exactly what decodes here, br included on every runtime", async () => {
  await using client = new Client({
    transport: new MockTransport((request) =>
      new Response(200, { content: request.headers.get("accept-encoding") ?? "" })
    ),
  });
  const listed = (await (await client.get("http://x/")).text()).split(", ");
  assert.deepEqual(listed, supportedEncodings());
  assert.ok(listed.includes("br"));
  for (const coding of listed) {
    if (coding === "zstd") continue; // covered where node:zlib compresses it
    const zlib = await import("node:zlib");
    const encoded = coding === "br"
      ? zlib.brotliCompressSync(bytes)
      : coding === "gzip"
      ? zlib.gzipSync(bytes)
      : zlib.deflateSync(bytes);
    const response = new Response(200, {
      headers: { "Content-Encoding": coding },
      content: chunked([u8(encoded)]),
    });
    assert.equal(await response.text(), text, coding);
  }
});

test("a registered decoder's failure is a DecodingError; its source's errors pass through", async () => {
  registerDecoder("x-fail", (input) =>
    input.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform() {
          throw new Error("bad bytes");
        },
      }),
    ));
  registerDecoder("x-same", (input) => input);
  try {
    const failing = new Response(200, {
      headers: { "Content-Encoding": "x-fail" },
      content: chunked([bytes]),
    });
    await assert.rejects(failing.bytes(), (error) => {
      assert.ok(error instanceof DecodingError, String(error));
      assert.match(error.message, /Invalid "x-fail" encoded body/);
      return true;
    });
    const timeout = new ReadTimeout("Read timed out");
    const cut = new Response(200, {
      headers: { "Content-Encoding": "x-same" },
      content: chunked([bytes], timeout),
    });
    await assert.rejects(cut.bytes(), (error) => error === timeout);
  } finally {
    registerDecoder("x-fail", null);
    registerDecoder("x-same", null);
  }
});

test("every built-in coding decodes 1 MiB byte for byte, whatever the input chunking", async () => {
  // deno-lint-ignore no-explicit-any
  const zlib = await import("node:zlib") as any;
  const data = new Uint8Array(1 << 20);
  let x = 1;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = 40 + (x >>> 24) % 40;
  }
  const encoders: Record<string, (input: Uint8Array) => Uint8Array> = {
    gzip: zlib.gzipSync,
    deflate: zlib.deflateRawSync,
    br: zlib.brotliCompressSync,
    zstd: zlib.zstdCompressSync,
  };
  for (const coding of supportedEncodings()) {
    const encoded = u8(encoders[coding](data));
    for (const size of [65536, 1000, 17]) {
      const response = new Response(200, {
        headers: { "Content-Encoding": coding },
        content: chunked(split(encoded, size)),
      });
      assert.deepEqual(await response.bytes(), data, `${coding} in chunks of ${size}`);
    }
  }
});

test("a truncated zstd body is a DecodingError on every runtime that decodes zstd", {
  skip: supportedEncodings().includes("zstd") ? false : "no zstd in this runtime's node:zlib",
}, async () => {
  // deno-lint-ignore no-explicit-any
  const zlib = await import("node:zlib") as any;
  const checksum = { params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } };
  const frame = u8(zlib.zstdCompressSync(bytes));
  const withChecksum = u8(zlib.zstdCompressSync(bytes, checksum));
  // A skippable frame (magic 0x184D2A5?, 4-byte size, content) between two frames.
  const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const stream = new Uint8Array([...frame, ...skippable, ...withChecksum]);
  for (const size of [stream.length, 7, 1]) {
    for (const body of [frame, withChecksum]) {
      const response = new Response(200, {
        headers: { "Content-Encoding": "zstd" },
        content: chunked(split(body, size)),
      });
      assert.equal(await response.text(), text, `in chunks of ${size}`);
    }
    // Several frames: all of them decoded (Bun), or a DecodingError (Node and Deno decode
    // only the first frame): never a part handed up as the whole.
    const response = new Response(200, {
      headers: { "Content-Encoding": "zstd" },
      content: chunked(split(stream, size)),
    });
    try {
      assert.equal(await response.text(), text + text, `in chunks of ${size}`);
    } catch (error) {
      assert.ok(error instanceof DecodingError, String(error));
      assert.match(error.message, /several frames: this runtime decodes only the first/);
    }
  }
  // A body cut at `cut` is a DecodingError, and its source is closed.
  async function assertCutRefused(body: Uint8Array, cut: number): Promise<void> {
    const source = chunked(split(body.subarray(0, cut), 5));
    const response = new Response(200, {
      headers: { "Content-Encoding": "zstd" },
      content: source,
    });
    await assert.rejects(response.bytes(), (error) => {
      assert.ok(error instanceof DecodingError, `cut at ${cut}: ${error}`);
      return true;
    });
    assert.equal(source.closed, true);
  }
  for (const cut of [1, 4, 5, 6, frame.length - 1]) {
    for (const body of [frame, withChecksum]) await assertCutRefused(body, cut);
  }
  // A stream cut in its second frame: refused either way.
  for (const cut of [frame.length + 5, stream.length - 2]) await assertCutRefused(stream, cut);
});
