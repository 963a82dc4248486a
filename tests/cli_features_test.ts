// Terminal escape codes are what these tests check.
// deno-lint-ignore-file no-control-regex
/**
 * The `ferry` command's downloads, `--verbose`, sessions, auth, uploads, proxies and TLS
 * options, run as a child process against local servers and real peers (tinyproxy,
 * python3-httpbin, openssl-made certificates), under Deno and Node.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { peerTest, runtime, test } from "./_harness.ts";
import { type CliServer, ferry, patternBytes, startCliServer } from "./_cli.ts";
import { scratchDir } from "./_peers/common.ts";
import { startHttpTarget, startTinyproxy, tinyproxyPeer } from "./_peers/proxies.ts";
import { httpbinPeer, startHttpbin } from "./_peers/httpbin.ts";
import { makeTestCertificates, openssl } from "./_peers/tls_certs.ts";
import { tlsServer } from "./_peers/net_servers.ts";
import { createSecureServer } from "node:http2";

async function withServer(fn: (server: CliServer, dir: string) => Promise<void>): Promise<void> {
  const server = await startCliServer();
  const dir = scratchDir("ferry-cli-");
  try {
    await fn(server, dir);
  } finally {
    await server.close();
  }
}

const SIZE = 300_000;

test("cli download: -o writes the file, headers and a forced progress bar go to stderr", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "out.bin");
    const result = await ferry([
      "-d",
      "-o",
      file,
      "--progress=always",
      `${server.origin}/bytes/${SIZE}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.deepEqual(new Uint8Array(readFileSync(file)), patternBytes(SIZE));
    assert.equal(server.seen[0].headers["accept-encoding"], "identity");
    assert.match(result.stderr, /^HTTP\/1\.1 200 OK\n/);
    // The last drawing of the bar: full, with sizes, rate and ETA; then the summary.
    assert.match(
      result.stderr,
      /\r100% \[█+\] 293 KiB \/ 293 KiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA 0:00\x1b\[K\n/,
    );
    assert.match(result.stderr, /Done\. 293 KiB in \d+:\d\d \([\d.]+ [KMG]?i?B\/s\)\n/);
    assert.match(
      result.stderr,
      new RegExp(`Saved to "${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"\n$`),
    );
  });
});

test("cli download: a spinner and bytes when the length is unknown", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "stream.bin");
    const result = await ferry([
      "-d",
      "-o",
      file,
      "--progress=always",
      `${server.origin}/stream/${SIZE}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(file)), patternBytes(SIZE));
    assert.match(result.stderr, /\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] 293 KiB {2}[\d.]+ [KMG]?i?B\/s\x1b\[K\n/);
    assert.ok(!result.stderr.includes("ETA"));
  });
});

test("cli download: without --progress=always and on a pipe, no bar; without -o the body goes to stdout", async () => {
  await withServer(async (server) => {
    const result = await ferry(["-d", `${server.origin}/bytes/5000`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdoutBytes, patternBytes(5000));
    assert.ok(!result.stderr.includes("Done."));
    assert.ok(!result.stderr.includes("Saved to"));
  });
});

test("cli download: -v prints the request, head and waterfall on stderr, never into the body on stdout", async () => {
  await withServer(async (server) => {
    const result = await ferry(["-d", "-v", `${server.origin}/bytes/5000`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdoutBytes, patternBytes(5000));
    assert.match(result.stderr, /^GET \/bytes\/5000 HTTP\/1\.1\n/);
    assert.match(result.stderr, /\nHTTP\/1\.1 200 OK\n/);
    assert.match(result.stderr, /\nfirst byte +[\d.]+ ms/);
  });
});

test("cli download: --continue resumes with Range, knows a complete file, restarts when ranges are ignored", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "part.bin");
    writeFileSync(file, patternBytes(SIZE).subarray(0, 1000));
    const resumed = await ferry(["-d", "-c", "-o", file, `${server.origin}/bytes/${SIZE}`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(server.seen[0].headers.range, "bytes=1000-");
    assert.match(resumed.stderr, /^HTTP\/1\.1 206 Partial Content\n/);
    assert.deepEqual(new Uint8Array(readFileSync(file)), patternBytes(SIZE));

    const again = await ferry(["-d", "-c", "-o", file, `${server.origin}/bytes/${SIZE}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /is already complete\n$/);
    assert.equal(readFileSync(file).length, SIZE);

    writeFileSync(file, "stale");
    const restarted = await ferry([
      "-d",
      "-c",
      "-o",
      file,
      `${server.origin}/bytes/${SIZE}?norange`,
    ]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stderr, /ignored the Range request: starting over/);
    assert.deepEqual(new Uint8Array(readFileSync(file)), patternBytes(SIZE));
  });
});

test("cli download: a 206 that does not start where the file ends is refused", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "part.bin");
    writeFileSync(file, "12345");
    const result = await ferry(["-d", "-c", "-o", file, `${server.origin}/bytes/100?badrange`]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /ferry: error: Error: Cannot resume: the server sent "Content-Range: bytes 0-99\/100" for a file of 5 bytes\n$/,
    );
    assert.equal(readFileSync(file, "utf8"), "12345");
  });
});

test("cli download: an error status writes no file and exits 4", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "missing.bin");
    const result = await ferry(["-d", "-o", file, `${server.origin}/nothing`]);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /download failed: HTTP 404 Not Found/);
    assert.ok(!existsSync(file));
  });
});

test("cli: -o without --download writes what would be printed to the file", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "body.json");
    const result = await ferry(["-o", file, `${server.origin}/echo`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(JSON.parse(readFileSync(file, "utf8")).method, "GET");
  });
});

test("cli --verbose: the request as sent, the response, and a timing waterfall", async () => {
  await withServer(async (server) => {
    const result = await ferry(["-v", `${server.origin}/echo`, "a=1"]);
    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout;
    assert.match(out, /^POST \/echo HTTP\/1\.1\nHost: 127\.0\.0\.1:\d+\n/);
    assert.match(out, /\nContent-Length: 9\n\n\{"a":"1"\}\n\nHTTP\/1\.1 200 OK\n/);
    const waterfall = out.slice(out.lastIndexOf("}") + 1);
    for (const step of ["connect", "send headers", "send body", "first byte", "body", "total"]) {
      assert.match(waterfall, new RegExp(`\\n${step} +[\\d.]+ ms`), `${step} in ${waterfall}`);
    }
  });
});

test("cli --form: file fields are uploaded as multipart", async () => {
  await withServer(async (server, dir) => {
    const upload = join(dir, "notes.txt");
    writeFileSync(upload, "hello from a file\n");
    const result = await ferry(["-f", `${server.origin}/echo`, "title=Notes", `doc@${upload}`]);
    assert.equal(result.code, 0, result.stderr);
    const seen = server.seen[0];
    assert.match(String(seen.headers["content-type"]), /^multipart\/form-data; boundary=/);
    const body = new TextDecoder().decode(seen.body);
    assert.match(body, /name="title"\r\n\r\nNotes\r\n/);
    assert.match(
      body,
      /name="doc"; filename="notes\.txt"\r\nContent-Type: text\/plain\r\n\r\nhello from a file\n\r\n/,
    );
  });
});

test("cli --session: cookies and credentials are kept in a 0600 file and sent again", async () => {
  await withServer(async (server, dir) => {
    const env = { XDG_CONFIG_HOME: dir };
    const first = await ferry(["--session=dev", "-a", "ana:p4ss", `${server.origin}/cookie`], {
      env,
    });
    assert.equal(first.code, 0, first.stderr);
    const file = join(dir, "ferry", "sessions", `127.0.0.1_${server.port}`, "dev.json");
    const saved = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(saved.auth, { type: "basic", username: "ana", password: "p4ss" });
    assert.equal(saved.cookies[0].name, "sid");
    if (runtime !== "bun") assert.equal(statSync(file).mode & 0o777, 0o600);

    const second = await ferry(["--session=dev", "--check-status", `${server.origin}/basic`], {
      env,
    });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "welcome\n");
    assert.equal(server.seen[1].headers.cookie, "sid=s3cr3t");

    const without = await ferry(["--check-status", `${server.origin}/basic`], { env });
    assert.equal(without.code, 4);
  });
});

test("cli --session-read-only uses a session without changing it; a broken file is a usage error", async () => {
  await withServer(async (server, dir) => {
    const file = join(dir, "s.json");
    const first = await ferry([`--session=${file}`, "-a", "ana:p4ss", `${server.origin}/echo`]);
    assert.equal(first.code, 0, first.stderr);
    const before = readFileSync(file, "utf8");
    const readOnly = await ferry([
      `--session-read-only=${file}`,
      "--check-status",
      `${server.origin}/cookie`,
    ]);
    assert.equal(readOnly.code, 0, readOnly.stderr);
    assert.equal(server.seen[1].headers.authorization, "Basic " + btoa("ana:p4ss"));
    assert.equal(readFileSync(file, "utf8"), before); // the cookie set was not kept
    writeFileSync(file, "{not json");
    const broken = await ferry([`--session=${file}`, `${server.origin}/echo`]);
    assert.equal(broken.code, 64);
    assert.match(broken.stderr, /Invalid session file ".*s\.json": not JSON/);
  });
});

test("cli --auth: basic credentials; a wrong password is a 401", async () => {
  await withServer(async (server) => {
    const ok = await ferry(["-a", "ana:p4ss", `${server.origin}/basic`]);
    assert.equal(ok.stdout, "welcome\n");
    const wrong = await ferry(["--check-status", "-a", "ana:nope", `${server.origin}/basic`]);
    assert.equal(wrong.code, 4);
  });
});

peerTest("cli --auth-type digest against httpbin", httpbinPeer, async () => {
  const httpbin = await startHttpbin();
  try {
    const url = `${httpbin.origin}/digest-auth/auth/ana/p4ss`;
    const ok = await ferry(["--check-status", "-A", "digest", "-a", "ana:p4ss", url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { authenticated: true, user: "ana" });
    const wrong = await ferry(["--check-status", "-A", "digest", "-a", "ana:nope", url]);
    assert.equal(wrong.code, 4);
  } finally {
    await httpbin.stop();
  }
});

peerTest("cli --proxy through tinyproxy", tinyproxyPeer, async () => {
  const proxy = await startTinyproxy();
  const target = await startHttpTarget();
  try {
    const result = await ferry(["--proxy", proxy.url, `${target.origin}/via?x=1`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).url, "/via?x=1");
    assert.equal(target.seen.length, 1);
  } finally {
    await target.close();
    await proxy.stop();
  }
});

peerTest(
  "cli TLS: --verify with a CA file, --cert with a client certificate, refusals",
  openssl,
  async () => {
    const certs = await makeTestCertificates();
    const server = await tlsServer(
      {
        cert: certs.serverCertPem,
        key: certs.serverKeyPem,
        ca: [certs.caPem],
        requestCert: true,
        rejectUnauthorized: false,
      },
      (socket) => {
        socket.once("data", () => {
          const body = socket.getPeerCertificate()?.subject?.CN ?? "anonymous";
          socket.end(
            `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          );
        });
      },
    );
    try {
      const url = `https://127.0.0.1:${server.port}/`;
      const ca = join(certs.dir, "ca.pem");
      const untrusted = await ferry([url], { env: { SSL_CERT_FILE: "", NODE_EXTRA_CA_CERTS: "" } });
      assert.equal(untrusted.code, 7, untrusted.stderr);
      assert.match(untrusted.stderr, /^ferry: error: ConnectError: /);

      const trusted = await ferry([`--verify=${ca}`, url]);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.equal(trusted.stdout, "anonymous");

      const withCert = await ferry([
        `--verify=${ca}`,
        `--cert=${join(certs.dir, "client.pem")}`,
        `--cert-key=${join(certs.dir, "client.key")}`,
        url,
      ]);
      assert.equal(withCert.code, 0, withCert.stderr);
      assert.equal(withCert.stdout, "ferry-test-client");

      const unverified = await ferry(["--no-verify", url]);
      if (runtime === "deno") {
        // Deno always verifies: the refusal is one clear line.
        assert.equal(unverified.code, 7);
        assert.match(unverified.stderr, /verify: false: Deno always verifies/);
      } else {
        assert.equal(unverified.code, 0, unverified.stderr);
        assert.equal(unverified.stdout, "anonymous");
      }
    } finally {
      await server.close();
    }
  },
);

peerTest("cli --http2: HTTP/2 by ALPN when asked, HTTP/1.1 otherwise", openssl, async () => {
  const certs = await makeTestCertificates();
  const server = createSecureServer(
    { cert: certs.serverCertPem, key: certs.serverKeyPem, allowHTTP1: true },
    (request, response) => {
      response.setHeader("content-type", "text/plain");
      response.end(`spoke ${request.httpVersion}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/h2`;
    const ca = `--verify=${join(certs.dir, "ca.pem")}`;
    const h2 = await ferry(["--http2", "-v", ca, url]);
    assert.equal(h2.code, 0, h2.stderr);
    assert.match(h2.stdout, /^GET \/h2 HTTP\/2\n/);
    assert.match(h2.stdout, /\nHTTP\/2 200 OK\n/);
    assert.match(h2.stdout, /\n\nspoke 2\.0\n/);
    assert.match(h2.stdout, /\ntls handshake +[\d.]+ ms/);
    const h1 = await ferry(["--print=hb", ca, url]);
    assert.equal(h1.code, 0, h1.stderr);
    assert.match(h1.stdout, /^HTTP\/1\.1 200 OK\n/);
    assert.match(h1.stdout, /\n\nspoke 1\.1$/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
