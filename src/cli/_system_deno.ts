/**
 * The command's process under Deno, through Deno's own APIs (see `_system.ts`).
 *
 * @module
 */

import { concat, type Output, type ProcessSystem } from "./_system.ts";

const encoder = new TextEncoder();

async function writeAll(
  stream: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await stream.write(bytes.subarray(offset));
  }
}

function denoOutput(stream: typeof Deno.stdout | typeof Deno.stderr): Output {
  const isTTY = stream.isTerminal();
  return {
    isTTY,
    get columns() {
      if (!isTTY) return 80;
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
    write: (data) => writeAll(stream, typeof data === "string" ? encoder.encode(data) : data),
  };
}

/** Whether fd 0 holds data to read: a pipe, a socket or a file (not a terminal or a device). */
function stdinHasData(): boolean {
  if (Deno.stdin.isTerminal()) return false;
  try {
    const info = Deno.statSync("/dev/stdin");
    return info.isFile || info.isFifo === true || info.isSocket === true;
  } catch {
    return Deno.build.os === "windows"; // no /dev/stdin: a redirected stdin is read
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** The running process, through Deno's APIs. */
export function processSystem(): ProcessSystem {
  return {
    args: [...Deno.args],
    setExitCode(code) {
      Deno.exitCode = code;
    },
    isProgram: (_url, main) => main === true,
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env: not set
      }
    },
    stdout: denoOutput(Deno.stdout),
    stderr: denoOutput(Deno.stderr),
    async readStdin() {
      if (!stdinHasData()) return null;
      const chunks: Uint8Array[] = [];
      for await (const chunk of Deno.stdin.readable) chunks.push(chunk);
      return concat(chunks);
    },
    home: () => Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".",
    now: () => performance.now(),
    readFile: (path) => Deno.readFile(path),
    async writeFileAtomic(path, data, mode) {
      const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
      if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${Deno.pid}.tmp`;
      await Deno.writeTextFile(temporary, data, { mode });
      await Deno.chmod(temporary, mode).catch(() => {}); // the umask may have narrowed it
      await Deno.rename(temporary, path);
    },
    async fileSize(path) {
      try {
        return (await Deno.stat(path)).size;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async openFile(path, mode) {
      const file = await Deno.open(path, {
        write: true,
        append: mode === "append",
        create: mode !== "create",
        createNew: mode === "create",
        truncate: mode === "truncate",
        mode: 0o644,
      });
      return {
        write: (data) => writeAll(file, data),
        close: () => Promise.resolve(file.close()),
      };
    },
  };
}
