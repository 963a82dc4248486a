/**
 * The README's WebSocket `upgrade()` example, run as written (its URL and import pointed at
 * a local `Deno.serve` WebSocket server and this checkout) against a real WebSocket upgrade.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "./_harness.ts";

/** The README's code block that contains `needle`. */
function readmeBlock(needle: string): string {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  const found = blocks.filter((block) => block.includes(needle));
  assert.equal(found.length, 1, `one README block with ${needle}`);
  return found[0];
}

/** `block` with `@ferry/ferry` imports read from this checkout (deno.json's exports). */
function local(block: string): string {
  const config = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
  return block.replace(/"@ferry\/ferry(\/[a-z0-9_]+)?"/g, (_, sub = "") => {
    const path = (config.exports as Record<string, string>)["." + sub];
    assert.ok(path, `deno.json exports .${sub}`);
    return JSON.stringify(new URL("../" + path.replace(/^\.\//, ""), import.meta.url).href);
  });
}

test("the README's WebSocket upgrade example works against Deno.serve's WebSocket server", {
  denoOnly: "Deno.serve and Deno.upgradeWebSocket",
}, async () => {
  const opened: string[] = [];
  let closed!: () => void;
  const socketClosed = new Promise<void>((resolve) => closed = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => {
      opened.push(new URL(request.url).pathname);
      socket.send("hi");
    };
    socket.onclose = () => closed();
    socket.onerror = () => {};
    return response;
  });
  const dir = mkdtempSync(join(tmpdir(), "ferry-readme-ws-"));
  const printed: unknown[][] = [];
  const log = console.log;
  try {
    const code = local(readmeBlock('connection.upgrade("GET", "/ws"')).replace(
      "http://127.0.0.1:8080/",
      `http://127.0.0.1:${server.addr.port}/`,
    );
    const file = join(dir, "example.ts");
    writeFileSync(file, code);
    console.log = (...args: unknown[]) => void printed.push(args);
    await import(pathToFileURL(file).href);
    console.log = log;
    assert.deepEqual(opened, ["/ws"]);
    assert.deepEqual(printed, [["opcode", 1, "length", 2]]); // the server's text frame "hi"
    await socketClosed; // the example's close() ends the WebSocket
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
    await server.shutdown();
  }
});
