/**
 * Runs a snippet in a fresh process, for tests that need a process of their own (module
 * state nobody registered, another time zone, whether it exits, the environment a runtime
 * reads at start, Deno's permissions). {@linkcode runDenoScript} only for tests marked
 * `denoOnly`; {@linkcode runScript} under every runtime.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/** The URL of Ferry's root module as this runtime runs it (`mod.ts`, or `mod.js` built). */
export const modUrl: string = new URL(
  // deno-lint-ignore no-explicit-any
  (globalThis as any).Deno ? "../mod.ts" : "../mod.js",
  import.meta.url,
).href;

/** Options of {@linkcode runScript}. */
export interface ScriptOptions {
  /** The child's whole environment besides `PATH`, `HOME` and `DENO_DIR` (nothing else is inherited). */
  env?: Record<string, string>;
  /** Deno's permission flags for the child (default `-A`); ignored under Node and Bun. */
  denoFlags?: string[];
}

/**
 * Runs `script` (JavaScript, ES module) in a fresh process of the runtime running the
 * tests (`deno run`, `node` or `bun`), with a controlled environment: for what a process
 * reads once at start (`NODE_EXTRA_CA_CERTS`), or Deno's permissions.
 */
export async function runScript(script: string, options: ScriptOptions = {}): Promise<ChildResult> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const deno = g.Deno;
  const dir = mkdtempSync(join(tmpdir(), "ferry-child-"));
  const file = join(dir, deno ? "script.ts" : "script.mjs");
  writeFileSync(file, script);
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = deno ? deno.env.get(name) : g.process.env[name];
    if (value !== undefined) inherited[name] = value;
  }
  const [command, args] = deno
    ? [deno.execPath(), ["run", "--no-prompt", "--no-lock", ...(options.denoFlags ?? ["-A"]), file]]
    : [g.process.execPath, [file]];
  try {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...inherited, ...options.env },
    });
    let output = "";
    child.stdout!.on("data", (data) => output += data);
    child.stderr!.on("data", (data) => output += data);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { code, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
