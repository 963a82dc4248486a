/**
 * Deadline scopes (`timeout(ms, fn)`) and per-phase limits (`withDeadline`).
 *
 * ## Theory of operation
 *
 * A scope is a node holding an absolute deadline (`performance.now()` based) and a link to
 * the enclosing scope. The current node travels through awaits in an `AsyncLocalStorage`,
 * which is loaded lazily on the first `timeout()` call: a process that never calls
 * `timeout()` never touches it (on Node 20 merely using ALS makes every await dearer). The
 * effective deadline is the earliest of the chain; `cancel()` lifts one node's deadline and
 * a node stops counting once its `timeout()` call has returned. On Node before 24 the
 * storage is disabled again whenever no scope is active, which removes its promise hooks.
 *
 * Every awaited operation that must honour deadlines goes through {@linkcode withDeadline}.
 * It arms no timer of its own: it puts an entry into one shared set of pending waits, and
 * one shared, unref'd timer is armed for the earliest deadline it knew of. The timer is
 * cleared once the set has stayed empty for a few microtask turns, so it outlives the gap
 * between two reads of a loop but not the work. When that timer
 * fires it expires the entries whose deadline has passed (re-reading the scope chain, so a
 * `cancel()` is honoured late too) and re-arms for the earliest remaining one. A new entry
 * re-arms the timer only when its deadline is earlier than the armed one; in a read loop
 * with the same per-phase limit that is once per limit period, not once per read. Timers
 * never fire early: an entry expires only when `performance.now()` has reached its
 * deadline; a timer that wakes too soon re-arms for the rest.
 *
 * Limits of a second or more outside every scope (the defaults are 5 s) are lazy: the
 * entry goes into the set without a clock read, and a tick armed 100 ms after the first
 * such entry places every lazy entry then pending on the clock. A limit counts from that
 * tick, so it may pass up to 100 ms late, never early.
 *
 * Timers never keep the process alive: they are unref'd through `timer.unref()` (Node and
 * Deno 2.9 return timer objects with it); a backend may register another way with
 * {@linkcode setTimerUnrefHook} for runtimes that return plain numbers.
 *
 * @module
 */

import {
  ConnectTimeout,
  PoolTimeout,
  ReadTimeout,
  type TimeoutErrorOptions,
  TimeoutException,
  type TimeoutPhase,
  WriteTimeout,
} from "./errors.ts";
import { inspectAsRepr } from "./_inspect.ts";

export type { TimeoutPhase } from "./errors.ts";

/** The scope that {@linkcode timeout} passes to its function. */
export interface TimeoutScope {
  /**
   * This scope's own deadline: absolute milliseconds on the `performance.now()` clock.
   * `Infinity` once cancelled (or when the scope was made with `Infinity`).
   */
  readonly deadline: number;
  /**
   * Aborts, with a {@linkcode TimeoutException} as reason, when the effective deadline
   * (this scope's or an enclosing one's, the earliest) passes. Made on first use.
   */
  readonly signal: AbortSignal;
  /** Lifts this scope's deadline; enclosing scopes still apply. */
  cancel(): void;
  /** Whether the effective deadline has passed. */
  readonly expired: boolean;
}

interface AsyncStorage<T> {
  getStore(): T | undefined;
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R;
  disable?(): void;
  exit<R>(fn: () => R): R;
}

let storage: AsyncStorage<Scope> | undefined;

class Scope implements TimeoutScope {
  #deadline: number;
  #ms: number;
  #cancelled = false;
  #controller: AbortController | null = null;
  #entry: Entry | null = null;
  /** The enclosing scope, or `undefined`. */
  readonly parent: Scope | undefined;
  /** `false` once the `timeout()` call that made this scope has returned. */
  active = true;

  constructor(ms: number, parent: Scope | undefined) {
    this.#ms = ms;
    this.#deadline = performance.now() + ms;
    this.parent = parent;
  }

  get deadline(): number {
    return this.#deadline;
  }

