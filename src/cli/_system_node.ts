/**
 * The command's process under Node and Bun, through `node:*` (see `_system.ts`).
 *
 * @module
 */

import process from "node:process";
import { fstatSync, realpathSync } from "node:fs";
import { mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { concat, type Output, type ProcessSystem } from "./_system.ts";

function processOutput(stream: NodeJS.WriteStream): Output {
  return {
    get isTTY() {
      return Boolean(stream.isTTY);
    },
    get columns() {
      return stream.columns || 80;
    },
    write(data) {
      return new Promise((resolve, reject) => {
        stream.write(data, (error) => error ? reject(error) : resolve());
      });
    },
  };
}

/** Whether fd 0 holds data to read: a pipe, a socket or a file (not a terminal or a device). */
function stdinHasData(): boolean {
  if (process.stdin.isTTY) return false;
  try {
    const stats = fstatSync(0);
    return stats.isFIFO() || stats.isFile() || stats.isSocket();
  } catch {
    return false; // closed
  }
}

/** The running process, through `node:*`. */
export function processSystem(): ProcessSystem {
  return {
    args: process.argv.slice(2),
    setExitCode(code) {
      process.exitCode = code;
    },
    isProgram(url, main) {
      if (main !== undefined) return main;
      try {
        return process.argv[1] !== undefined &&
          pathToFileURL(realpathSync(process.argv[1])).href === url;
      } catch {
        return false;
      }
    },
    env: (name) => process.env[name],
    stdout: processOutput(process.stdout),
    stderr: processOutput(process.stderr),
    async readStdin() {
      if (!stdinHasData()) return null;
      const chunks: Uint8Array[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
      return concat(chunks);
    },
    home: () => homedir(),
    now: () => performance.now(),
    readFile: async (path) => new Uint8Array(await readFile(path)),
    async writeFileAtomic(path, data, mode) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, data, { mode });
      await rename(temporary, path);
    },
    async fileSize(path) {
      try {
        return (await stat(path)).size;
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return null;
        throw error;
      }
    },
    async openFile(path, mode) {
      const flags = mode === "append" ? "a" : mode === "create" ? "wx" : "w";
      const handle = await open(path, flags, 0o644);
      return {
        async write(data) {
          let offset = 0;
          while (offset < data.length) {
            const { bytesWritten } = await handle.write(data, offset, data.length - offset);
            offset += bytesWritten;
          }
        },
        close: () => handle.close(),
      };
    },
  };
}
