/**
 * Ferry's main job in one runnable file: a Client talking to a small local server.
 *
 * ```sh
 * deno task demo          # or: deno run -A examples/demo.ts
 * ```
 *
 * It starts a tiny `node:http` server on 127.0.0.1 (so the same file runs under Node),
 * sends a few requests with the Client (query params, a JSON post, a streamed response,
 * a redirect, a 404), prints what came back, then runs the `ferry` command against the
 * same server (a GET with a query item, a verbose JSON POST with its timing waterfall, a
 * download with its progress bar), and closes everything.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, HTTPStatusError } from "../mod.ts";
import { main as ferry } from "../src/cli/mod.ts";

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://demo");
  let body = "";
  request.on("data", (chunk) => body += chunk);
  request.on("end", () => {
    if (url.pathname === "/hello") {
      response.setHeader("Content-Type", "application/json");
      response.end(
        JSON.stringify({
          hello: url.searchParams.get("name"),
          agent: request.headers["user-agent"],
        }),
      );
    } else if (url.pathname === "/items" && request.method === "POST") {
      response.statusCode = 201;
      response.setHeader("Content-Type", "application/json");
      response.end(JSON.stringify({ created: JSON.parse(body) }));
    } else if (url.pathname === "/ticks") {
      let tick = 0;
      const timer = setInterval(() => {
        response.write(`tick ${++tick}\n`);
        if (tick === 3) {
          clearInterval(timer);
          response.end();
        }
      }, 20);
    } else if (url.pathname === "/big.bin") {
      const big = new Uint8Array(4 * 1024 * 1024).fill(42);
      response.writeHead(200, { "Content-Length": big.length }).end(big);
    } else if (url.pathname === "/old") {
      response.writeHead(301, { Location: "/hello?name=redirected" }).end();
    } else {
      response.writeHead(404).end("no such page");
    }
  });
}

const server = createServer(handle);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

try {
  await using client = new Client({ baseUrl: `http://127.0.0.1:${port}`, timeout: 2000 });

  const hello = await client.get("/hello", { params: { name: "ferry" } });
  console.log(String(hello), hello.url?.href);
  console.log("  json:", await hello.json());

  const created = await client.post("/items", { json: { name: "boat", seats: 12 } });
  console.log(String(created), await created.json());

  await using ticks = await client.stream("GET", "/ticks");
  for await (const line of ticks.iterLines()) console.log("  streamed:", line);

  const moved = await client.get("/old", { followRedirects: true });
  console.log(String(moved), "after", moved.history.map(String).join(", "), await moved.json());

  const missing = await client.get("/missing");
  try {
    missing.raiseForStatus();
  } catch (error) {
    if (error instanceof HTTPStatusError) {
      console.log(String(missing), error.message.split("\n")[0]);
    }
  }
  // The same server from the command line (output goes to stdout as a terminal would get
  // it when piped: plain; run `deno task ferry …` yourself for colours).
  const dir = mkdtempSync(join(tmpdir(), "ferry-demo-"));
  try {
    for (
      const args of [
        [`:${port}/hello`, "name==ferry"],
        ["-v", `:${port}/items`, "name=boat", "seats:=12"],
        ["-d", "--progress=always", "-o", join(dir, "big.bin"), `:${port}/big.bin`],
      ]
    ) {
      console.log(`\n$ ferry ${args.join(" ").replace(dir, "$TMP")}`);
      const code = await ferry([...args, "--ignore-stdin"]);
      if (code !== 0) throw new Error(`ferry exited with ${code}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  server.close();
  server.closeAllConnections?.();
}