  /** The length this scope was made with, in milliseconds. */
  get ms(): number {
    return this.#ms;
  }

  get expired(): boolean {
    return performance.now() >= effectiveDeadline(this);
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      const controller = new AbortController();
      this.#controller = controller;
      const error = (): TimeoutException => {
        const scope = limitingScope(this) ?? this;
        return new TimeoutException(`Timed out after ${scope.ms} ms`, { timeoutMs: scope.ms });
      };
      if (performance.now() >= effectiveDeadline(this)) {
        controller.abort(error());
      } else if (this.active) {
        const entry = new SignalEntry(this, () => controller.abort(error()));
        this.#entry = entry;
        addEntry(entry);
      }
    }
    return this.#controller.signal;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#deadline = Infinity;
  }

  /** Called when the `timeout()` call returns: the scope no longer applies. */
  end(): void {
    this.active = false;
    if (this.#entry !== null) {
      removeEntry(this.#entry);
      this.#entry = null;
    }
  }

  toString(): string {
    const state = this.#cancelled
      ? " CANCELLED"
      : performance.now() >= this.#deadline
      ? " EXPIRED"
      : "";
    return `<TimeoutScope [${this.#ms} ms${state}]>`;
  }
}

inspectAsRepr(Scope);

/** Earliest deadline of the active scopes from `scope` outwards. */
function effectiveDeadline(scope: Scope | undefined): number {
  let deadline = Infinity;
  for (let node = scope; node !== undefined; node = node.parent) {
    if (node.active && node.deadline < deadline) deadline = node.deadline;
  }
  return deadline;
}

/** The active scope whose deadline is the effective one, or `undefined`. */
function limitingScope(scope: Scope | undefined): Scope | undefined {
  let found: Scope | undefined;
  for (let node = scope; node !== undefined; node = node.parent) {
    if (node.active && node.deadline !== Infinity && (!found || node.deadline < found.deadline)) {
      found = node;
    }
  }
  return found;
}

function loadStorage(): AsyncStorage<Scope> {
  // Runtime-neutral code may not import node:* statically; both Node (>= 20.16) and
  // Deno 2 offer process.getBuiltinModule.
  // deno-lint-ignore no-explicit-any
  const getBuiltin = (globalThis as any).process?.getBuiltinModule;
  const hooks = typeof getBuiltin === "function" ? getBuiltin("node:async_hooks") : undefined;
  if (!hooks?.AsyncLocalStorage) {
    throw new TypeError(
      "Timeout scopes need AsyncLocalStorage, which this runtime does not provide",
    );
  }
  return new hooks.AsyncLocalStorage() as AsyncStorage<Scope>;
}

/**
 * Runs `fn` inside a deadline scope of `ms` milliseconds. Every network and pool operation
 * awaited inside, however deep, fails with the phase's {@linkcode TimeoutException}
 * (`ConnectTimeout`, `ReadTimeout`, `WriteTimeout`, `PoolTimeout`) once the deadline
 * passes; no argument is passed down. Scopes nest and the earliest deadline wins;
 * `scope.cancel()` lifts one. The scope ends when `fn` settles. Work that is not a Ferry
 * operation is not interrupted: hand it `scope.signal`.
 *
 * @example A 3 s limit on receiving the start of a response, then none
 * ```ts ignore
 * import { Client, timeout } from "@ferry/ferry";
 * await using client = new Client();
 * await timeout(3000, async (scope) => {
 *   await using response = await client.stream("GET", "https://example.com/");
 *   scope.cancel();
 *   for await (const chunk of response.stream()) console.log(chunk.length);
 * });
 * ```
 *
 * @example Nested scopes: the earliest deadline wins
 * ```ts
 * import { timeout } from "@ferry/ferry";
 * import { currentDeadline } from "@ferry/ferry/advanced";
 * await timeout(10_000, async () => {
 *   await timeout(3000, (inner) => {
 *     console.log(currentDeadline() === inner.deadline); // true
 *   });
 * });
 * ```
 */
