/**
 * The command's access to its process: arguments, environment, the three standard streams
 * and files. The one place in `src/cli/` that touches the runtime, through `node:*` modules,
 * which Deno, Node and Bun all provide. Everything else in the command takes a
 * {@linkcode System}, so tests can drive it with fake terminals.
 *
 * @module
 */

import process from "node:process";
import { fstatSync, realpathSync } from "node:fs";
import { mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";

/** An output stream: stdout, stderr or a file. */
export interface Output {
  /** Whether a person is looking at it (a terminal). */
  readonly isTTY: boolean;
  /** Its width in columns (80 when unknown). */
  readonly columns: number;
  /** Writes and resolves once the bytes were handed over (backpressure). */
  write(data: string | Uint8Array): Promise<void>;
}

/** A file opened for writing a download. */
export interface WritableFile {
  /** Appends bytes. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the file. */
  close(): Promise<void>;
}

/** What the command needs from its process. */
export interface System {
  /** An environment variable, or `undefined`. */
  env(name: string): string | undefined;
  /** Standard output. */
  stdout: Output;
  /** Standard error: messages, downloads' headers and the progress bar. */
  stderr: Output;
  /**
   * Standard input's bytes when it was redirected from a pipe or a file, or `null` when it
   * is a terminal, `/dev/null` or closed (nothing to send).
   */
  readStdin(): Promise<Uint8Array | null>;
  /** The user's home directory. */
  home(): string;
  /** Milliseconds from an arbitrary origin (a monotonic clock). */
  now(): number;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole file atomically (a temporary file renamed into place), creating its folder. */
  writeFileAtomic(path: string, data: string, mode: number): Promise<void>;
  /** A file's size, or `null` when it does not exist. */
  fileSize(path: string): Promise<number | null>;
  /** Opens a file for writing (`"append"` keeps what is there). */
  openFile(path: string, mode: "create" | "append" | "truncate"): Promise<WritableFile>;
}

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

function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The running process. */
export function processSystem(): System {
  return {
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

/** The process's arguments after the program's name. */
export function processArgs(): string[] {
  return process.argv.slice(2);
}

/** Sets the code the process exits with once its output is flushed. */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

/**
 * Whether the module at `url` is the program being run: Deno and Bun say so in
 * `import.meta.main` (passed as `main`); Node 20 is asked by the path of its entry script.
 */
export function isProgram(url: string, main: boolean | undefined): boolean {
  if (main !== undefined) return main;
  try {
    return process.argv[1] !== undefined &&
      pathToFileURL(realpathSync(process.argv[1])).href === url;
  } catch {
    return false;
  }
}
