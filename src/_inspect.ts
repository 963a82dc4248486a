/**
 * Reprs in inspection: `console.log`, `Deno.inspect` and Node's `util.inspect` print what
 * `toString()` returns (`<ConnectionPool [3 idle]>`), as httpx's reprs do.
 *
 * @module
 */

function inspectAsString(this: { toString(): string }): string {
  return this.toString();
}

/**
 * Makes the instances of `type` inspect as their `toString()` (or as `repr` gives them),
 * under Deno, Node and Bun.
 */
export function inspectAsRepr<T extends object>(
  type: { prototype: T },
  repr?: (value: T) => string,
): void {
  const value = repr === undefined ? inspectAsString : function (this: T): string {
    return repr(this);
  };
  for (const name of ["Deno.customInspect", "nodejs.util.inspect.custom"]) {
    Object.defineProperty(type.prototype, Symbol.for(name), {
      value,
      writable: true,
      configurable: true,
    });
  }
}