export async function timeout<T>(
  ms: number,
  fn: (scope: TimeoutScope) => Promise<T> | T,
): Promise<T> {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`Invalid timeout "${ms}": expected milliseconds >= 0`);
  }
  storage ??= loadStorage();
  const scope = new Scope(ms, storage.getStore());
  activeScopes++;
  try {
    return await storage.run(scope, fn, scope);
  } finally {
    scope.end();
    if (--activeScopes === 0 && disableWhenIdle) storage.disable?.();
  }
}

/** How many `timeout()` calls have not returned yet. */
let activeScopes = 0;

/**
 * Before Node 24, an enabled AsyncLocalStorage installs promise hooks that make every
 * await in the process about twice as dear. Once no scope is active, the storage is
 * disabled, which removes the hooks (`run()` enables it again). Nothing is lost: the
 * stores it forgets belong to scopes that have ended. Deno, Bun and Node 24 do not pay,
 * and keep it enabled.
 */
const disableWhenIdle: boolean = (() => {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno !== undefined || g.Bun !== undefined) return false;
  const major = Number(String(g.process?.versions?.node ?? "").split(".")[0]);
  return major > 0 && major < 24;
})();

/**
 * The earliest deadline of the active scopes, as absolute milliseconds on the
 * `performance.now()` clock, or `Infinity`. Costs nothing when {@linkcode timeout} was
 * never called in the process.
 *
 * @example
 * ```ts
 * import { currentDeadline } from "@ferry/ferry/advanced";
 * console.log(currentDeadline()); // Infinity
 * ```
 */
export function currentDeadline(): number {
  if (storage === undefined) return Infinity;
  return effectiveDeadline(storage.getStore());
}

/**
 * Runs `fn` outside every deadline scope: for work started on behalf of one caller that
 * serves others too and must not end with that caller's scope (an HTTP/2 connection's
 * shared reads and writes). Not public API.
 */
export function outsideScopes<T>(fn: () => T): T {
  const scope = storage?.getStore();
  return scope === undefined ? fn() : storage!.exit(fn);
}

/**
 * Runs `fn(a, b)` in the deadline scope `scope` (an entry's `scope`, captured where the
 * work was asked for; `undefined`: outside every scope), whatever scope the caller is in:
 * for work that one caller's event starts on behalf of another (a pool's waiting request,
 * served when some other request frees a connection). Not public API.
 */
export function inScope<A, B, R>(
  scope: unknown,
  fn: (a: A, b: B) => R,
  a: A,
  b: B,
): R {
  if (storage === undefined || storage.getStore() === scope) return fn(a, b);
  if (scope === undefined) return storage.exit(() => fn(a, b));
  return storage.run(scope as Scope, fn, a, b);
}

// ---------------------------------------------------------------------------------------
// The shared deadline queue.

/**
 * One pending wait: a phase limit (absolute) plus the scope chain it runs under. Entries
 * form an intrusive doubly linked list (cheaper than a `Set` of fresh objects).
 */
abstract class Entry {
  /** The per-phase limit, absolute (`Infinity`: none). */
  limit: number;
  /** The scope chain the operation runs under. */
  scope: Scope | undefined;
  prev: Entry | null = null;
  next: Entry | null = null;
  listed = false;
  /**
   * A limit not placed on the clock yet: its milliseconds, to count from the queue's next
   * tick (see {@linkcode LAZY_MIN_MS}); `0`: `limit` is absolute already.
   */
  lazyMs = 0;

  constructor(limit: number, scope: Scope | undefined) {
    this.limit = limit;
    this.scope = scope;
  }

  deadline(): number {
    const scoped = effectiveDeadline(this.scope);
    return scoped < this.limit ? scoped : this.limit;
  }

  /** Cuts the operation short; the entry is already out of the list. */
  abstract expire(): void;
}

/** Aborts a scope's signal when its deadline passes. */
class SignalEntry extends Entry {
  #abort: () => void;

