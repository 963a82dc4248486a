/**
 * Printing: what `--print`, `--pretty` and where the output goes ask for ({@linkcode Look}),
 * requests as sent, and response bodies (binary ones kept off terminals).
 *
 * @module
 */

import type { Request, Response } from "../../mod.ts";
import type { CliArgs, PrintParts } from "./args.ts";
import { COLOURED, type Palette, PLAIN } from "./ansi.ts";
import {
  BINARY_NOTICE,
  formatBody,
  formatRequestHead,
  formatResponseHead,
  isBinary,
} from "./output.ts";
import type { Output, System } from "./_system.ts";

/** How output is shaped: what to print, colours, JSON formatting. */
export interface Look {
  print: PrintParts;
  palette: Palette;
  format: boolean;
}

/** A request as sent, its body when it is to be printed, and its response once known. */
export interface Exchange {
  /** The request. */
  request: Request;
  /** Its body (read for printing), or `null`. */
  body: Uint8Array | null;
  /** Its response. */
  response?: Response;
}

/** Decides what to print and how, from the options and where the output goes. */
export function chooseLook(args: CliArgs, out: Output, system: System): Look {
  const pretty = args.pretty ?? (out.isTTY ? "all" : "none");
  const noColor = args.pretty === null &&
    ((system.env("NO_COLOR") ?? "") !== "" || system.env("TERM") === "dumb");
  const colours = (pretty === "all" || pretty === "colors") && !noColor;
  let print = args.print;
  if (print === null) {
    const letters = args.offline ? "HB" : args.download ? "h" : out.isTTY ? "hb" : "b";
    print = {
      requestHead: letters.includes("H"),
      requestBody: letters.includes("B"),
      responseHead: letters.includes("h"),
      responseBody: letters.includes("b"),
      meta: false,
    };
  }
  if (args.quiet) {
    print = {
      requestHead: false,
      requestBody: false,
      responseHead: false,
      responseBody: false,
      meta: false,
    };
  }
  return {
    print,
    palette: colours ? COLOURED : PLAIN,
    format: pretty === "all" || pretty === "format",
  };
}

export async function printRequest(
  out: Output,
  exchange: Exchange,
  look: Look,
): Promise<void> {
  let text = "";
  if (look.print.requestHead) {
    const version = exchange.response?.httpVersion;
    text += formatRequestHead(exchange.request, look.palette, version) + "\n\n";
  }
  if (look.print.requestBody && exchange.body !== null && exchange.body.length > 0) {
    text += bodyText(exchange.body, exchange.request.headers.get("content-type"), out, look);
    text += "\n\n";
  }
  if (text !== "") await out.write(text);
}

/** The requests sent (and, with `--all`, the responses that led to the final one). */
export async function printExchanges(
  out: Output,
  exchanges: Exchange[],
  look: Look,
  all: boolean,
): Promise<void> {
  if (!look.print.requestHead && !look.print.requestBody) return;
  const shown = all ? exchanges : exchanges.slice(-1);
  for (const [index, exchange] of shown.entries()) {
    await printRequest(out, exchange, look);
    const isLast = index === shown.length - 1;
    if (!isLast && exchange.response && look.print.responseHead) {
      await out.write(formatResponseHead(exchange.response, look.palette) + "\n\n");
    }
  }
}

function bodyText(bytes: Uint8Array, contentType: string | null, out: Output, look: Look): string {
  if (out.isTTY && isBinary(bytes)) return BINARY_NOTICE;
  const text = new TextDecoder().decode(bytes);
  return formatBody(text, contentType, { format: look.format, palette: look.palette });
}

/**
 * Prints a response body as `look` says (streamed as bytes when nothing is formatted);
 * resolves to whether the output ended with a newline.
 */
export async function printResponseBody(
  response: Response,
  out: Output,
  look: Look,
): Promise<boolean> {
  let last = 10;
  if (!out.isTTY && !look.format && !look.palette.enabled) {
    for await (const chunk of response.iterBytes()) {
      if (chunk.length > 0) last = chunk[chunk.length - 1];
      await out.write(chunk);
    }
    return last === 10;
  }
  const bytes = await response.bytes();
  if (bytes.length === 0) return true;
  if (out.isTTY && isBinary(bytes)) {
    await out.write(BINARY_NOTICE + "\n");
    return true;
  }
  const text = formatBody(await response.text(), response.headers.get("content-type"), look);
  await out.write(text.endsWith("\n") ? text : text + "\n");
  return true;
}
