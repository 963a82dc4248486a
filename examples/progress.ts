/**
 * Progress bars for a download and an upload, with `onDownloadProgress` and
 * `onUploadProgress`, against a local server.
 *
 * ```sh
 * deno task example:progress     # or: deno run -A examples/progress.ts
 * ```
 *
 * It starts a `node:http` server on 127.0.0.1 that sends 16 MiB in 256 KiB pieces (with a
 * short pause between them, so the bar has time to move) and counts what it is sent;
 * downloads it, then uploads 16 MiB to it, each with a bar on standard error; and closes
 * everything.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { Client, type Progress } from "../mod.ts";

const SIZE = 16 * 1024 * 1024;
const PIECE = 256 * 1024;

const server = createServer((request, response) => {
  if (request.method === "GET") {
    response.writeHead(200, { "Content-Length": String(SIZE) });
    const piece = new Uint8Array(PIECE).fill(42);
    let sent = 0;
    const next = (): void => {
      if (sent >= SIZE) return void response.end();
      sent += PIECE;
      response.write(piece, () => setTimeout(next, 5));
    };
    return next();
  }
  let received = 0;
  request.on("data", (chunk: Uint8Array) => received += chunk.length);
  request.on("end", () => response.end(`received ${received} bytes`));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** Draws `label [#####.....]  42%  7.0/16.0 MiB` on one line of standard error. */
function bar(label: string): (progress: Progress) => void {
  return ({ percent, transferredBytes, totalBytes }) => {
    const width = 30;
    const filled = Math.round(percent * width);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
      `${String(Math.floor(percent * 100)).padStart(3)}%  ` +
      `${mib(transferredBytes)}/${mib(totalBytes)} MiB`;
    process.stderr.write(`\r${line}${percent === 1 ? "\n" : ""}`);
  };
}

try {
  await using client = new Client({ baseUrl: origin, timeout: 30_000 });
  const download = await client.get("/file.bin", {
    onDownloadProgress: bar("download"),
    progressInterval: 50,
  });
  console.log(`downloaded ${download.content.length} bytes`);

  const upload = await client.post("/upload", {
    content: new Uint8Array(SIZE),
    onUploadProgress: bar("upload  "),
    progressInterval: 50,
  });
  console.log(await upload.text());
} finally {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