  constructor(scope: Scope, abort: () => void) {
    super(Infinity, scope);
    this.#abort = abort;
  }

  expire(): void {
    this.#abort();
  }
}

let head: Entry | null = null;
let pendingCount = 0;
let timer: unknown = null;
let timerAt = Infinity;
let unrefHook: ((timer: unknown) => void) | null = null;

/**
 * Registers how to unref a timer when `setTimeout` returns something without an `unref`
 * method (a backend calls this; Deno's passes `Deno.unrefTimer`). Not part of the public
 * API.
 */
export function setTimerUnrefHook(hook: (timer: unknown) => void): void {
  unrefHook = hook;
}

function addEntry(entry: Entry): void {
  entry.listed = true;
  entry.prev = null;
  entry.next = head;
  if (head !== null) head.prev = entry;
  head = entry;
  pendingCount++;
  if (entry.lazyMs !== 0) {
    // Placed on the clock by the next tick (or an earlier timer): no clock read now.
    if (ticker === null) armTick();
    return;
  }
  const deadline = entry.deadline();
  if (deadline < timerAt) arm(deadline);
}

// -- Lazy limits ---------------------------------------------------------------------

/**
 * Per-phase limits of at least this many milliseconds, outside every scope, are not
 * placed on the clock when the operation starts (a clock read per read and per write is
 * a tenth of a microsecond or more, on the per-request path): the next tick of the queue
 * places them, counting from then. Such a limit may so pass up to {@linkcode TICK_MS}
 * late, never early. Shorter limits, and any operation under a `timeout()` scope, read
 * the clock at once.
 */
const LAZY_MIN_MS = 1000;
/** How long after a lazy limit's operation started the queue places it on the clock, at most. */
const TICK_MS = 100;
/** The tick's timer: armed when a lazy limit is added and none is armed. */
let ticker: unknown = null;

function armTick(): void {
  ticker = unrefTimer(setTimeout(onTick, TICK_MS));
}

function onTick(): void {
  ticker = null;
  const now = performance.now();
  const earliest = placeLazy(now);
  if (earliest < timerAt) arm(earliest);
}

/** Places every lazy limit on the clock at `now`; returns the earliest deadline placed. */
function placeLazy(now: number): number {
  let earliest = Infinity;
  for (let entry = head; entry !== null; entry = entry.next) {
    if (entry.lazyMs === 0) continue;
    entry.limit = now + entry.lazyMs;
    entry.lazyMs = 0;
    const deadline = entry.deadline();
    if (deadline < earliest) earliest = deadline;
  }
  return earliest;
}

function unlink(entry: Entry): boolean {
  if (!entry.listed) return false;
  entry.listed = false;
  const { prev, next } = entry;
  if (prev !== null) prev.next = next;
  else head = next;
  if (next !== null) next.prev = prev;
  entry.prev = entry.next = null;
  pendingCount--;
  return true;
}

function removeEntry(entry: Entry): void {
  if (unlink(entry) && pendingCount === 0 && (timer !== null || ticker !== null)) {
    queueIdleCheck();
  }
}

/**
 * How many microtask turns the queue must stay empty before the timer is cleared. A read
 * loop starts its next read within a few turns of the last one ending, so the timer
 * survives from read to read (no timer per read); once work stops, the timer goes, so
 * nothing is left pending after it (Deno's test sanitizers check that).
 */
const IDLE_TURNS = 16;
let idleCheckQueued = false;
let idleTurns = 0;

function queueIdleCheck(): void {
  if (idleCheckQueued) return;
  idleCheckQueued = true;
  idleTurns = 0;
  queueMicrotask(idleCheck);
}

function idleCheck(): void {
  if (pendingCount !== 0 || (timer === null && ticker === null)) {
    idleCheckQueued = false;
    return;
  }
  if (++idleTurns < IDLE_TURNS) {
    queueMicrotask(idleCheck);
    return;
  }
  idleCheckQueued = false;
  if (timer !== null) clearTimeout(timer as number);
  timer = null;
  timerAt = Infinity;
  if (ticker !== null) clearTimeout(ticker as number);
  ticker = null;
}

