/**
 * What `ferry` prints: request and response heads as they travel (start line, headers),
 * bodies re-indented when they are JSON, coloured through a {@linkcode Palette}, and a note
 * instead of binary bytes on a terminal.
 *
 * @module
 */

import type { Request, Response } from "../../mod.ts";
import type { Palette } from "./ansi.ts";

/** Printed instead of a binary body on a terminal, as HTTPie does. */
export const BINARY_NOTICE = "+-----------------------------------------+\n" +
  "| NOTE: binary data not shown in terminal |\n" +
  "+-----------------------------------------+";

/**
 * The request's start line and headers, as sent; `version` is the protocol it went out on
 * (its response's, when known: `HTTP/2` requests are frames, shown in HTTP/1.1's layout).
 */
export function formatRequestHead(
  request: Request,
  palette: Palette,
  version = "HTTP/1.1",
): string {
  const target = typeof request.extensions.target === "string"
    ? request.extensions.target
    : request.target;
  const lines = [
    `${palette.method(request.method)} ${palette.target(target)} ${palette.protocol(version)}`,
  ];
  for (const [name, value] of request.headers) lines.push(formatHeader(name, value, palette));
  return lines.join("\n");
}

/** The response's status line and headers. */
export function formatResponseHead(response: Response, palette: Palette): string {
  const status = palette.status(response.status);
  const lines = [
    `${palette.protocol(response.httpVersion)} ${
      status(`${response.status} ${response.reasonPhrase}`)
    }`,
  ];
  for (const [name, value] of response.headers) lines.push(formatHeader(name, value, palette));
  return lines.join("\n");
}

function formatHeader(name: string, value: string, palette: Palette): string {
  return `${palette.headerName(name)}: ${value}`;
}

/** Whether bytes look binary: a NUL byte in the first 8 KiB (HTTPie's test). */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8192).includes(0);
}

/** Whether a content type is JSON (`application/json`, `application/problem+json`…). */
export function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const essence = contentType.split(";")[0].trim().toLowerCase();
  return essence.endsWith("/json") || essence.endsWith("+json") || essence === "text/x-json";
}

/** Options of {@linkcode formatBody}. */
export interface BodyFormat {
  /** Re-indent JSON. */
  format: boolean;
  /** Colours (used for JSON). */
  palette: Palette;
}

/**
 * A body for display: JSON (by type, or by look when the type says text) is re-indented and
 * coloured when `format` is on; anything else is printed as it is.
 */
export function formatBody(text: string, contentType: string | null, options: BodyFormat): string {
  if (!options.format && !options.palette.enabled) return text;
  const looksJson = isJsonType(contentType) ||
    ((contentType === null || /^text\/(plain|javascript)/i.test(contentType)) &&
      /^\s*[[{]/.test(text));
  if (!looksJson) return text;
  return formatJson(text, options.palette, options.format ? 4 : null) ?? text;
}

const TOKEN = /\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}[\],:])/y;

/**
 * Re-indents (`indent` spaces, or as it is when `null`) and colours JSON text without
 * parsing its values, so big numbers and key order survive exactly. `null` when the text
 * is not JSON.
 */
export function formatJson(text: string, palette: Palette, indent: number | null): string | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  if (indent === null) return colourJsonInPlace(text, palette);
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) tokens.push(match[1]);
  let out = "";
  let depth = 0;
  const newline = () => "\n" + " ".repeat(depth * indent);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === "{" || token === "[") {
      const close = token === "{" ? "}" : "]";
      if (tokens[i + 1] === close) {
        out += token + close;
        i++;
        continue;
      }
      depth++;
      out += token + newline();
    } else if (token === "}" || token === "]") {
      depth--;
      out += newline() + token;
    } else if (token === ",") {
      out += "," + newline();
    } else if (token === ":") {
      out += ": ";
    } else {
      out += paintScalar(token, tokens[i + 1] === ":", palette);
    }
  }
  return out;
}

function paintScalar(token: string, isKey: boolean, palette: Palette): string {
  if (token.startsWith('"')) return isKey ? palette.key(token) : palette.string(token);
  if (token === "true" || token === "false" || token === "null") return palette.literal(token);
  return palette.number(token);
}

/** Colours JSON where it stands (for `--pretty=colors`). */
function colourJsonInPlace(text: string, palette: Palette): string {
  return text.replace(
    /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g,
    (whole, string, colon, number, literal) => {
      if (string !== undefined) {
        return colon === undefined ? palette.string(string) : palette.key(string) + colon;
      }
      if (number !== undefined) return palette.number(number);
      if (literal !== undefined) return palette.literal(literal);
      return whole;
    },
  );
}
