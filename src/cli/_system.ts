/**
 * The command's access to its process: arguments, environment, the three standard streams
 * and files. Everything else in the command takes a {@linkcode System}, so tests can drive
 * it with fake terminals. The implementations are the only files of `src/cli/` that touch
 * the runtime: `_system_deno.ts` (Deno's own APIs: loading Deno's `node:fs` and
 * `node:process` would cost about 0.15 s of start-up) and `_system_node.ts` (`node:*`, for
 * Node and Bun), one of them loaded on demand by `_process.ts`.
 *
 * @module
 */

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

/** The running process: a {@linkcode System} that also knows its arguments and exit code. */
export interface ProcessSystem extends System {
  /** The arguments after the program's name. */
  readonly args: string[];
  /** Sets the code the process exits with once its output is flushed. */
  setExitCode(code: number): void;
  /**
   * Whether the module at `url` is the program being run: Deno and Bun say so in
   * `import.meta.main` (passed as `main`); Node 20 is asked by its entry script's path.
   */
  isProgram(url: string, main: boolean | undefined): boolean;
}

/** Concatenates byte chunks. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
