/**
 * The idle probe: how a connection notices that its server closed it while idle.
 *
 * A connection that stays idle for 100 to 200 ms issues the read for the *next* response
 * (an "armed read"). If the server closes the idle connection, that read returns
 * end-of-input and the connection closes itself (and leaves its pool) before anyone tries
 * to reuse it. When the next request comes, the armed read is simply the first read of
 * its response, so noticing costs no extra read.
 *
 * Arming is lazy. Issuing the read costs a few microseconds per request, which a
 * connection reused at once (a busy pool) does not need: a server closes an idle
 * keep-alive connection after seconds, not microseconds, and a request that meets one
 * anyway is retried on a fresh connection by the pool when it is safe to. So a connection
 * that turns idle waits in `young`; one shared ticker moves it to `old` and, one tick
 * later, probes it. The ticker runs only while connections wait, and never keeps the
 * process alive.
 *
 * @module
 */

import type { NetworkStreamInterface } from "../network/types.ts";

/** A connection the probe can arm. */
export interface Probed {
  /** Issues the armed read if the connection is still idle and not yet armed. */
  probe(): void;
}

const TICK_MS = 100;
let young = new Set<Probed>();
let old = new Set<Probed>();
let ticker: unknown = null;

/** `connection` turned idle: probe it once it has been idle for one or two ticks. */
export function scheduleProbe(connection: Probed): void {
  young.add(connection);
  if (ticker === null) {
    ticker = setInterval(tick, TICK_MS);
    // deno-lint-ignore no-explicit-any
    (ticker as any)?.unref?.();
  }
}

/** `connection` is reused before its probe: it needs none (the ticker stops by itself). */
export function unscheduleProbe(connection: Probed): void {
  if (!young.delete(connection)) old.delete(connection);
}

/** `connection` closed: the ticker stops at once when nothing waits. */
export function forgetProbe(connection: Probed): void {
  unscheduleProbe(connection);
  if (young.size === 0 && old.size === 0 && ticker !== null) {
    clearInterval(ticker as number);
    ticker = null;
  }
}

function tick(): void {
  for (const connection of old) connection.probe();
  old.clear();
  const swap = old;
  old = young;
  young = swap;
  if (old.size === 0 && ticker !== null) {
    clearInterval(ticker as number);
    ticker = null;
  }
}

/**
 * Refs or unrefs the runtime's socket under `stream` (`Deno.Conn` and Node's `net.Socket`
 * both have `ref()` and `unref()`), when the backend exposes it as `"socket"`. An armed
 * read is unref'd, so that a program that forgets to close its pool still exits; the
 * request that takes the read refs it again.
 */
export function setRef(stream: NetworkStreamInterface, ref: boolean): void {
  try {
    const socket = stream.getExtraInfo("socket") as
      | { ref?: () => void; unref?: () => void }
      | null
      | undefined;
    if (ref) socket?.ref?.();
    else socket?.unref?.();
  } catch {
    // A socket that cannot be (un)ref'd only changes when the process may exit.
  }
}
