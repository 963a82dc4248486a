/**
 * Which runtime Ferry runs on: the one place that asks. Deno has its own socket and file
 * APIs; Node and Bun share `node:*`.
 *
 * @module
 */

/** The runtimes Ferry has implementations for: Deno's own APIs, or `node:*` (Node, Bun). */
export type RuntimeName = "deno" | "node";

/** `"deno"` under Deno, `"node"` elsewhere (Node, Bun). */
export function runtimeName(): RuntimeName {
  // deno-lint-ignore no-explicit-any
  return typeof (globalThis as any).Deno?.version?.deno === "string" ? "deno" : "node";
}
