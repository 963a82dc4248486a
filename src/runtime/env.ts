/**
 * Environment variables, read through the `process.env` global, which Deno 2, Node and Bun
 * all provide. A missing permission (Deno without `--allow-env`) reads as "not set".
 *
 * @module
 */

/** An environment: variable names to values. */
export type Environment = Readonly<Record<string, string | undefined>>;

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

/**
 * The process environment, read without any runtime-specific API. Returns an empty
 * record when the runtime has none or refuses access (Deno without `--allow-env`).
 *
 * @example
 * ```ts
 * import { readEnvironment } from "@ferry/ferry/proxy";
 * const env = readEnvironment();
 * console.log(typeof env); // "object"
 * ```
 */
export function readEnvironment(): Environment {
  try {
    // deno-lint-ignore no-explicit-any
    const env = (globalThis as any).process?.env;
    if (env == null) return {};
    // Copy, so that a Deno permission error surfaces here and not in the caller.
    return { ...env };
  } catch {
    return {};
  }
}
