/**
 * Helpers for the SDK tests' fake API servers: a gate that holds a stream open until the
 * client has seen its first part, and server-sent-event framing.
 */

/**
 * The server waits on `opened` in the middle of a stream; the test opens it once the
 * client has received the first part. So when the client sees the first part, the server
 * has not ended the stream yet (`serverDone` is still false) unless the client buffered
 * the whole body: then the fallback timer opens the gate, and the test's check of
 * `serverDone` fails instead of hanging.
 */
export interface Gate {
  /** Resolves when the gate opens. */
  readonly opened: Promise<void>;
  /** Opens it (the test does, on the first part received). */
  open(): void;
  /** Set by the server once it wrote the rest. */
  serverDone: boolean;
}

/** A gate that opens by itself after `fallbackMs` (only if the client never opens it). */
export function gate(fallbackMs = 10_000): Gate {
  let resolve!: () => void;
  const opened = new Promise<void>((r) => resolve = r);
  const timer = setTimeout(() => resolve(), fallbackMs);
  return {
    opened,
    open() {
      clearTimeout(timer);
      resolve();
    },
    serverDone: false,
  };
}

/** One server-sent event: `event:` (when given) and `data:` as JSON or text. */
export function sse(data: unknown, event?: string): string {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ""}data: ${text}\n\n`;
}

/**
 * Waits for an event (`promise`), failing with `what` if it has not happened after
 * `fallbackMs`: a test that would otherwise hang fails instead. Not a timing assertion:
 * the event is expected at once, the fallback only bounds a broken run.
 */
export async function eventWithin<T>(
  promise: Promise<T>,
  what: string,
  fallbackMs = 10_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fallback = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Never happened: ${what}`)), fallbackMs);
  });
  try {
    return await Promise.race([promise, fallback]);
  } finally {
    clearTimeout(timer);
  }
}
