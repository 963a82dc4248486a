/**
 * The one way tests are declared, so that the same files run under Deno (`Deno.test`,
 * with its resource and op sanitizers) and under Node (`node:test`).
 *
 * Peers (Debian packages such as nginx or python3-httpbin) are checked with
 * {@linkcode peerTest}: a missing peer skips the test with a message naming the package,
 * except under `CI=true`, where a missing peer fails the test.
 */

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

/** Which runtime runs the tests. */
export const runtime: "deno" | "node" | "bun" = deno?.version?.deno
  ? "deno"
  // deno-lint-ignore no-explicit-any
  : (globalThis as any).Bun
  ? "bun"
  : "node";

/** Options of {@linkcode test}. */
export interface TestOptions {
  /** Skip the test with this reason (printed). */
  skip?: string | false;
  /** The test needs a Deno-only API: skipped (with this reason) under Node and Bun. */
  denoOnly?: string;
  /** Turn Deno's op/resource sanitizers off (for tests that leave a server to a later test). */
  sanitize?: boolean;
}

type TestFn = () => void | Promise<void>;

let nodeTest: ((name: string, options: { skip?: string | boolean }, fn: TestFn) => void) | null =
  null;
if (runtime !== "deno") {
  const module = await import("node:test");
  nodeTest = module.test as unknown as typeof nodeTest;
}

/** Declares a test that runs under Deno and Node alike. */
export function test(name: string, fn: TestFn): void;
export function test(name: string, options: TestOptions, fn: TestFn): void;
export function test(name: string, a: TestOptions | TestFn, b?: TestFn): void {
  const options: TestOptions = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b!;
  let skip = options.skip || false;
  if (!skip && options.denoOnly && runtime !== "deno") skip = `Deno only: ${options.denoOnly}`;
  if (skip) console.log(`skipped: ${name}: ${skip}`);
  if (runtime === "deno") {
    deno.test({
      name,
      ignore: Boolean(skip),
      fn,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
    });
  } else {
    nodeTest!(name, { skip: skip || false }, fn);
  }
}

/** Environment variable lookup that works under every runtime. */
export function env(name: string): string | undefined {
  if (runtime === "deno") return deno.env.get(name);
  // deno-lint-ignore no-explicit-any
  return (globalThis as any).process?.env?.[name];
}

/** Whether this run is CI's (`CI=true`): missing peers fail instead of skipping. */
export const inCI: boolean = env("CI") === "true";

/**
 * Declares a test that needs a peer from a Debian package. `available` says whether the
 * peer is installed; when it is not, the test is skipped with a message naming the
 * package, or fails under `CI=true`.
 */
export function peerTest(
  name: string,
  peer: { pkg: string; available: boolean },
  fn: TestFn,
  options: TestOptions = {},
): void {
  if (peer.available) return test(name, options, fn);
  const message = `needs the Debian package ${peer.pkg} (apt-get install -y ${peer.pkg})`;
  if (inCI) {
    return test(name, options, () => {
      throw new Error(`Missing peer under CI=true: ${message}`);
    });
  }
  test(name, { ...options, skip: message }, fn);
}

/**
 * Runs `fn` with the environment variables of `vars` set (`undefined` unsets one), then
 * puts each back as it was.
 */
export async function withEnv<T>(
  vars: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  // deno-lint-ignore no-explicit-any
  const env = (globalThis as any).process.env;
  const saved = Object.keys(vars).map((name) => [name, env[name]] as const);
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
  }
}
