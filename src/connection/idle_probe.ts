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
 * that turns idle is stamped with the current tick of one shared ticker and probed once
 * two ticks have passed (100 to 200 ms idle). Turning idle and being reused again only
 * write the stamp: the set of connections the ticker looks at changes on its ticks and on
 * close, not once per request (a `Set` insertion and deletion per request cost about as
 * much as parsing the response head). The ticker runs only while connections are listed,
 * and never keeps the process alive.
 *
 * @module
 */

import type { NetworkStreamInterface } from "../network/types.ts";

/** A connection the probe can arm. */
export interface Probed {
  /** Issues the armed read if the connection is still idle and not yet armed. */
  probe(): void;
  /** The ticker's count when the connection turned idle, plus one; `0`: not waiting. */
  probeStamp: number;
  /** Whether the connection is in the ticker's set. */
  probeListed: boolean;
}

const TICK_MS = 100;
/** Connections the ticker looks at: waiting ones, and ones reused since it last looked. */
const listed = new Set<Probed>();
let ticks = 0;
let ticker: unknown = null;

/** `connection` turned idle: probe it once it has stayed idle for one or two ticks. */
export function scheduleProbe(connection: Probed): void {
  connection.probeStamp = ticks + 1;
  if (connection.probeListed) return;
  connection.probeListed = true;
  listed.add(connection);
  if (ticker === null) {
    ticker = setInterval(tick, TICK_MS);
    // deno-lint-ignore no-explicit-any
    (ticker as any)?.unref?.();
  }
}

/** `connection` is reused before its probe: it needs none (the next tick unlists it). */
export function unscheduleProbe(connection: Probed): void {
  connection.probeStamp = 0;
}

/** `connection` closed: it is unlisted, and the ticker stops at once when none is left. */
export function forgetProbe(connection: Probed): void {
  connection.probeStamp = 0;
  if (connection.probeListed) {
    connection.probeListed = false;
    listed.delete(connection);
  }
  if (listed.size === 0 && ticker !== null) {
    clearInterval(ticker as number);
    ticker = null;
  }
}

function tick(): void {
  ticks++;
  for (const connection of listed) {
    const stamp = connection.probeStamp;
    if (stamp !== 0 && ticks - stamp < 1) continue;
    // Reused since (stamp 0), or idle since two ticks ago at least: off the list.
    connection.probeListed = false;
    listed.delete(connection);
    if (stamp !== 0) {
      connection.probeStamp = 0;
      connection.probe();
    }
  }
  if (listed.size === 0 && ticker !== null) {
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
