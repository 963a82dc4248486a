/**
 * File access on Deno's own file API, loaded on demand by `ensureFileAccess()`
 * under Deno. Needs `--allow-read` for the paths read.
 *
 * @module
 */

import type { FileAccess } from "./types.ts";

/** The client's file access on Deno's file API (multipart files by path, `.netrc`, CA bundles). */
export const denoFileAccess: FileAccess = {
  readTextFile: (path) => Deno.readTextFile(path),
  openFile: async (path) => {
    const file = await Deno.open(path);
    try {
      const { size } = await file.stat();
      return { size, stream: file.readable };
    } catch (error) {
      file.close();
      throw error;
    }
  },
  listDir: async (path) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
    return names;
  },
};