/** `handle`, unref'd so that it never keeps the process alive. */
function unrefTimer(handle: unknown): unknown {
  // deno-lint-ignore no-explicit-any
  if (typeof (handle as any)?.unref === "function") (handle as any).unref();
  else unrefHook?.(handle);
  return handle;
}

function arm(deadline: number): void {
  if (timer !== null) clearTimeout(timer as number);
  timerAt = deadline;
  const delay = Math.max(0, Math.ceil(deadline - performance.now()));
  timer = unrefTimer(setTimeout(onTimer, delay));
}

function onTimer(): void {
  timer = null;
  timerAt = Infinity;
  const now = performance.now();
  placeLazy(now);
  if (ticker !== null) {
    // Every lazy limit is on the clock now: the tick has nothing left to do.
    clearTimeout(ticker as number);
    ticker = null;
  }
  let next = Infinity;
  let due: [number, Entry][] | null = null;
  for (let entry = head; entry !== null; entry = entry.next) {
    const deadline = entry.deadline();
    if (deadline <= now) (due ??= []).push([deadline, entry]);
    else if (deadline < next) next = deadline;
  }
  if (due !== null) {
    // A timer that wakes late (load, GC) finds several entries due at once: expire them
    // in deadline order, not in the order they were added.
    if (due.length > 1) due.sort((a, b) => a[0] - b[0]);
    for (const [, entry] of due) {
      unlink(entry);
      try {
        entry.expire();
      } catch {
        // An expiry callback failing must not stop the others.
      }
    }
  }
  if (next !== Infinity && next < timerAt) arm(next);
}

const PHASE_ERRORS: Record<
  TimeoutPhase,
  new (message: string, options?: TimeoutErrorOptions) => TimeoutException
> = {
  connect: ConnectTimeout,
  read: ReadTimeout,
  write: WriteTimeout,
  pool: PoolTimeout,
};

const PHASE_NAMES: Record<TimeoutPhase, string> = {
  connect: "Connect",
  read: "Read",
  write: "Write",
  pool: "Pool",
};

/** The phase's timeout error, naming the limit that ran out. */
function phaseError(
  phase: TimeoutPhase,
  limitMs: number | null | undefined,
  limit: number,
  scope: Scope | undefined,
): TimeoutException {
  const limiting = limitingScope(scope);
  if (limiting !== undefined && limiting.deadline <= limit) {
    return new PHASE_ERRORS[phase](
      `${PHASE_NAMES[phase]} timed out after ${limiting.ms} ms (timeout scope)`,
      { timeoutMs: limiting.ms },
    );
  }
  return new PHASE_ERRORS[phase](`${PHASE_NAMES[phase]} timed out after ${limitMs} ms`, {
    timeoutMs: limitMs ?? null,
  });
}

/** A pending {@linkcode withDeadline} call. */
class Wait<T> extends Entry {
  settled = false;
  resolve: (value: T) => void = noop;
  reject: (reason: unknown) => void = noop;
  onAbort: (() => void) | null = null;
  #phase: TimeoutPhase;
  #limitMs: number | null | undefined;
  #onExpire: () => void;
  #signal: AbortSignal | undefined;

  constructor(
    phase: TimeoutPhase,
    limitMs: number | null | undefined,
    limit: number,
    scope: Scope | undefined,
    onExpire: () => void,
    signal: AbortSignal | undefined,
  ) {
    super(limit, scope);
    this.#phase = phase;
    this.#limitMs = limitMs;
    this.#onExpire = onExpire;
    this.#signal = signal;
  }

