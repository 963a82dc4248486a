/**
 * The life cycle of an HTTP/1.1 connection, in one place: its states, which state may
 * follow which, and why. Every change of state goes through {@linkcode nextState}, so
 * this table is the whole truth.
 *
 * ## Theory of operation
 *
 * A connection owns one network stream and one response parser. An exchange holds the
 * connection's turn from the moment its request starts until its response body has been
 * read to the end or closed; callers that arrive meanwhile wait in order (a turn is not a
 * state: a `NEW` or `IDLE` connection may have callers waiting for the one just starting).
 *
 * ```
 * NEW ──request──▶ ACTIVE ──body ended, keep-alive──▶ IDLE ──request──▶ ACTIVE …
 *  │                 │ │                               │
 *  │                 │ └──101 / 2xx to CONNECT──▶ UPGRADED (the stream is the caller's)
 *  │                 └──refused before a byte was sent──▶ NEW or IDLE (as it was)
 *  └─────────────────┴──error, close, no keep-alive, server closed, expired──▶ CLOSED
 * ```
 *
 * | from       | to         | when                                                        |
 * |------------|------------|-------------------------------------------------------------|
 * | `NEW`      | `ACTIVE`   | the first request starts (the stream may still be opening)  |
 * | `IDLE`     | `ACTIVE`   | a request reuses the connection                             |
 * | `ACTIVE`   | `IDLE`     | the response ended and both sides keep the connection       |
 * | `ACTIVE`   | `NEW`      | a request was refused before any byte was written, on a     |
 * |            |            | connection that has served nothing yet                      |
 * | `ACTIVE`   | `UPGRADED` | `101 Switching Protocols`, or `2xx` to `CONNECT`            |
 * | any but `CLOSED` | `CLOSED` | an error, `close()`, no keep-alive, the server closed   |
 * |            |            | the idle stream, or the idle connection expired             |
 *
 * `CLOSED` is final, and so is `UPGRADED` but for closing: the stream belongs to whoever
 * asked for the upgrade, and closing that stream closes the connection.
 *
 * @module
 */

/**
 * The life cycle of a {@linkcode Connection}; see the module documentation of
 * `src/connection/state.ts` for the table of transitions.
 *
 * @example
 * ```ts ignore
 * import { openConnection } from "@ferry/ferry/advanced";
 * await using connection = await openConnection("http://127.0.0.1:8080");
 * console.log(connection.state); // "NEW"
 * ```
 */
export type ConnectionState = "NEW" | "ACTIVE" | "IDLE" | "CLOSED" | "UPGRADED";

/**
 * Checks one change of state against the table and returns the new state. A refused
 * change is a bug in Ferry, never a peer's doing: it throws rather than leave a
 * connection in a state nothing expects.
 */
export function nextState(from: ConnectionState, to: ConnectionState): ConnectionState {
  if (!allowed(from, to)) {
    throw new Error(`Connection state cannot change from "${from}" to "${to}"`);
  }
  return to;
}

/**
 * Whether `to` may follow `from` (the table above). Comparisons, not a look-up in a table
 * of tables: keyed by the state names, such a look-up is one property access site that
 * sees every name, and V8 takes the slow (megamorphic) path for it on every request.
 */
function allowed(from: ConnectionState, to: ConnectionState): boolean {
  switch (from) {
    case "NEW":
    case "IDLE":
      return to === "ACTIVE" || to === "CLOSED";
    case "ACTIVE":
      return to !== "ACTIVE";
    case "UPGRADED":
      return to === "CLOSED";
    case "CLOSED":
      return false;
  }
}
