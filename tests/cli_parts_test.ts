// Terminal escape codes are what these tests check.
// deno-lint-ignore-file no-control-regex
/**
 * The `ferry` command's parts, in process: request items, the command line, JSON
 * formatting, the waterfall, the progress bar and download file names; and the command run
 * against fake terminals (what a TTY gets that a pipe does not).
 */

import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { jsonBody, parseItem, requestParts } from "../src/cli/items.ts";
import { completeUrl, HELP, parseCli, parsePrint } from "../src/cli/args.ts";
import { formatJson } from "../src/cli/output.ts";
import { COLOURED, PLAIN } from "../src/cli/ansi.ts";
import { drawWaterfall, TraceRecorder } from "../src/cli/waterfall.ts";
import { formatBytes, formatDuration, Progress } from "../src/cli/progress.ts";
import { suggestFilename } from "../src/cli/download.ts";
import { sessionPath } from "../src/cli/session.ts";
import { runWith } from "../src/cli/main.ts";
import { UsageError } from "../src/cli/exit_codes.ts";
import type { Output, System } from "../src/cli/_system.ts";
import { Response } from "../mod.ts";
import { startCliServer } from "./_cli.ts";

test("cli items: every separator, the leftmost and longest first", () => {
  assert.deepEqual(parseItem("X-Api:  k1 "), { kind: "header", name: "X-Api", value: "k1" });
  assert.deepEqual(parseItem("User-Agent:"), { kind: "header", name: "User-Agent", value: null });
  assert.deepEqual(parseItem("X-Empty;"), { kind: "header", name: "X-Empty", value: "" });
  assert.deepEqual(parseItem("q==a=b"), { kind: "query", name: "q", value: "a=b" });
  assert.deepEqual(parseItem("url=http://x/y"), { kind: "data", name: "url", value: "http://x/y" });
  assert.deepEqual(parseItem("n:=[1, 2]"), { kind: "json", name: "n", value: "[1, 2]" });
  assert.deepEqual(parseItem("cv@a.pdf;type=application/pdf"), {
    kind: "file",
    name: "cv",
    path: "a.pdf",
    contentType: "application/pdf",
  });
  assert.deepEqual(parseItem("text=@notes.txt"), {
    kind: "dataFile",
    name: "text",
    path: "notes.txt",
  });
  assert.deepEqual(parseItem("doc:=@doc.json"), {
    kind: "jsonFile",
    name: "doc",
    path: "doc.json",
  });
  assert.deepEqual(parseItem("email=a@b.c"), { kind: "data", name: "email", value: "a@b.c" });
  // Backslashes make separators literal.
  assert.deepEqual(parseItem("a\\:b=c\\=d"), { kind: "data", name: "a:b", value: "c=d" });
  // `;` only ends a header name at the very end.
  assert.deepEqual(parseItem("a;b=c"), { kind: "data", name: "a;b", value: "c" });
});

test("cli items: mistakes are usage errors that quote the item", () => {
  assert.throws(() => parseItem("plain"), /Invalid request item "plain"/);
  assert.throws(() => parseItem("=value"), /Invalid request item "=value": the name is empty/);
  assert.throws(() => parseItem("bad name:v"), /Invalid header name "bad name"/);
  assert.throws(() => parseItem("n:={"), (error) => error instanceof UsageError);
  assert.throws(() => parseItem("f@"), /the path is empty/);
});

test("cli items: JSON fields keep raw values exactly; forms refuse raw JSON and need --form for files", async () => {
  const items = ["a=1", "big:=12345678901234567890", "a=2", "h:v", "q==1"].map(parseItem);
  const parts = await requestParts(items, "json", () => Promise.reject(new Error("no files")));
  assert.equal(jsonBody(parts.json!), '{"big":12345678901234567890,"a":"2"}');
  assert.deepEqual(parts.headers, [["h", "v"]]);
  assert.deepEqual(parts.params, [["q", "1"]]);
  await assert.rejects(
    requestParts([parseItem("n:=1")], "form", () => Promise.resolve("")),
    /Raw JSON field "n" cannot be sent in a form/,
  );
  await assert.rejects(
    requestParts([parseItem("f@x")], "json", () => Promise.resolve("")),
    /File field "f@x" needs --form/,
  );
  await assert.rejects(
    requestParts([parseItem("t=@missing.txt")], "json", () => {
      throw Object.assign(new Error("nope"), { code: "ENOENT" });
    }),
    /Cannot read "missing.txt": ENOENT/,
  );
  const fromFile = await requestParts(
    [parseItem("t=@x"), parseItem("j:=@y")],
    "json",
    (path) => Promise.resolve(path === "x" ? "text\n" : '{"k": [1]}'),
  );
  assert.equal(jsonBody(fromFile.json!), '{"t":"text\\n","j":{"k": [1]}}');
});