  expire(): void {
    this.abort(phaseError(this.#phase, this.#limitMs, this.limit, this.scope));
  }

  /** Settles with `reason` after cutting the operation short. */
  abort(reason: unknown): void {
    if (this.settled) return;
    this.finish();
    try {
      this.#onExpire();
    } catch {
      // The operation is being abandoned; a failure to cut it short changes nothing.
    }
    this.reject(reason);
  }

  /** The wait is over: out of the queue, no longer listening to the signal. */
  finish(): void {
    this.settled = true;
    removeEntry(this);
    if (this.onAbort !== null) this.#signal!.removeEventListener("abort", this.onAbort);
  }
}

function noop(): void {}

/**
 * Why an operation of `phase` limited to `limitMs` must not start: an invalid limit, or
 * its deadline (the limit, or the current scope's) already past; else `null`. For an
 * operation that usually completes at once (a small write), checked instead of watched.
 * Not public API.
 */
export function deadlineError(
  phase: TimeoutPhase,
  limitMs: number | null | undefined,
): Error | null {
  const scope = storage === undefined ? undefined : storage.getStore();
  const hasLimit = limitMs !== null && limitMs !== undefined && limitMs !== Infinity;
  if (hasLimit && (typeof limitMs !== "number" || limitMs !== limitMs)) {
    return new RangeError(`Invalid ${phase} timeout "${limitMs}": expected milliseconds or null`);
  }
  if (scope === undefined) {
    return hasLimit && (limitMs as number) <= 0
      ? phaseError(phase, limitMs, performance.now(), scope)
      : null;
  }
  const now = performance.now();
  const limit = hasLimit ? now + (limitMs as number) : Infinity;
  const scoped = effectiveDeadline(scope);
  return (scoped < limit ? scoped : limit) <= now ? phaseError(phase, limitMs, limit, scope) : null;
}

/**
 * A reusable wait for one operation at a time of one kind (a network stream's reads, or its
 * writes): what {@linkcode withDeadline} does, without a promise, a closure or an entry per
 * call. Not public API: the network backends use it on their per-request path.
 *
 * The stream calls `start(limitMs)` before the operation and `stop()` once the operation
 * settled. When the deadline (the limit, or the current `timeout()` scope's) passes first,
 * `error` is set to the phase's {@linkcode TimeoutException} and `onExpire()` runs: it must
 * make the operation settle (close the socket, reject the waiting read), and the stream
 * then throws `error` rather than what the operation failed with.
 */
export class Deadline extends Entry {
  /** Set when the deadline passed during the operation: the error to report. */
  error: TimeoutException | null = null;
  #phase: TimeoutPhase;
  #limitMs: number | null | undefined = null;
  #onExpire: () => void;

  /** A wait for `phase` operations; `onExpire` cuts one short. */
  constructor(phase: TimeoutPhase, onExpire: () => void) {
    super(Infinity, undefined);
    this.#phase = phase;
    this.#onExpire = onExpire;
  }

  /**
   * Starts watching an operation limited to `limitMs` (`null`/`undefined`: only the scope's
   * deadline). Returns `null` when the operation may run (watched, or with no deadline at
   * all), else the error to fail it with at once: an invalid limit, or a deadline already
   * past.
   */
  start(limitMs: number | null | undefined): Error | null {
    this.error = null;
    const scope = storage === undefined ? undefined : storage.getStore();
    const hasLimit = limitMs !== null && limitMs !== undefined && limitMs !== Infinity;
    if (hasLimit && (typeof limitMs !== "number" || limitMs !== limitMs)) {
      return new RangeError(
        `Invalid ${this.#phase} timeout "${limitMs}": expected milliseconds or null`,
      );
    }
    if (!hasLimit && scope === undefined) return null;
    if (scope === undefined && (limitMs as number) >= LAZY_MIN_MS) {
      // Placed on the clock by the queue's next tick (see LAZY_MIN_MS).
      this.lazyMs = limitMs as number;
      this.limit = Infinity;
      this.scope = undefined;
      this.#limitMs = limitMs;
      addEntry(this);
      return null;
    }
    this.lazyMs = 0;
    const now = performance.now();
    const limit = hasLimit ? now + (limitMs as number) : Infinity;
    const scoped = effectiveDeadline(scope);
    if (limit === Infinity && scoped === Infinity) return null;
    if ((scoped < limit ? scoped : limit) <= now) {
      return phaseError(this.#phase, limitMs, limit, scope);
    }
    this.limit = limit;
    this.scope = scope;
    this.#limitMs = limitMs;
    addEntry(this);
    return null;
  }

  /** The operation settled: stop watching (harmless when not watching). */
  stop(): void {
    removeEntry(this);
    this.scope = undefined;
    this.lazyMs = 0;
  }

  expire(): void {
    this.error = phaseError(this.#phase, this.#limitMs, this.limit, this.scope);
    this.scope = undefined;
    try {
      this.#onExpire();
    } catch {
      // The operation is being abandoned; a failure to cut it short changes nothing.
    }
  }
}

/**
 * Runs `run()` under the earliest of the current scope's deadline and `limitMs` from now
 * (`null` or `undefined`: no per-phase limit). This is what every awaited network and pool
 * operation goes through; backends and layers above use it, applications use
 * {@linkcode timeout}.
 *
 * - The deadline passes first: `onExpire()` is called (it must make the operation settle,
 *   for instance by closing the socket) and the promise rejects with the phase's
 *   {@linkcode TimeoutException}, whose message says which phase and how long ("Read timed
 *   out after 5000 ms") and whose `timeoutMs` is set. The operation's own later
 *   rejection is ignored.
 * - `signal` aborts first: `onExpire()` is called and the promise rejects with
 *   `signal.reason`.
 * - The deadline has already passed, or `signal` is already aborted: neither `run` nor
 *   `onExpire` is called.
 *
 * No timer is armed per call: see the module documentation.
 *
 * @example A read with a 5 s limit
 * ```ts ignore
 * import { withDeadline } from "@ferry/ferry/advanced";
 * const bytes = await withDeadline("read", 5000, () => conn.read(buffer), () => conn.close());
 * ```
 */
export function withDeadline<T>(
  phase: TimeoutPhase,
  limitMs: number | null | undefined,
  run: () => Promise<T>,
  onExpire: () => void,
  signal?: AbortSignal,
): Promise<T> {
  const scope = storage === undefined ? undefined : storage.getStore();
  const hasLimit = limitMs !== null && limitMs !== undefined && limitMs !== Infinity;
  if (hasLimit && (typeof limitMs !== "number" || limitMs !== limitMs)) {
    return Promise.reject(
      new RangeError(`Invalid ${phase} timeout "${limitMs}": expected milliseconds or null`),
    );
  }
  if (!hasLimit && scope === undefined && signal === undefined) return run();
  const now = hasLimit || scope !== undefined ? performance.now() : 0;
  const limit = hasLimit ? now + (limitMs as number) : Infinity;
  const scoped = effectiveDeadline(scope);
  if (limit === Infinity && scoped === Infinity && signal === undefined) return run();
  if (signal?.aborted) return Promise.reject(signal.reason);
  if ((scoped < limit ? scoped : limit) <= now) {
    return Promise.reject(phaseError(phase, limitMs, limit, scope));
  }
  const wait = new Wait<T>(phase, limitMs, limit, scope, onExpire, signal);
  const promise = new Promise<T>((resolve, reject) => {
    wait.resolve = resolve;
    wait.reject = reject;
  });
  if (limit !== Infinity || scoped !== Infinity) addEntry(wait);
  if (signal !== undefined) {
    wait.onAbort = () => wait.abort(signal.reason);
    signal.addEventListener("abort", wait.onAbort, { once: true });
  }
  let operation: Promise<T>;
  try {
    operation = run();
  } catch (error) {
    wait.finish();
    return Promise.reject(error);
  }
  operation.then(
    (value) => {
      if (wait.settled) return;
      wait.finish();
      wait.resolve(value);
    },
    (error) => {
      if (wait.settled) return;
      wait.finish();
      wait.reject(error);
    },
  );
  return promise;
}
