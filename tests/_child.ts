/**
 * Runs a TypeScript snippet in a fresh Deno process, for tests that need a process of
 * their own (module state nobody registered, another time zone, whether it exits). Only
 * for tests marked `denoOnly`.
 */

import { spawn } from "node:child_process";

/** The exit code and everything the child printed (stdout and stderr). */
export interface ChildResult {
  code: number | null;
  output: string;
}

/** Runs `script` with `deno eval`, with `env` added to this process's environment. */
export async function runDenoScript(
  script: string,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  const child = spawn(deno.execPath(), ["eval", "--ext=ts", script], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...deno.env.toObject(), ...env },
  });
  let output = "";
  child.stdout!.on("data", (data) => output += data);
  child.stderr!.on("data", (data) => output += data);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}
