/**
 * The package version, in one place. `tests/client_test.ts` checks that it matches
 * `deno.json`.
 *
 * @module
 */

/**
 * Ferry's version, as published.
 *
 * @example
 * ```ts
 * import { VERSION } from "@ferry/ferry";
 * console.log(`ferry/${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
