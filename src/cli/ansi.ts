/**
 * Colours for the terminal: a handful of SGR escape codes, no dependency. A
 * {@linkcode Palette} is either coloured or plain, so formatting code never asks whether
 * colours are on.
 *
 * @module
 */

/** Paints a piece of text. */
export type Paint = (text: string) => string;

/** The colours of each kind of output. */
export interface Palette {
  /** Whether this palette adds escape codes at all. */
  readonly enabled: boolean;
  /** The protocol name in a start line (`HTTP/1.1`). */
  protocol: Paint;
  /** A request method. */
  method: Paint;
  /** A request target or URL. */
  target: Paint;
  /** A status code and reason, by class. */
  status: (status: number) => Paint;
  /** A header name. */
  headerName: Paint;
  /** A JSON object key. */
  key: Paint;
  /** A JSON string. */
  string: Paint;
  /** A JSON number. */
  number: Paint;
  /** `true`, `false`, `null`. */
  literal: Paint;
  /** Secondary text (timings, notes). */
  dim: Paint;
  /** Emphasis. */
  bold: Paint;
  /** Waterfall bars, by phase index. */
  bar: (index: number) => Paint;
}

function sgr(open: number, close: number): Paint {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const identity: Paint = (text) => text;
const BAR_COLOURS = [36, 35, 33, 32, 34, 31];

/** Colours for a terminal. */
export const COLOURED: Palette = {
  enabled: true,
  protocol: sgr(34, 39),
  method: sgr(1, 22),
  target: sgr(36, 39),
  status: (status) => status < 300 ? sgr(32, 39) : status < 400 ? sgr(33, 39) : sgr(31, 39),
  headerName: sgr(36, 39),
  key: sgr(34, 39),
  string: sgr(32, 39),
  number: sgr(33, 39),
  literal: sgr(35, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
  bar: (index) => sgr(BAR_COLOURS[index % BAR_COLOURS.length], 39),
};

/** No colours. */
export const PLAIN: Palette = {
  enabled: false,
  protocol: identity,
  method: identity,
  target: identity,
  status: () => identity,
  headerName: identity,
  key: identity,
  string: identity,
  number: identity,
  literal: identity,
  dim: identity,
  bold: identity,
  bar: () => identity,
};

/** Erases from the cursor to the end of the line. */
export const CLEAR_LINE = "\x1b[K";
