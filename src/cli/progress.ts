/**
 * The download progress bar, drawn on stderr with a carriage return and an erase-line
 * escape: percentage, bar, bytes, rate and ETA when the length is known; a spinner, bytes
 * and rate when it is not. Redrawn at most every 100 ms (on arriving chunks, no timer), and
 * once more at the end with a summary line.
 *
 * @module
 */

import { CLEAR_LINE, type Palette } from "./ansi.ts";
import type { Output } from "./_system.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const REDRAW_MS = 100;

/** `1.5 MiB`, `312 B`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** `0:07`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A progress bar for one download. */
export class Progress {
  #out: Output;
  #palette: Palette;
  #now: () => number;
  #total: number | null;
  #done: number;
  #resumedFrom: number;
  #started: number;
  #lastDraw = -Infinity;
  #frame = 0;

  /**
   * `total`: the whole size when known; `resumedFrom`: bytes already on disk (counted as
   * done, not in the rate).
   */
  constructor(
    out: Output,
    options: { palette: Palette; now: () => number; total: number | null; resumedFrom?: number },
  ) {
    this.#out = out;
    this.#palette = options.palette;
    this.#now = options.now;
    this.#total = options.total;
    this.#resumedFrom = options.resumedFrom ?? 0;
    this.#done = this.#resumedFrom;
    this.#started = this.#now();
  }

  /** Counts `bytes` more and redraws when the last drawing is old enough. */
  async advance(bytes: number): Promise<void> {
    this.#done += bytes;
    const now = this.#now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    await this.#out.write(`\r${this.line(now)}${CLEAR_LINE}`);
  }

  /** The current line (without escapes other than colours). */
  line(now: number = this.#now()): string {
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = (this.#done - this.#resumedFrom) / seconds;
    const rateText = `${formatBytes(Math.round(rate))}/s`;
    const total = this.#total;
    if (total === null || total <= 0) {
      const spinner = SPINNER[this.#frame++ % SPINNER.length];
      return `${this.#palette.bold(spinner)} ${formatBytes(this.#done)}  ${rateText}`;
    }
    const fraction = Math.min(1, this.#done / total);
    const width = Math.max(10, Math.min(30, this.#out.columns - 50));
    const filled = Math.round(fraction * width);
    const bar = this.#palette.bar(0)("█".repeat(filled)) + " ".repeat(width - filled);
    const eta = rate > 0 ? formatDuration((total - this.#done) / rate) : "-:--";
    return `${String(Math.floor(fraction * 100)).padStart(3)}% [${bar}] ` +
      `${formatBytes(this.#done)} / ${formatBytes(total)}  ${rateText}  ETA ${eta}`;
  }

  /** Draws the final state and a summary line (`Done. 10.0 MiB in 0:02 (5.0 MiB/s)`). */
  async finish(): Promise<void> {
    const now = this.#now();
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const got = this.#done - this.#resumedFrom;
    await this.#out.write(
      `\r${this.line(now)}${CLEAR_LINE}\n` +
        `Done. ${formatBytes(got)} in ${formatDuration(seconds)} ` +
        `(${formatBytes(Math.round(got / seconds))}/s)\n`,
    );
  }

  /** Ends the line after an interruption so the error starts on its own line. */
  async abort(): Promise<void> {
    await this.#out.write("\n");
  }
}
