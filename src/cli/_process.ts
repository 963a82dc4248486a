/**
 * Loads the running process's {@linkcode ProcessSystem}: Deno's own APIs under Deno,
 * `node:*` under Node and Bun (see `_system.ts`).
 *
 * @module
 */

import { runtimeName } from "../runtime/detect.ts";
import type { ProcessSystem } from "./_system.ts";

/** The running process, through the runtime's own APIs. */
export async function processSystem(): Promise<ProcessSystem> {
  const module = runtimeName() === "deno"
    ? await import("./_system_deno.ts")
    : await import("./_system_node.ts");
  return module.processSystem();
}
