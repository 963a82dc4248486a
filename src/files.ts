/**
 * The client's access to files and environment variables, kept behind a small hook so that
 * the client stays runtime-neutral (`Deno.*` and `node:*` live in the network backends).
 *
 * Files are needed for `files: { upload: File("report.xls") }` (streamed, never loaded
 * whole), `NetRCAuth` (`~/.netrc` or `NETRC`), and CA bundles given as paths (`verify`,
 * `SSL_CERT_FILE`). A runtime's backend registers its access with
 * {@linkcode setFileAccess}; a program may register its own (or pass streams, `Blob`s and
 * PEM text directly, which need no file access at all).
 *
 * Environment variables are read through the `process.env` global, which Deno 2, Node and
 * Bun all provide; a missing permission reads as "not set".
 *
 * @module
 */

/** An opened file: its size when known, and its bytes as a stream. */
export interface OpenedFile {
  /** The size in bytes, or `null` when the runtime cannot tell. */
  size: number | null;
  /** The file's bytes; reading them to the end (or cancelling) closes the file. */
  stream: ReadableStream<Uint8Array>;
}

/** Reads files for the client. */
export interface FileAccess {
  /** Reads a whole text file (UTF-8). */
  readTextFile(path: string): Promise<string>;
  /** Opens a file for streaming. */
  openFile(path: string): Promise<OpenedFile>;
  /** The names in a directory (for `SSL_CERT_DIR`); optional. */
  listDir?(path: string): Promise<string[]>;
}

let registered: FileAccess | null = null;

/**
 * Registers how the client reads files (`null` removes it). Nobody has to: when nothing is
 * registered, the runtime's backend provides its own on first use (Deno's file API under
 * Deno, node:fs under Node and Bun). Register your own to sandbox, mock or redirect file
 * reads, as in these examples.
 *
 * @example Read files through Deno's own API
 * ```ts ignore
 * import { setFileAccess } from "@ferry/ferry";
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
 * import { setFileAccess } from "@ferry/ferry";
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

/** Whether some file access is registered. */
export function hasFileAccess(): boolean {
  return registered !== null;
}

/**
 * Makes sure file access is registered where the runtime's backend provides one: Deno's
 * file API from the Deno backend, node:fs from the Node backend (Node and Bun). The
 * backends are otherwise loaded only at the first connection, too late for a file read
 * before it. Resolves to whether file access is now registered.
 */
export async function ensureFileAccess(): Promise<boolean> {
  if (registered !== null) return true;
  // deno-lint-ignore no-explicit-any
  const access = (globalThis as any).Deno?.version?.deno
    ? await import("./network/deno.ts").then((module) => module.denoFileAccess, () => null)
    : await import("./network/node.ts").then((module) => module.nodeFileAccess, () => null);
  if (registered === null && access !== null) registered = access;
  return registered !== null;
}

/** An environment variable, or `undefined` when it is not set or cannot be read. */
export function getEnv(name: string): string | undefined {
  try {
    // deno-lint-ignore no-explicit-any
    const value = (globalThis as any).process?.env?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