test("cli args: URLs are completed as HTTPie does", () => {
  assert.equal(completeUrl(":8080/path"), "http://localhost:8080/path");
  assert.equal(completeUrl(":/x"), "http://localhost/x");
  assert.equal(completeUrl(":"), "http://localhost/");
  assert.equal(completeUrl("example.com/a"), "http://example.com/a");
  assert.equal(completeUrl("https://example.com"), "https://example.com");
});

test("cli args: the method is a usual name in any case or an upper-case word", () => {
  assert.equal(parseCli(["get", "x.org"]).method, "GET");
  assert.equal(parseCli(["PURGE", "x.org"]).method, "PURGE");
  assert.equal(parseCli(["x.org"]).method, null);
  const local = parseCli(["localhost", "a=1"]);
  assert.equal(local.method, null);
  assert.equal(local.url, "http://localhost");
  assert.equal(local.items.length, 1);
});

test("cli args: options map to settings; mistakes name the option and value", () => {
  const args = parseCli([
    "x.org",
    "--timeout=2.5",
    "--auth=ana:p:w",
    "-A",
    "digest",
    "--verify=/ca.pem",
    "-F",
    "--max-redirects=3",
  ]);
  assert.equal(args.timeout, 2500);
  assert.deepEqual(args.auth, { username: "ana", password: "p:w" });
  assert.equal(args.authType, "digest");
  assert.equal(args.verify, "/ca.pem");
  assert.equal(args.follow, true);
  assert.equal(args.maxRedirects, 3);
  assert.equal(parseCli(["x.org", "--timeout=0"]).timeout, null);
  assert.equal(parseCli(["x.org", "--no-verify"]).verify, false);
  assert.equal(parseCli(["x.org", "--verify=no"]).verify, false);
  assert.deepEqual(parseCli(["x.org", "-v"]).print, parsePrint("HBhbm"));
  assert.equal(parseCli(["-d", "x.org"]).checkStatus, true);
  assert.throws(() => parseCli(["x.org", "--timeout=soon"]), /Invalid --timeout "soon"/);
  assert.throws(
    () => parseCli(["x.org", "--auth=ana"]),
    /Invalid --auth "ana": expected USER:PASSWORD/,
  );
  assert.throws(() => parseCli(["x.org", "--print=hz"]), /Invalid --print "hz"/);
  assert.throws(() => parseCli(["x.org", "-A", "ntlm"]), /Invalid --auth-type "ntlm"/);
  assert.throws(() => parseCli(["x.org", "-j", "-f"]), /--json and --form cannot be combined/);
  assert.throws(() => parseCli(["-d", "-c", "x.org"]), /--continue needs --output FILE/);
  assert.throws(() => parseCli(["x.org", "--raw=x", "a=1"]), /--raw cannot be combined/);
  assert.throws(() => parseCli(["x.org", "--max-redirects=-1"]), /Invalid --max-redirects "-1"/);
});

test("cli args: --help names every option", () => {
  const source = parseCli.toString();
  void source;
  const options = [
    "json",
    "form",
    "raw",
    "print",
    "headers",
    "body",
    "verbose",
    "all",
    "quiet",
    "pretty",
    "download",
    "output",
    "continue",
    "progress",
    "timeout",
    "follow",
    "max-redirects",
    "auth",
    "auth-type",
    "proxy",
    "verify",
    "no-verify",
    "cert",
    "cert-key",
    "http2",
    "check-status",
    "offline",
    "session",
    "session-read-only",
    "ignore-stdin",
    "version",
    "help",
  ];
  for (const option of options) assert.ok(HELP.includes(`--${option}`), `--${option}`);
  // Every option the parser knows is in that list (an unknown one is a usage error).
  for (const option of options.filter((o) => !["help", "version"].includes(o))) {
    assert.doesNotThrow(() => {
      try {
        parseCli(["x.org", `--${option}`]);
      } catch (error) {
        if (/Unknown option/.test((error as Error).message)) throw error;
      }
    }, `--${option}`);
  }
  assert.ok(HELP.split("\n").length <= 60, "short: at most 60 lines");
});

