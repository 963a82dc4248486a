/**
 * `ferry`, the command-line client: `ferry [METHOD] URL [ITEM…] [options]`, in the spirit
 * of HTTPie, xh and httpx's CLI, built on Ferry's `Client`.
 *
 * ```sh
 * deno run -A jsr:@ferry/ferry/cli httpbin.org/post name=ferry seats:=12
 * npx ferry :8080/items X-Trace:1 page==2 --verbose
 * ```
 *
 * Run as a program, this module runs the command with the process's arguments and exits
 * with its code; imported, it offers {@linkcode main}. `--version` and `--help` answer
 * without loading the client.
 *
 * @module
 */

import { runWith } from "./main.ts";
import { processSystem } from "./_process.ts";

export { EXIT } from "./exit_codes.ts";

/**
 * Runs `ferry` with the given arguments (without the program name) and resolves to the
 * exit code: 0 on success; 1 other errors; 2 timeout; 3, 4, 5 for a 3xx, 4xx, 5xx under
 * `--check-status`; 6 too many redirects; 7 connection error; 8 protocol error; 64 usage
 * error. Output goes to the process's stdout and stderr.
 *
 * @example Run a request from a script
 * ```ts ignore
 * import { main } from "@ferry/ferry/cli";
 * const code = await main(["--check-status", "GET", "http://127.0.0.1:8080/health"]);
 * if (code !== 0) console.error("unhealthy");
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  return await runWith(args, await processSystem());
}

const meta = import.meta as { main?: boolean };
if (meta.main !== false) {
  // Deno and Bun know whether this module is the program; Node 20 is asked by path.
  const system = await processSystem();
  if (system.isProgram(import.meta.url, meta.main)) {
    system.setExitCode(await runWith(system.args, system));
  }
}
