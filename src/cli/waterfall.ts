/**
 * The `--verbose` timing breakdown: the Client's trace events (`connection.connect_tcp`,
 * `connection.start_tls`, `http11.send_request_headers`, `http11.receive_response_headers`,
 * `http11.receive_response_body`…, see `extensions.trace`) paired into steps and drawn as a
 * small waterfall, one bar per step on a common time axis.
 *
 * @module
 */

import type { Palette } from "./ansi.ts";

/** One traced step: when it started and ended, in ms from the start of the exchange. */
export interface Step {
  /** The trace name without `.started` / `.complete` (`connection.connect_tcp`). */
  name: string;
  /** Start, in ms. */
  start: number;
  /** End, in ms (the time of the last event seen when the step never ended). */
  end: number;
  /** Whether it ended with `.failed`. */
  failed: boolean;
}

/** Short labels for the steps a person reads about. */
const LABELS: Record<string, string> = {
  "connection.connect_tcp": "connect",
  "connection.connect_unix_socket": "connect (unix)",
  "connection.start_tls": "tls handshake",
  "http11.send_request_headers": "send headers",
  "http11.send_request_body": "send body",
  "http11.receive_response_headers": "first byte",
  "http11.receive_response_body": "body",
  "http2.send_request_headers": "send headers",
  "http2.send_request_body": "send body",
  "http2.receive_response_headers": "first byte",
  "http2.receive_response_body": "body",
};

/** Steps that say nothing about time spent (bookkeeping). */
const HIDDEN = /response_closed|\.send_connection_init/;

/** Collects trace events with their times; `now` is a clock in ms. */
export class TraceRecorder {
  #now: () => number;
  #origin: number;
  #open = new Map<string, Step>();
  /** The steps seen, in the order they started. */
  readonly steps: Step[] = [];

  /** Starts the clock at `now()`. */
  constructor(now: () => number) {
    this.#now = now;
    this.#origin = now();
  }

  /** The trace callback to pass as `extensions.trace`. */
  readonly trace = (event: string, _info: Record<string, unknown>): void => {
    const at = this.#now() - this.#origin;
    const dot = event.lastIndexOf(".");
    const name = event.slice(0, dot);
    const phase = event.slice(dot + 1);
    if (phase === "started") {
      const step = { name, start: at, end: at, failed: false };
      this.#open.set(name, step);
      this.steps.push(step);
    } else {
      const step = this.#open.get(name);
      if (step === undefined) return;
      step.end = at;
      step.failed = phase === "failed";
      this.#open.delete(name);
    }
  };

  /** Restarts the clock (when the request is handed to the client), unless steps were seen. */
  start(): void {
    if (this.steps.length === 0) this.#origin = this.#now();
  }

  /** Ms from the clock's start to the end of the last step shown (bookkeeping left out). */
  total(): number {
    return Math.max(0, ...this.steps.filter((step) => !HIDDEN.test(step.name)).map((s) => s.end));
  }
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

/**
 * Draws the steps as a waterfall `width` columns wide (the bars get what the labels and
 * times leave), ending with the total.
 *
 * ```text
 * connect        0.52 ms  ██
 * send headers   0.08 ms    ▏
 * first byte     3.10 ms    ████████████
 * body           0.41 ms                ██
 * total          4.30 ms
 * ```
 */
export function drawWaterfall(
  allSteps: readonly Step[],
  total: number,
  palette: Palette,
  width = 80,
): string {
  const steps = allSteps.filter((step) => !HIDDEN.test(step.name));
  // Time before the first network step: the pool and the runtime's backend being set up,
  // or a wait for a free connection.
  if (steps.length > 0 && steps[0].start > 0) {
    steps.unshift({ name: "setup", start: 0, end: steps[0].start, failed: false });
  }
  const labels = steps.map((step) => LABELS[step.name] ?? step.name.split(".").pop()!);
  const labelWidth = Math.max(5, ...labels.map((label) => label.length));
  const span = Math.max(total, ...steps.map((step) => step.end), 0.001);
  const times = steps.map((step) => ms(step.end - step.start) + (step.failed ? " ✗" : ""));
  const timeWidth = Math.max(ms(span).length, ...times.map((time) => time.length));
  const barWidth = Math.max(10, width - labelWidth - timeWidth - 6);
  const full = palette.enabled ? "█" : "#";
  const thin = palette.enabled ? "▏" : "|";
  const lines = steps.map((step, index) => {
    const from = Math.min(barWidth - 1, Math.round((step.start / span) * barWidth));
    const to = Math.min(barWidth, Math.round((step.end / span) * barWidth));
    const bar = to > from ? full.repeat(to - from) : thin;
    return `${labels[index].padEnd(labelWidth)}  ${
      palette.dim(times[index].padStart(timeWidth))
    }  ` +
      `${" ".repeat(from)}${palette.bar(index)(bar)}`;
  });
  lines.push(
    `${palette.bold("total".padEnd(labelWidth))}  ${palette.bold(ms(total).padStart(timeWidth))}`,
  );
  return lines.join("\n");
}
