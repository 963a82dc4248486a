/**
 * The `ferry` command as users run it: a child process against a local server, checking
 * what it prints, what the server received, and the exit codes. Runs under Deno and (the
 * transpiled sources) Node and Bun.
 */

import assert from "node:assert/strict";
import { createServer as createNetServer, type Socket } from "node:net";
import { test } from "./_harness.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliServer, ferry, startCliServer } from "./_cli.ts";
import { scratchDir } from "./_peers/common.ts";

async function withServer(fn: (server: CliServer) => Promise<void>): Promise<void> {
  const server = await startCliServer();
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function seenJson(server: CliServer, index = 0): unknown {
  return JSON.parse(new TextDecoder().decode(server.seen[index].body));
}

test("cli: a GET prints the body alone when stdout is piped", async () => {
  await withServer(async (server) => {
    const result = await ferry([`${server.origin}/echo`, "q==1", "X-Test:yes"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].method, "GET");
    assert.equal(server.seen[0].url, "/echo?q=1");
    assert.equal(server.seen[0].headers["x-test"], "yes");
    // The body exactly as sent: no status line, no colours, no re-indenting.
    const echoed = JSON.parse(result.stdout);
    assert.equal(echoed.method, "GET");
    assert.ok(result.stdout.startsWith('{"method":"GET"'), result.stdout);
    assert.ok(!result.stdout.includes("\x1b["));
  });
});

test("cli: data items make a JSON POST", async () => {
  await withServer(async (server) => {
    const result = await ferry([
      `${server.origin}/echo`,
      "name=ferry",
      "seats:=12",
      'tags:=["a","b"]',
      "ok:=true",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.seen[0].method, "POST");
    assert.equal(server.seen[0].headers["content-type"], "application/json");
    assert.equal(server.seen[0].headers.accept, "application/json, */*;q=0.5");
    assert.deepEqual(seenJson(server), { name: "ferry", seats: 12, tags: ["a", "b"], ok: true });
  });
});

test("cli: an explicit method, :port shorthand and a removed default header", async () => {
  await withServer(async (server) => {
    const result = await ferry(["put", `:${server.port}/echo`, "a=1", "User-Agent:"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.seen[0].method, "PUT");
    assert.equal(server.seen[0].headers.host, `localhost:${server.port}`);
    assert.equal(server.seen[0].headers["user-agent"], undefined);
  });
});

test("cli: --form sends urlencoded fields", async () => {
  await withServer(async (server) => {
    const result = await ferry(["--form", `${server.origin}/echo`, "a=1", "b=x y"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.seen[0].headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(new TextDecoder().decode(server.seen[0].body), "a=1&b=x+y");
  });
});

test("cli: piped stdin is the body; --ignore-stdin leaves it alone", async () => {
  await withServer(async (server) => {
    const piped = await ferry([`${server.origin}/echo`], { stdin: '{"from":"stdin"}' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(server.seen[0].method, "POST");
    assert.deepEqual(seenJson(server), { from: "stdin" });

    const ignored = await ferry(["--ignore-stdin", `${server.origin}/echo`], { stdin: "nope" });
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.equal(server.seen[1].method, "GET");
    assert.equal(server.seen[1].body.length, 0);
  });
});

test("cli: --raw, an empty header, a field read from a file, and -q", async () => {
  await withServer(async (server) => {
    const raw = await ferry(["--raw=plain text", `${server.origin}/echo`, "X-Empty;"]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(server.seen[0].method, "POST");
    assert.equal(new TextDecoder().decode(server.seen[0].body), "plain text");
    assert.equal(server.seen[0].headers["x-empty"], "");

    const dir = scratchDir("ferry-cli-");
    writeFileSync(join(dir, "note.txt"), "from a file\n");
    writeFileSync(join(dir, "doc.json"), '{"n": 1}');
    const fromFiles = await ferry([
      `${server.origin}/echo`,
      `note=@${join(dir, "note.txt")}`,
      `doc:=@${join(dir, "doc.json")}`,
    ]);
    assert.equal(fromFiles.code, 0, fromFiles.stderr);
    assert.deepEqual(seenJson(server, 1), { note: "from a file\n", doc: { n: 1 } });

    const quiet = await ferry(["-q", "--check-status", `${server.origin}/status/500`]);
    assert.equal(quiet.code, 5);
    assert.equal(quiet.stdout, "");
  });
});

test("cli: --all shows the redirect that led to the answer; --http2 is accepted", async () => {
  await withServer(async (server) => {
    const result = await ferry([
      "--all",
      "-F",
      "--print=Hh",
      "--http2",
      `${server.origin}/status/302`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const starts = result.stdout.split("\n").filter((line) => /^(GET|HTTP)/.test(line));
    assert.deepEqual(starts, [
      "GET /status/302 HTTP/1.1",
      "HTTP/1.1 302 Found",
      "GET /echo HTTP/1.1",
      "HTTP/1.1 200 OK",
    ]);
  });
});

test("cli: an invalid URL and an unreadable upload are one line each", async () => {
  const invalid = await ferry(["http://exa mple.com/"]);
  assert.equal(invalid.code, 64);
  assert.match(invalid.stderr, /^ferry: error: Invalid URL "http:\/\/exa mple\.com\/"\n/);
  const unsupported = await ferry(["ftp://127.0.0.1/"]);
  assert.equal(unsupported.code, 1);
  assert.match(
    unsupported.stderr,
    /^ferry: error: UnsupportedProtocol: .*'ftp:\/\/'.*\(GET ftp:\/\/127\.0\.0\.1\/\)\n$/,
  );
  await withServer(async (server) => {
    const missing = await ferry(["-f", `${server.origin}/echo`, "f@/nonexistent/file.txt"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.split("\n").length, 2, missing.stderr);
    assert.match(missing.stderr, /^ferry: error: \w+: .*nonexistent\/file\.txt/);
  });
});

test("cli: --print=hb shows the status line and headers before the body", async () => {
  await withServer(async (server) => {
    const result = await ferry(["--print=hb", `${server.origin}/status/404`]);
    assert.equal(result.code, 0, result.stderr);
    const [head, body] = result.stdout.split("\n\n");
    assert.match(head, /^HTTP\/1\.1 404 Not Found\n/);
    assert.match(head, /\nContent-Type: text\/plain\n/);
    assert.equal(body, "status 404\n");
  });
});

test("cli: --pretty=all colours and indents JSON, keeping big numbers exact", async () => {
  await withServer(async (server) => {
    const result = await ferry([
      "--pretty=all",
      `${server.origin}/echo`,
      "n:=12345678901234567890",
    ]);
    assert.equal(result.code, 0, result.stderr);
    // deno-lint-ignore no-control-regex
    assert.match(result.stdout, /\x1b\[\d+m"method"\x1b\[39m: \x1b\[32m"POST"\x1b\[39m/);
    const plain = await ferry([
      "--pretty=format",
      `${server.origin}/echo`,
      "n:=12345678901234567890",
    ]);
    assert.ok(!plain.stdout.includes("\x1b["));
    assert.match(plain.stdout, /^\{\n {4}"method": "POST",\n/);
    // The server echoes the body as text: the number went out as written.
    assert.match(plain.stdout, /\\"n\\":12345678901234567890/);
  });
});

test("cli: --offline prints the request and sends nothing", async () => {
  await withServer(async (server) => {
    const result = await ferry(["--offline", `${server.origin}/echo`, "a=1", "X-Y:z"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.seen.length, 0);
    assert.match(result.stdout, /^POST \/echo HTTP\/1\.1\nHost: 127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\nX-Y: z\n/);
    assert.match(result.stdout, /\nContent-Length: 9\n\n\{"a":"1"\}\n/);
  });
});

test("cli: --check-status exits 3, 4 and 5 as HTTPie; without it 0", async () => {
  await withServer(async (server) => {
    for (const [status, code] of [[301, 3], [404, 4], [503, 5], [200, 0]]) {
      const result = await ferry(["--check-status", `${server.origin}/status/${status}`]);
      assert.equal(result.code, code, `status ${status}: ${result.stderr}`);
      if (code !== 0) assert.match(result.stderr, new RegExp(`ferry: warning: HTTP ${status} `));
    }
    const plain = await ferry([`${server.origin}/status/503`]);
    assert.equal(plain.code, 0);
  });
});

test("cli: --follow follows redirects; a loop ends with exit 6", async () => {
  await withServer(async (server) => {
    const followed = await ferry(["--follow", `${server.origin}/status/302`]);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(JSON.parse(followed.stdout).url, "/echo");
    const loop = await ferry(["--follow", "--max-redirects=2", `${server.origin}/loop`]);
    assert.equal(loop.code, 6);
    assert.match(
      loop.stderr,
      /^ferry: error: TooManyRedirects: .*\(GET http:\/\/127\.0\.0\.1:\d+\/loop\)\n$/,
    );
    assert.equal(server.seen.length, 2 + 3);
  });
});

test("cli: a refused connection is exit 7 with the error's name and the request", async () => {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const result = await ferry([`http://127.0.0.1:${port}/x`]);
  assert.equal(result.code, 7);
  assert.match(
    result.stderr,
    new RegExp(`^ferry: error: ConnectError: .*\\(GET http://127\\.0\\.0\\.1:${port}/x\\)\\n$`),
  );
  assert.equal(result.stdout, "");
});

test("cli: a read timeout is exit 2", async () => {
  await withServer(async (server) => {
    const result = await ferry(["--timeout=0.3", `${server.origin}/never`]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^ferry: error: ReadTimeout: Read timed out after 300 ms/);
  });
});

test("cli: a malformed response is a protocol error, exit 8", async () => {
  const sockets = new Set<Socket>();
  const garbage = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => socket.end("HTTP/1.1 2OO OK\r\n\r\n"));
  });
  await new Promise<void>((resolve) => garbage.listen(0, "127.0.0.1", resolve));
  try {
    const port = (garbage.address() as { port: number }).port;
    const result = await ferry([`http://127.0.0.1:${port}/`]);
    assert.equal(result.code, 8);
    assert.match(result.stderr, /^ferry: error: RemoteProtocolError: /);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => garbage.close(() => resolve()));
  }
});

test("cli: usage errors are exit 64 with one line and a hint", async () => {
  for (
    const [args, message] of [
      [["--bogus", "x"], /^ferry: error: Unknown option "--bogus"\n/],
      [["x.org", "--timeout"], /^ferry: error: Option "--timeout" needs a value\n/],
      [[], /The URL is missing/],
      [["example.com", "nonsense"], /Invalid request item "nonsense"/],
      [["example.com", "n:={bad"], /Invalid JSON in "n:=\{bad"/],
      [["--pretty=loud", "example.com"], /Invalid --pretty "loud": expected all, colors/],
      [["example.com", "f@x.txt"], /File field "f@x.txt" needs --form/],
    ] as const
  ) {
    const result = await ferry([...args]);
    assert.equal(result.code, 64, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /see 'ferry --help'|Try 'ferry --help'/);
  }
});

test("cli: --version and --help", async () => {
  const { VERSION } = await import("../src/version.ts");
  const version = await ferry(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `${VERSION}\n`);
  const help = await ferry(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ferry: a command-line HTTP client/);
});
