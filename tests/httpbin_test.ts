/**
 * The Client against a real python3-httpbin: one server for the whole file (started by
 * the first test, stopped by the last; these tests leave it running between them, so
 * their sanitizers are off).
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerTest } from "./_harness.ts";
import { httpbinPeer, startHttpbin } from "./_peers/httpbin.ts";
import type { Peer } from "./_peers/common.ts";
import { useNodeFileAccess } from "./_file_access.ts";
import {
  Client,
  type ClientOptions,
  DigestAuth,
  FileContent,
  HTTPStatusError,
  ReadTimeout,
  TooManyRedirects,
} from "../mod.ts";
import { supportedEncodings } from "../src/advanced/mod.ts";

let peer: (Peer & { origin: string }) | null = null;

async function httpbin(): Promise<string> {
  peer ??= await startHttpbin();
  return peer.origin;
}

async function withClient(
  options: ClientOptions,
  fn: (client: Client) => Promise<void>,
): Promise<void> {
  await using client = new Client({ baseUrl: await httpbin(), ...options });
  await fn(client);
}

function httpbinTest(name: string, fn: () => Promise<void>): void {
  peerTest(`httpbin: ${name}`, httpbinPeer, fn, { sanitize: false });
}

interface Echo {
  args: Record<string, string | string[]>;
  headers: Record<string, string>;
  form: Record<string, string | string[]>;
  files: Record<string, string>;
  json: unknown;
  data: string;
  cookies: Record<string, string>;
  authenticated?: boolean;
  user?: string;
  gzipped?: boolean;
  deflated?: boolean;
  brotli?: boolean;
}

httpbinTest("query params merge and multi-values reach the server", async () => {
  await withClient({ params: { client: "1", shared: "client" } }, async (client) => {
    const response = await client.get("/get?inline=x", {
      params: { shared: "request", many: ["a", "b"] },
    });
    assert.equal(response.status, 200);
    const body = await response.json<Echo>();
    assert.deepEqual(body.args, { inline: "x", client: "1", shared: "request", many: ["a", "b"] });
  });
});

httpbinTest("headers: defaults, client and request headers", async () => {
  await withClient({ headers: { "X-Client": "yes" } }, async (client) => {
    const body = await (await client.get("/headers", { headers: { "X-Request": "also" } }))
      .json<Echo>();
    assert.equal(body.headers["X-Client"], "yes");
    assert.equal(body.headers["X-Request"], "also");
    assert.match(body.headers["User-Agent"], /^ferry\//);
    assert.equal(body.headers["Accept-Encoding"], supportedEncodings().join(", "));
  });
});

httpbinTest("cookies: set, kept in the jar, sent, deleted", async () => {
  await withClient({ followRedirects: true }, async (client) => {
    const set = await client.get("/cookies/set", { params: { a: "1", b: "2" } });
    assert.deepEqual((await set.json<Echo>()).cookies, { a: "1", b: "2" });
    assert.equal(set.history.length, 1);
    assert.equal(client.cookies.get("a"), "1");
    const echoed = await (await client.get("/cookies", { cookies: { extra: "3" } })).json<Echo>();
    assert.deepEqual(echoed.cookies, { a: "1", b: "2", extra: "3" });
    const deleted = await client.get("/cookies/delete?a");
    assert.deepEqual((await deleted.json<Echo>()).cookies, { b: "2" });
    assert.equal(client.cookies.get("a"), null);
  });
});

httpbinTest("redirects: not followed by default; relative, absolute and 30x codes", async () => {
  await withClient({}, async (client) => {
    const first = await client.get("/redirect/2");
    assert.equal(first.status, 302);
    assert.ok(first.nextRequest);
    const followed = await client.send(first.nextRequest, { followRedirects: true });
    assert.equal(followed.status, 200);
    assert.equal(followed.history.length, 1);

    const relative = await client.get("/relative-redirect/3", { followRedirects: true });
    assert.equal(relative.status, 200);
    assert.equal(relative.history.length, 3);
    assert.equal(relative.url?.pathname, "/get");

    const absolute = await client.get("/absolute-redirect/2", { followRedirects: true });
    assert.equal(absolute.history.length, 2);
    assert.equal(absolute.url?.pathname, "/get");

    for (
      const [status, method] of [[301, "GET"], [302, "GET"], [303, "GET"], [307, "POST"], [
        308,
        "POST",
      ]]
    ) {
      const response = await client.post("/redirect-to", {
        params: { url: "/anything", status_code: String(status) },
        data: { field: "value" },
        followRedirects: true,
      });
      const body = await response.json<Echo & { method: string }>();
      assert.equal(body.method, method, `status ${status}`);
      assert.deepEqual(body.form, method === "POST" ? { field: "value" } : {});
    }
  });
});

httpbinTest("redirects: maxRedirects limits the chain", async () => {
  await withClient({ followRedirects: true, maxRedirects: 3 }, async (client) => {
    await assert.rejects(client.get("/redirect/5"), TooManyRedirects);
    assert.equal((await client.get("/redirect/3")).status, 200);
  });
});

httpbinTest("basic auth: right and wrong credentials", async () => {
  await withClient({ auth: ["user", "passwd"] }, async (client) => {
    const ok = await client.get("/basic-auth/user/passwd");
    assert.deepEqual(await ok.json(), { authenticated: true, user: "user" });
    const wrong = await client.get("/basic-auth/user/other");
    assert.equal(wrong.status, 401);
    assert.throws(() => wrong.raiseForStatus(), HTTPStatusError);
    const none = await client.get("/basic-auth/user/passwd", { auth: null });
    assert.equal(none.status, 401);
  });
});

httpbinTest("digest auth: MD5, SHA-256 and SHA-512 with qop=auth", async () => {
  for (const algorithm of ["MD5", "SHA-256", "SHA-512"]) {
    await withClient({ auth: new DigestAuth("user", "passwd") }, async (client) => {
      const response = await client.get(`/digest-auth/auth/user/passwd/${algorithm}`);
      assert.equal(response.status, 200, algorithm);
      assert.deepEqual(await response.json(), { authenticated: true, user: "user" });
      assert.equal(response.history.length, 1);
      assert.equal(response.history[0].status, 401);
      const wrong = await client.get(`/digest-auth/auth/user/nope/${algorithm}`, {
        auth: new DigestAuth("user", "passwd"),
      });
      assert.equal(wrong.status, 401);
    });
  }
});

httpbinTest("content decoding: gzip, deflate and brotli", async () => {
  await withClient({}, async (client) => {
    assert.equal((await (await client.get("/gzip")).json<Echo>()).gzipped, true);
    assert.equal((await (await client.get("/deflate")).json<Echo>()).deflated, true);
    const head = await client.head("/gzip");
    assert.equal(head.headers.get("content-encoding"), "gzip");
    assert.equal((await head.bytes()).length, 0);
    if (supportedEncodings().includes("br")) {
      const response = await client.get("/brotli");
      assert.equal(response.headers.get("content-encoding"), "br");
      assert.equal((await response.json<Echo>()).brotli, true);
    }
  });
});

httpbinTest("streaming: /stream lines, /bytes and /stream-bytes", async () => {
  await withClient({}, async (client) => {
    {
      await using response = await client.stream("GET", "/stream/5");
      const ids: number[] = [];
      for await (const line of response.iterLines()) ids.push(JSON.parse(line).id);
      assert.deepEqual(ids, [0, 1, 2, 3, 4]);
    }
    const bytes = await client.get("/bytes/1000", { params: { seed: "1" } });
    assert.equal((await bytes.bytes()).length, 1000);
    {
      await using response = await client.stream("GET", "/stream-bytes/5000", {
        params: { chunk_size: "100", seed: "2" },
      });
      let total = 0;
      for await (const chunk of response.iterBytes()) total += chunk.length;
      assert.equal(total, 5000);
      assert.equal(response.numBytesDownloaded, 5000);
    }
  });
});

httpbinTest("/drip: a slow body within the read timeout, and one beyond it", async () => {
  await withClient({ timeout: { read: 2000 } }, async (client) => {
    const ok = await client.get("/drip", {
      params: { duration: "0.4", numbytes: "4", delay: "0" },
    });
    assert.equal((await ok.bytes()).length, 4);
    await assert.rejects(
      client.get("/drip", {
        params: { duration: "6", numbytes: "3", delay: "0" },
        timeout: { read: 300 },
      }),
      ReadTimeout,
    );
  });
});

httpbinTest("forms and multipart uploads are echoed back", async () => {
  useNodeFileAccess();
  const dir = mkdtempSync(join(tmpdir(), "ferry-upload-"));
  try {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "from disk\n");
    await withClient({}, async (client) => {
      const form = await (await client.post("/post", { data: { a: "1", b: ["2", "3"] } }))
        .json<Echo>();
      assert.deepEqual(form.form, { a: "1", b: ["2", "3"] });
      const multipart = await (await client.post("/post", {
        data: { field: "value" },
        files: {
          inline: ["inline.txt", "inline content", "text/plain"],
          disk: new FileContent(path),
        },
      })).json<Echo>();
      assert.deepEqual(multipart.form, { field: "value" });
      assert.deepEqual(multipart.files, { inline: "inline content", disk: "from disk\n" });
      assert.match(multipart.headers["Content-Type"], /^multipart\/form-data; boundary=/);
      const json = await (await client.put("/put", { json: { x: [1, 2] } })).json<Echo>();
      assert.deepEqual(json.json, { x: [1, 2] });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

httpbinTest("status codes and raiseForStatus", async () => {
  await withClient({}, async (client) => {
    for (const status of [200, 204, 404, 418, 500]) {
      const response = await client.get(`/status/${status}`);
      assert.equal(response.status, status);
      if (status < 300) assert.equal(response.raiseForStatus(), response);
      else {
        assert.throws(() => response.raiseForStatus(), (error) => {
          assert.ok(error instanceof HTTPStatusError);
          assert.equal(error.response, response);
          assert.equal(error.request?.url.pathname, `/status/${status}`);
          assert.match(error.message, new RegExp(`^(Client|Server) error '${status} `));
          return true;
        });
      }
    }
    const head = await client.head("/get");
    assert.equal(head.status, 200);
    assert.equal((await head.bytes()).length, 0);
  });
});

httpbinTest("text: charset from the header, else the default encoding", async () => {
  await withClient({ defaultEncoding: "iso-8859-1" }, async (client) => {
    const html = await client.get("/html");
    assert.equal(html.encoding, "utf-8");
    assert.match(await html.text(), /Herman Melville/);
    const xml = await client.get("/xml");
    assert.equal(xml.encoding, "iso-8859-1");
    const latin1 = await client.get("/response-headers", {
      params: { "Content-Type": "text/plain; charset=iso-8859-1" },
    });
    assert.equal(latin1.encoding, "iso-8859-1");
  });
});

peerTest("httpbin: stop the server", httpbinPeer, async () => {
  await peer?.stop();
  peer = null;
}, { sanitize: false });
