/**
 * The `trace` request extension: wraps a step in `<name>.started` and `<name>.complete`
 * (or `<name>.failed`) events, as httpcore does. Callers check for a trace callback
 * before calling in here, so requests without one pay nothing.
 *
 * @module
 */

import type { TraceCallback } from "./models/request.ts";

/**
 * Runs `step` between `<name>.started` (with `info`) and `<name>.complete`
 * (`{ return_value }`) or `<name>.failed` (`{ exception }`). The callback may return a
 * promise, which is awaited; a callback that throws fails the step.
 */
export async function traced<T>(
  trace: TraceCallback,
  name: string,
  info: Record<string, unknown>,
  step: () => Promise<T> | T,
): Promise<T> {
  await trace(`${name}.started`, info);
  let value: T;
  try {
    value = await step();
  } catch (exception) {
    await trace(`${name}.failed`, { exception });
    throw exception;
  }
  await trace(`${name}.complete`, { return_value: value });
  return value;
}
