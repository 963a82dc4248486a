/**
 * Request items, as HTTPie and xh spell them:
 *
 * | item            | meaning                                              |
 * | --------------- | ---------------------------------------------------- |
 * | `Header:value`  | a request header (`Header:` drops a default one)     |
 * | `Header;`       | a header with an empty value                         |
 * | `name==value`   | a query parameter                                    |
 * | `name=value`    | a JSON string field, or a form field with `--form`   |
 * | `name:=json`    | a raw JSON field (`count:=3`, `tags:='["a"]'`)       |
 * | `name@path`     | a file upload (`--form`: multipart); `;type=…` sets its type |
 * | `name=@path`    | a field whose value is the file's text               |
 * | `name:=@path`   | a raw JSON field read from a file                    |
 *
 * The separator is the first one found from the left (the longest at that place); a
 * backslash makes the next character literal (`a\:b=c` is the field `a:b`).
 *
 * @module
 */

import { UsageError } from "./exit_codes.ts";

/** One parsed request item. */
export type Item =
  | { kind: "header"; name: string; value: string | null }
  | { kind: "query"; name: string; value: string }
  | { kind: "data"; name: string; value: string }
  | { kind: "json"; name: string; value: string }
  | { kind: "file"; name: string; path: string; contentType: string | null }
  | { kind: "dataFile"; name: string; path: string }
  | { kind: "jsonFile"; name: string; path: string };

// Longest first, so that at one position `:=@` wins over `:=` and `:`.
const SEPARATORS: [string, Item["kind"]][] = [
  [":=@", "jsonFile"],
  ["=@", "dataFile"],
  ["==", "query"],
  [":=", "json"],
  ["=", "data"],
  [":", "header"],
  ["@", "file"],
  [";", "header"],
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `text` has a separator, so that it reads as an item (not a URL or method). */
export function looksLikeItem(text: string): boolean {
  try {
    parseItem(text);
    return true;
  } catch {
    return false;
  }
}

/** Parses one item; throws a {@linkcode UsageError} naming it when it is not one. */
export function parseItem(text: string): Item {
  let name = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "\\" && i + 1 < text.length) {
      name += text[++i];
      continue;
    }
    const found = SEPARATORS.find(([separator]) => text.startsWith(separator, i));
    // `;` only ends a header name at the end of the item (`X-Empty;`).
    if (found && !(found[0] === ";" && i !== text.length - 1)) {
      const [separator, kind] = found;
      const value = unescape(text.slice(i + separator.length));
      return makeItem(text, kind, separator, name, value);
    }
    name += char;
  }
  throw new UsageError(
    `Invalid request item "${text}": expected Header:value, name==value, name=value, ` +
      `name:=json or field@file`,
  );
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, "$1");
}

function makeItem(
  text: string,
  kind: Item["kind"],
  separator: string,
  name: string,
  value: string,
): Item {
  if (name === "") throw new UsageError(`Invalid request item "${text}": the name is empty`);
  switch (kind) {
    case "header":
      if (!TOKEN.test(name)) {
        throw new UsageError(`Invalid header name "${name}" in "${text}"`);
      }
      if (separator === ";") return { kind, name, value: "" };
      return { kind, name, value: value.trim() === "" ? null : value.trim() };
    case "json":
      try {
        JSON.parse(value);
      } catch {
        throw new UsageError(`Invalid JSON in "${text}": "${value}" does not parse`);
      }
      return { kind, name, value };
    case "file": {
      const typed = /^(.*);type=([^;]+)$/.exec(value);
      const path = typed ? typed[1] : value;
      if (path === "") throw new UsageError(`Invalid request item "${text}": the path is empty`);
      return { kind, name, path, contentType: typed ? typed[2] : null };
    }
    case "dataFile":
    case "jsonFile":
      if (value === "") throw new UsageError(`Invalid request item "${text}": the path is empty`);
      return { kind, name, path: value };
    default:
      return { kind, name, value };
  }
}

/** How data items are sent. */
export type BodyMode = "json" | "form";

/** What the items ask of the request. */
export interface RequestParts {
  /** Headers to send, in order (a name may repeat). */
  headers: [string, string][];
  /** Default headers to drop (`Header:`). */
  removeHeaders: string[];
  /** Query parameters, in order. */
  params: [string, string][];
  /**
   * The JSON object's fields as JSON text (raw fields exactly as given, so big numbers and
   * formatting survive), or `null` when there are none. A repeated name keeps the last.
   */
  json: Map<string, string> | null;
  /** Form fields (with `--form`). */
  form: [string, string][];
  /** File fields (with `--form`): name, path, content type. */
  files: { name: string; path: string; contentType: string | null }[];
}

/** The JSON text of the object built from data items. */
export function jsonBody(fields: Map<string, string>): string {
  return `{${[...fields].map(([name, value]) => `${JSON.stringify(name)}:${value}`).join(",")}}`;
}

/** Whether the items carry a body (data, JSON or files). */
export function hasData(parts: RequestParts): boolean {
  return parts.json !== null || parts.form.length > 0 || parts.files.length > 0;
}

/**
 * Turns items into request parts; `readText` reads `=@` and `:=@` files. Throws a
 * {@linkcode UsageError} for raw JSON or files in the wrong mode and for unreadable JSON.
 */
export async function requestParts(
  items: Item[],
  mode: BodyMode,
  readText: (path: string) => Promise<string>,
): Promise<RequestParts> {
  const parts: RequestParts = {
    headers: [],
    removeHeaders: [],
    params: [],
    json: null,
    form: [],
    files: [],
  };
  const field = (name: string, value: string, raw: boolean) => {
    if (mode === "json") {
      parts.json ??= new Map();
      parts.json.delete(name);
      parts.json.set(name, raw ? value.trim() : JSON.stringify(value));
    } else if (raw) {
      throw new UsageError(`Raw JSON field "${name}" cannot be sent in a form: drop --form`);
    } else {
      parts.form.push([name, value]);
    }
  };
  for (const item of items) {
    switch (item.kind) {
      case "header":
        if (item.value === null) parts.removeHeaders.push(item.name);
        else parts.headers.push([item.name, item.value]);
        break;
      case "query":
        parts.params.push([item.name, item.value]);
        break;
      case "data":
        field(item.name, item.value, false);
        break;
      case "json":
        field(item.name, item.value, true);
        break;
      case "dataFile":
        field(item.name, await readItemFile(item.path, readText), false);
        break;
      case "jsonFile": {
        const text = await readItemFile(item.path, readText);
        try {
          JSON.parse(text);
        } catch {
          throw new UsageError(`Invalid JSON in file "${item.path}" (item "${item.name}")`);
        }
        field(item.name, text, true);
        break;
      }
      case "file":
        if (mode !== "form") {
          throw new UsageError(`File field "${item.name}@${item.path}" needs --form`);
        }
        parts.files.push({ name: item.name, path: item.path, contentType: item.contentType });
        break;
    }
  }
  return parts;
}

async function readItemFile(
  path: string,
  readText: (path: string) => Promise<string>,
): Promise<string> {
  try {
    return await readText(path);
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new UsageError(`Cannot read "${path}": ${reason}`);
  }
}
