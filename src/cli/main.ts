/**
 * The command from its arguments to its exit code, against a {@linkcode System} (the real
 * process, or fake terminals in tests). Arguments are parsed here; `--help` and
 * `--version` answer at once, and only a request loads the client (`run.ts`), so they
 * start fast.
 *
 * @module
 */

import { parseCli } from "./args.ts";
import { EXIT, UsageError } from "./exit_codes.ts";
import type { System } from "./_system.ts";

/** Runs `ferry` with `args` against `system`; resolves to the exit code. */
export async function runWith(args: readonly string[], system: System): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await system.stderr.write(
      `ferry: error: ${error.message}\nUsage: ferry [METHOD] URL [ITEM...] [options]; ` +
        `see 'ferry --help'\n`,
    );
    return EXIT.USAGE;
  }
  if (parsed.action === "help") {
    const { HELP } = await import("./args.ts");
    await system.stdout.write(HELP);
    return EXIT.OK;
  }
  if (parsed.action === "version") {
    const { VERSION } = await import("../version.ts");
    await system.stdout.write(`${VERSION}\n`);
    return EXIT.OK;
  }
  const { run } = await import("./run.ts");
  return await run(parsed, system);
}
