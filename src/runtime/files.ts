/**
 * The client's access to files, kept behind a small hook so that the client stays
 * runtime-neutral: the runtime's own implementation (`files_deno.ts`, `files_node.ts`) is
 * loaded on first use, nothing registers itself as a side effect of being imported.
 *
 * Files are needed for `files: { upload: File("report.xls") }` (streamed, never loaded
 * whole), `NetRCAuth` (`~/.netrc` or `NETRC`), and CA bundles given as paths (`verify`,
 * `SSL_CERT_FILE`). A program may register its own access with {@linkcode setFileAccess}
 * (or pass streams, `Blob`s and PEM text directly, which need no file access at all).
 *
 * @module
 */

import { runtimeName } from "./detect.ts";
import type { FileAccess } from "./types.ts";

export type { FileAccess, OpenedFile } from "./types.ts";

let registered: FileAccess | null = null;

/**
 * Registers how the client reads files (`null` removes it). Nobody has to: when nothing is
 * registered, the runtime's own is loaded on first use (Deno's file API under
 * Deno, node:fs under Node and Bun). Register your own to sandbox, mock or redirect file
 * reads, as in these examples.
 *
 * @example Read files through Deno's own API
 * ```ts ignore
 * import { setFileAccess } from "@ferry/ferry/advanced";
 * setFileAccess({
 *   readTextFile: (path) => Deno.readTextFile(path),
 *   openFile: async (path) => {
 *     const file = await Deno.open(path);
 *     return { size: (await file.stat()).size, stream: file.readable };
 *   },
 *   listDir: async (path) => (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name),
 * });
 * ```
 *
 * @example Read files through node:fs
 * ```ts ignore
 * import { setFileAccess } from "@ferry/ferry/advanced";
 * import { createReadStream } from "node:fs";
 * import { readFile, stat } from "node:fs/promises";
 * import { Readable } from "node:stream";
 * setFileAccess({
 *   readTextFile: (path) => readFile(path, "utf8"),
 *   openFile: async (path) => ({
 *     size: (await stat(path)).size,
 *     stream: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
 *   }),
 * });
 * ```
 */
export function setFileAccess(access: FileAccess | null): void {
  registered = access;
}

/** The registered file access; throws a `TypeError` naming the path when there is none. */
export function fileAccess(path: string): FileAccess {
  if (registered === null) {
    throw new TypeError(
      `Cannot read file ${
        JSON.stringify(path)
      }: no file access is registered (call setFileAccess, or pass the content instead of a path)`,
    );
  }
  return registered;
}

/**
 * Makes sure file access is registered: unless a program registered its own, the
 * runtime's is loaded (Deno's file API under Deno, node:fs under Node and Bun). Resolves to
 * whether file access is now registered.
 */
export async function ensureFileAccess(): Promise<boolean> {
  if (registered !== null) return true;
  const access = runtimeName() === "deno"
    ? await import("./files_deno.ts").then((module) => module.denoFileAccess, () => null)
    : await import("./files_node.ts").then((module) => module.nodeFileAccess, () => null);
  if (registered === null && access !== null) registered = access;
  return registered !== null;
}
