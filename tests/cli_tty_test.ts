// Terminal escape codes are what these tests check.
// deno-lint-ignore-file no-control-regex
/**
 * `ferry` in a real pseudo-terminal (tmux, a private server per test): what a person sees.
 * The screen tmux renders is checked, not the byte stream, so carriage returns and
 * erase-line escapes must leave exactly one clean progress line behind, and colours must be
 * there (or not, under NO_COLOR).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { peerTest } from "./_harness.ts";
import { ferryCommand, patternBytes, startCliServer } from "./_cli.ts";
import { findExecutable, scratchDir } from "./_peers/common.ts";

const TMUX = findExecutable("/usr/bin/tmux", "/bin/tmux", "/usr/local/bin/tmux");
const tmuxPeer = { pkg: "tmux", available: TMUX !== null };

function tmux(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(TMUX!, ["-L", socket, "-f", "/dev/null", ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`tmux ${args[0]} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `ferry args…` in a 120×40 tmux pane in `cwd` and returns the screen as tmux shows it
 * (`-e`: with colour escapes) once the command has printed its exit marker.
 */
async function onScreen(args: string[], cwd: string, env: string): Promise<string> {
  const socket = `ferry-cli-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const [program, argv] = ferryCommand(args);
  const command = `cd ${quote(cwd)} && env ${env} ${[program, ...argv].map(quote).join(" ")}; ` +
    `echo "[exit $?]"; sleep 600`;
  await tmux(socket, ["new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", command]);
  try {
    for (let attempt = 0; attempt < 300; attempt++) {
      const screen = await tmux(socket, ["capture-pane", "-p", "-e"]);
      if (/\[exit \d+\]/.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`ferry did not finish in tmux: ${await tmux(socket, ["capture-pane", "-p"])}`);
  } finally {
    await tmux(socket, ["kill-server"]).catch(() => {});
  }
}

const ESCAPES = /\x1b\[[0-9;]*m/g;

peerTest("cli in a terminal: colours by default, none under NO_COLOR", tmuxPeer, async () => {
  const server = await startCliServer();
  const dir = scratchDir("ferry-tty-");
  try {
    const coloured = await onScreen(
      [`${server.origin}/echo`],
      dir,
      "-u NO_COLOR TERM=xterm-256color",
    );
    assert.match(coloured, /\[exit 0\]/);
    // The status line and a JSON key carry colour escapes; the text reads as it should.
    const statusLine = coloured.split("\n").find((line) => line.includes("200 OK"))!;
    assert.match(statusLine, /\x1b\[[0-9;]*m/, JSON.stringify(statusLine));
    assert.equal(statusLine.replace(ESCAPES, "").trim(), "HTTP/1.1 200 OK");
    const key = coloured.split("\n").find((line) => line.includes('"method"'))!;
    assert.match(key, /\x1b\[[0-9;]*m/);
    assert.equal(key.replace(ESCAPES, ""), '    "method": "GET",');

    const plain = await onScreen([`${server.origin}/echo`], dir, "NO_COLOR=1 TERM=xterm-256color");
    assert.match(plain, /\[exit 0\]/);
    assert.match(plain, /^HTTP\/1\.1 200 OK$/m);
    assert.match(plain, /^ {4}"method": "GET",$/m);
    assert.doesNotMatch(plain, ESCAPES);
  } finally {
    await server.close();
  }
});

peerTest(
  "cli in a terminal: the progress bar leaves one clean line; the file is named by the server",
  tmuxPeer,
  async () => {
    const server = await startCliServer();
    const dir = scratchDir("ferry-tty-");
    try {
      const size = 2_000_000;
      const screen = await onScreen(
        ["-d", `${server.origin}/slow/${size}?name=report.bin`],
        dir,
        "NO_COLOR=1 TERM=xterm-256color",
      );
      const lines = screen.replace(ESCAPES, "").split("\n").map((line) => line.trimEnd());
      assert.ok(lines.includes("[exit 0]"), screen);
      // Headers first (on stderr, a terminal), then the bar, drawn over itself to its end.
      assert.equal(lines[0], "HTTP/1.1 200 OK");
      const bars = lines.filter((line) => line.includes("%"));
      assert.equal(bars.length, 1, screen);
      assert.match(
        bars[0],
        /^100% \[█{30}\] 1\.9 MiB \/ 1\.9 MiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA 0:00$/,
      );
      assert.match(
        lines[lines.indexOf(bars[0]) + 1],
        /^Done\. 1\.9 MiB in \d+:\d\d \([\d.]+ [KMG]?i?B\/s\)$/,
      );
      assert.ok(lines.includes('Saved to "report.bin"'), screen);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, "report.bin"))), patternBytes(size));

      // Again: the existing file is kept and the new one gets a suffix.
      const again = await onScreen(
        ["-d", `${server.origin}/bytes/10?name=report.bin`],
        dir,
        "NO_COLOR=1",
      );
      assert.match(again, /Saved to "report-1\.bin"/);
      assert.ok(existsSync(join(dir, "report-1.bin")));
      assert.equal(readFileSync(join(dir, "report.bin")).length, size);
    } finally {
      await server.close();
    }
  },
);