test("cli output: JSON is re-indented token by token, big numbers and key order intact", () => {
  const text = '{"b":12345678901234567890,"a":[1,{"x":null}],"e":{},"s":"q\\"{"}';
  assert.equal(
    formatJson(text, PLAIN, 2),
    '{\n  "b": 12345678901234567890,\n  "a": [\n    1,\n    {\n      "x": null\n    }\n  ],\n' +
      '  "e": {},\n  "s": "q\\"{"\n}',
  );
  assert.equal(formatJson("{nope", PLAIN, 2), null);
  assert.equal(formatJson('{"k":1}', COLOURED, null), '{\x1b[34m"k"\x1b[39m:\x1b[33m1\x1b[39m}');
});

test("cli waterfall: steps from trace events on one axis, with the setup before them", () => {
  let clock = 0;
  const recorder = new TraceRecorder(() => clock);
  recorder.start();
  const at = (ms: number, event: string) => {
    clock = ms;
    recorder.trace(event, {});
  };
  at(10, "connection.connect_tcp.started");
  at(20, "connection.connect_tcp.complete");
  at(20, "http11.send_request_headers.started");
  at(20, "http11.send_request_headers.complete");
  at(20, "http11.receive_response_headers.started");
  at(60, "http11.receive_response_headers.complete");
  at(60, "http11.receive_response_body.started");
  at(80, "http11.receive_response_body.complete");
  at(80, "http11.response_closed.started");
  at(80, "http11.response_closed.complete");
  const drawn = drawWaterfall(recorder.steps, recorder.total(), PLAIN, 60);
  const lines = drawn.split("\n");
  assert.deepEqual(lines.map((line) => line.split(/\s{2,}/)[0]), [
    "setup",
    "connect",
    "send headers",
    "first byte",
    "body",
    "total",
  ]);
  assert.match(lines[1], /^connect\s+10\.0 ms/);
  assert.match(lines[5], /^total\s+80\.0 ms$/);
  // Bars sit on a common axis: first byte starts where connect ends and spans half of it.
  const bar = (line: string) => /[#|]+$/.exec(line)!;
  const connect = bar(lines[1]);
  const firstByte = bar(lines[3]);
  assert.equal(firstByte.index, connect.index + connect[0].length);
  assert.ok(Math.abs(firstByte[0].length - 2 * bar(lines[4])[0].length) <= 1, drawn);
  assert.match(
    drawWaterfall([{ name: "connection.connect_tcp", start: 0, end: 5, failed: true }], 5, PLAIN),
    /5\.00 ms ✗/,
  );
});

test("cli progress: bar, bytes, rate and ETA; spinner when the length is unknown", async () => {
  const written: string[] = [];
  const out: Output = {
    isTTY: true,
    columns: 100,
    write: (data) => (written.push(String(data)), Promise.resolve()),
  };
  let clock = 0;
  const known = new Progress(out, { palette: PLAIN, now: () => clock, total: 4 * 1024 * 1024 });
  clock = 1000;
  await known.advance(1024 * 1024);
  assert.match(
    written[0],
    /^\r 25% \[█{8} {22}\] 1\.0 MiB \/ 4\.0 MiB {2}1\.0 MiB\/s {2}ETA 0:03\x1b\[K$/,
  );
  clock = 1050;
  await known.advance(1); // too soon to redraw
  assert.equal(written.length, 1);
  clock = 2000;
  await known.finish();
  assert.match(
    written[1],
    /100% .*\n Done\. 1\.0 MiB in 0:02 \(512\.0 KiB\/s\)\n$|Done\. 1\.0 MiB in 0:02/,
  );
  const unknown = new Progress(out, { palette: PLAIN, now: () => clock, total: null });
  clock = 3000;
  await unknown.advance(2048);
  assert.match(written[2], /^\r⠋ 2\.0 KiB {2}2\.0 KiB\/s\x1b\[K$/);
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatDuration(3723), "1:02:03");
});

test("cli download: file names from Content-Disposition or the URL, never a path", () => {
  const named = (headers: Record<string, string>, url = "http://x/dir/file.bin?q=1") => {
    const response = new Response(200, { headers });
    response.request = { url: new URL(url) } as unknown as Response["request"];
    return suggestFilename(response);
  };
  assert.equal(named({ "Content-Disposition": 'attachment; filename="report.pdf"' }), "report.pdf");
  assert.equal(
    named({ "Content-Disposition": "attachment; filename*=UTF-8''na%C3%AFve.txt" }),
    "naïve.txt",
  );
  assert.equal(
    named({ "Content-Disposition": 'attachment; filename="../../etc/passwd"' }),
    "passwd",
  );
  assert.equal(named({ "Content-Disposition": 'attachment; filename=".bashrc"' }), "bashrc");
  assert.equal(named({}), "file.bin");
  assert.equal(named({}, "http://x/"), "index");
});

function fakeSystem(options: { tty: boolean; env?: Record<string, string> }) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output = (sink: string[]): Output => ({
    isTTY: options.tty,
    columns: 80,
    write: (data) => {
      sink.push(typeof data === "string" ? data : new TextDecoder().decode(data));
      return Promise.resolve();
    },
  });
  const system: System = {
    env: (name) => options.env?.[name],
    stdout: output(stdout),
    stderr: output(stderr),
    readStdin: () => Promise.resolve(null),
    home: () => "/home/nobody",
    now: () => performance.now(),
    readFile: () => Promise.reject(new Error("no files here")),
    writeFileAtomic: () => Promise.reject(new Error("no files here")),
    fileSize: () => Promise.resolve(null),
    openFile: () => Promise.reject(new Error("no files here")),
  };
  return { system, stdout, stderr };
}

test("cli session: a name lives under XDG_CONFIG_HOME per host and port; a path is a path", () => {
  const { system } = fakeSystem({ tty: false, env: { XDG_CONFIG_HOME: "/cfg" } });
  assert.equal(
    sessionPath("dev", new URL("http://127.0.0.1:8080/x"), system),
    "/cfg/ferry/sessions/127.0.0.1_8080/dev.json",
  );
  assert.equal(sessionPath("./s.json", new URL("https://a.b/"), system), "./s.json");
  const home = fakeSystem({ tty: false }).system;
  assert.equal(
    sessionPath("dev", new URL("https://a.b/"), home),
    "/home/nobody/.config/ferry/sessions/a.b_443/dev.json",
  );
  assert.throws(
    () => sessionPath("a b", new URL("https://a.b/"), home),
    /Invalid session name "a b"/,
  );
});

test("cli on a terminal: head and coloured JSON by default; NO_COLOR turns colours off unless --pretty asks", async () => {
  const server = await startCliServer();
  try {
    const tty = fakeSystem({ tty: true });
    assert.equal(await runWith([`${server.origin}/echo`], tty.system), 0);
    const text = tty.stdout.join("");
    assert.match(text, /^\x1b\[34mHTTP\/1\.1\x1b\[39m \x1b\[32m200 OK\x1b\[39m\n/);
    assert.match(text, /\n\{\n {4}\x1b\[34m"method"\x1b\[39m: \x1b\[32m"GET"\x1b\[39m,\n/);

    const noColor = fakeSystem({ tty: true, env: { NO_COLOR: "1" } });
    assert.equal(await runWith([`${server.origin}/echo`], noColor.system), 0);
    const plain = noColor.stdout.join("");
    assert.ok(!plain.includes("\x1b["), plain);
    assert.match(plain, /^HTTP\/1\.1 200 OK\n[\s\S]*\n\{\n {4}"method": "GET",\n/);

    // An explicit --pretty wins over NO_COLOR.
    const forced = fakeSystem({ tty: true, env: { NO_COLOR: "1" } });
    await runWith([`${server.origin}/echo`, "--pretty=colors"], forced.system);
    assert.ok(forced.stdout.join("").includes("\x1b[32m"));
  } finally {
    await server.close();
  }
});

test("cli on a terminal: binary bodies are not dumped", async () => {
  const server = await startCliServer();
  try {
    const tty = fakeSystem({ tty: true });
    assert.equal(await runWith([`${server.origin}/bytes/300`], tty.system), 0);
    const text = tty.stdout.join("");
    assert.match(text, /NOTE: binary data not shown in terminal/);
    assert.ok(!text.includes("\x00"));
  } finally {
    await server.close();
  }
});
