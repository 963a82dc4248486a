/**
 * File access on `node:fs` (Node and Bun), loaded on demand by
 * `ensureFileAccess()` outside Deno.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { FileAccess } from "./types.ts";

/** The client's file access on `node:fs` (multipart files by path, `.netrc`, CA bundles). */
export const nodeFileAccess: FileAccess = {
  readTextFile: (path) => readFile(path, "utf8"),
  openFile: async (path) => {
    const { size } = await stat(path);
    const stream = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    return { size, stream };
  },
  listDir: (path) => readdir(path),
};
