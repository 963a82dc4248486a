/**
 * Registers file access on node:fs for tests (the backends may register their own; this
 * makes the tests independent of that).
 */

import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { setFileAccess } from "../src/advanced/mod.ts";

/** Registers node:fs-based file access for the client. */
export function useNodeFileAccess(): void {
  setFileAccess({
    readTextFile: (path) => readFile(path, "utf8"),
    openFile: async (path) => ({
      size: (await stat(path)).size,
      stream: Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>,
    }),
    listDir: (path) => readdir(path),
  });
}
