/**
 * Request content types, as in httpx 1.0: {@linkcode Text}, {@linkcode HTML},
 * {@linkcode JSONContent} (also exported as `JSON`), {@linkcode Form} (urlencoded),
 * {@linkcode FileContent}, {@linkcode Files} and {@linkcode MultiPart} (`multipart/form-data`,
 * files streamed, never loaded whole). Each one encodes, without I/O, into a body, a
 * `Content-Type` and, when it can be known up front, a length.
 *
 * httpx 1.0 names the file type `File`; Ferry calls it `FileContent` so that importing it
 * does not hide the runtime's global `File` (which Ferry takes as an upload too).
 *
 * {@linkcode encodeBody} and {@linkcode encodeRequestContent} are how the client turns
 * its `content`, `json`, `data` and `files` options into a body: through these types.
 *
 * @module
 */

import { concatBytes, ReplayableBody, type RequestContent, utf8 } from "./models/body.ts";
import { QueryParams, type QueryParamsInit } from "./models/query_params.ts";
import { ensureFileAccess, fileAccess, type OpenedFile } from "./runtime/files.ts";
import { LocalProtocolError } from "./errors.ts";

/** The `Content-Type` of a multipart body; a boundary that is not a token is quoted. */
function multipartType(boundary: string): string {
  return /^[0-9A-Za-z!#$%&'*+\-.^_`|~]+$/.test(boundary)
    ? `multipart/form-data; boundary=${boundary}`
    : `multipart/form-data; boundary="${boundary}"`;
}

/** A multipart boundary as RFC 2046 allows it (`bchars`, 1 to 70, not ending in a space). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** What a {@linkcode Content} encodes into. */
export interface EncodedContent {
  /** The body. */
  body: RequestContent | null;
  /** The `Content-Type` to send, or `null` for none. */
  contentType: string | null;
  /** The body's length in bytes when known up front (`Content-Length`), else `null`. */
  contentLength: number | null;
  /**
   * When the length needs I/O (files given by path): opens them and returns the length.
   * The client calls it when the request is sent, so that the body carries a
   * `Content-Length` (many servers refuse chunked uploads).
   */
  prepareLength?: () => Promise<number | null>;
}

/**
 * A request body that knows its own content type.
 *
 * @example A custom content type
 * ```ts
 * import { Content, type EncodedContent } from "@ferry/ferry";
 * class Csv extends Content {
 *   constructor(private rows: string[][]) { super(); }
 *   encode(): EncodedContent {
 *     const body = new TextEncoder().encode(this.rows.map((r) => r.join(",")).join("\n"));
 *     return { body, contentType: "text/csv", contentLength: body.length };
 *   }
 * }
 * console.log(new Csv([["a", "b"]]).encode().contentType); // "text/csv"
 * ```
 */
export abstract class Content {
  /** Encodes into a body, a content type and, when known, a length (no I/O). */
  abstract encode(): EncodedContent;
}

function bytesContent(bytes: Uint8Array, contentType: string): EncodedContent {
  return { body: bytes, contentType, contentLength: bytes.length };
}

/**
 * Plain text, `text/plain; charset=utf-8`.
 *
 * @example
 * ```ts
 * import { Text } from "@ferry/ferry";
 * console.log(new Text("hello").encode().contentType); // "text/plain; charset=utf-8"
 * ```
 */
export class Text extends Content {
  /** The text. */
  readonly text: string;
  /** Wraps `text`. */
  constructor(text: string) {
    super();
    this.text = text;
  }
  /** UTF-8 bytes, `text/plain; charset=utf-8`. */
  encode(): EncodedContent {
    return bytesContent(utf8(this.text), "text/plain; charset=utf-8");
  }
}

/**
 * HTML, `text/html; charset=utf-8`.
 *
 * @example
 * ```ts
 * import { HTML } from "@ferry/ferry";
 * console.log(new HTML("<p>hi</p>").encode().contentType); // "text/html; charset=utf-8"
 * ```
 */
export class HTML extends Content {
  /** The markup. */
  readonly html: string;
  /** Wraps `html`. */
  constructor(html: string) {
    super();
    this.html = html;
  }
  /** UTF-8 bytes, `text/html; charset=utf-8`. */
  encode(): EncodedContent {
    return bytesContent(utf8(this.html), "text/html; charset=utf-8");
  }
}

/**
 * A JSON document, `application/json` (exported as `JSON` too, as httpx names it).
 *
 * @example
 * ```ts
 * import { JSONContent } from "@ferry/ferry";
 * const encoded = new JSONContent({ a: 1 }).encode();
 * console.log(encoded.contentType, encoded.contentLength); // "application/json" 7
 * ```
 */
export class JSONContent extends Content {
  /** The value to serialise. */
  readonly data: unknown;
  /** Wraps a value to be sent as JSON. */
  constructor(data: unknown) {
    super();
    this.data = data;
  }
  /** Compact JSON in UTF-8. */
  encode(): EncodedContent {
    return bytesContent(utf8(globalThis.JSON.stringify(this.data)), "application/json");
  }
}

export { JSONContent as JSON };

/**
 * A urlencoded form, `application/x-www-form-urlencoded`, multi-valued.
 *
 * @example
 * ```ts
 * import { Form } from "@ferry/ferry";
 * console.log(new Form({ a: "1", b: ["2", "3"] }).toString()); // "a=1&b=2&b=3"
 * ```
 */
export class Form extends Content {
  /** The fields, in order. */
  readonly fields: QueryParams;
  /** Builds a form from a record (arrays for several values), pairs or a query string. */
  constructor(fields?: QueryParamsInit | null) {
    super();
    this.fields = fields instanceof QueryParams ? fields : new QueryParams(fields);
  }
  /** The urlencoded body. */
  encode(): EncodedContent {
    return bytesContent(utf8(this.fields.toString()), "application/x-www-form-urlencoded");
  }
  /** The urlencoded form. */
  override toString(): string {
    return this.fields.toString();
  }
}

// A few common types; unknown extensions are sent as application/octet-stream.
const CONTENT_TYPES: Record<string, string> = {
  ".txt": "text/plain",
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".csv": "text/csv",
  ".xml": "application/xml",
  ".json": "application/json",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".ico": "image/vnd.microsoft.icon",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".wasm": "application/wasm",
  ".xls": "application/vnd.ms-excel",
  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ".doc": "application/msword",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".md": "text/markdown",
};

/**
 * The content type for a file name, from its extension (`application/octet-stream` when
 * unknown).
 *
 * @example
 * ```ts
 * import { guessContentType } from "@ferry/ferry/advanced";
 * console.log(guessContentType("report.xls")); // "application/vnd.ms-excel"
 * ```
 */
export function guessContentType(filename: string): string {
  const dot = filename.lastIndexOf(".");
  if (dot === -1) return "application/octet-stream";
  return CONTENT_TYPES[filename.slice(dot).toLowerCase()] ?? "application/octet-stream";
}

/** What a {@linkcode FileContent} can read from: a path, or the bytes themselves. */
export type FileSource =
  | string
  | Uint8Array
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

/** Options of a {@linkcode FileContent}. */
export interface FileOptions {
  /** The file name sent; `null` sends none (and no content type). Default: the path's name. */
  filename?: string | null;
  /** The content type sent; default: guessed from the file name. */
  contentType?: string;
  /** Treat a string source as content, not as a path. */
  isContent?: boolean;
  /**
   * The size in bytes, when known for a path or stream: lets the body carry a
   * `Content-Length` instead of being sent chunked.
   */
  size?: number;
}

/** One part's bytes: its size when known, the bytes, and how to learn the size by I/O. */
export interface FilePart {
  /** The size in bytes when known without I/O, else `null`. */
  size: number | null;
  /** A one-shot iterable over the bytes. */
  stream: () => AsyncIterable<Uint8Array>;
  /** Opens the file ahead of sending and returns its size (paths only). */
  prepare?: () => Promise<number | null>;
}

type OpenedPart = FilePart;

async function* readableChunks(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function openPath(path: string): Promise<OpenedFile> {
  await ensureFileAccess();
  return await fileAccess(path).openFile(path);
}

function pathPart(path: string, size: number | null): FilePart {
  const part: FilePart = {
    size,
    async *stream() {
      const file = await openPath(path);
      yield* readableChunks(file.stream);
    },
    // Opened for its size and closed again at once: a request that fails before its body
    // is sent then leaves no open file behind. (A file that changes size in between makes
    // the connection layer refuse the body, since its count no longer matches.)
    async prepare() {
      const file = await openPath(path);
      await file.stream.cancel().catch(() => {});
      part.size = file.size;
      return file.size;
    },
  };
  return part;
}

/**
 * A file to upload: a path (opened when the request is sent, and streamed), a `Blob`,
 * bytes or a stream. A path's size is learnt when the client sends the request, so the
 * body carries a `Content-Length`; a stream's only when `size` is given (else chunked).
 *
 * A web `File` or `Blob` given as a source keeps its name and type.
 *
 * @example Upload a file from disk
 * ```ts ignore
 * import { Client, FileContent } from "@ferry/ferry";
 * await using client = new Client();
 * const report = new FileContent("report.xls"); // opened when the request is sent
 * await client.post("https://example.com/upload", { files: { report } });
 * ```
 */
export class FileContent extends Content {
  /** Where the bytes come from. */
  readonly source: FileSource;
  /** The file name sent, or `null`. */
  readonly filename: string | null;
  /** The content type sent, or `null` (when there is no file name). */
  readonly contentType: string | null;
  #isPath: boolean;
  #size: number | null;

  /** Describes a file to upload. A string is a path unless `isContent` is set. */
  constructor(source: FileSource, options: FileOptions = {}) {
    super();
    this.source = source;
    this.#isPath = typeof source === "string" && !options.isContent;
    this.#size = options.size ?? null;
    let filename: string | null;
    if (options.filename !== undefined) filename = options.filename;
    else if (this.#isPath) filename = (source as string).split(/[\\/]/).pop() || null;
    else if (typeof Blob !== "undefined" && source instanceof Blob) {
      // A web File's name (Bun gives plain Blobs a `name` too, undefined).
      const name = (source as { name?: unknown }).name;
      filename = typeof name === "string" && name !== "" ? name : "upload";
    } else filename = "upload";
    this.filename = filename;
    const blobType = typeof Blob !== "undefined" && source instanceof Blob && source.type
      ? source.type
      : undefined;
    this.contentType = options.contentType ?? blobType ??
      (filename === null ? null : guessContentType(filename));
    if (this.contentType !== null && /[\r\n\0]/.test(this.contentType)) {
      throw new LocalProtocolError(
        `Invalid content type ${JSON.stringify(this.contentType)}: CR, LF and NUL are not allowed`,
      );
    }
  }

  /** The size when known without I/O, and a one-shot iterable over the bytes. */
  part(): FilePart {
    const source = this.source;
    if (typeof source === "string") {
      if (this.#isPath) {
        return this.#size !== null
          ? { size: this.#size, stream: pathPart(source, this.#size).stream }
          : pathPart(source, null);
      }
      const bytes = utf8(source);
      return { size: bytes.length, stream: () => oneChunk(bytes) };
    }
    if (source instanceof Uint8Array) {
      return { size: source.length, stream: () => oneChunk(source) };
    }
    if (typeof Blob !== "undefined" && source instanceof Blob) {
      return { size: source.size, stream: () => readableChunks(source.stream()) };
    }
    if (source instanceof ReadableStream) {
      return { size: this.#size, stream: () => readableChunks(source) };
    }
    return { size: this.#size, stream: () => source as AsyncIterable<Uint8Array> };
  }

  /** The file alone as a body (not multipart), with its content type. */
  encode(): EncodedContent {
    const part = this.part();
    return {
      body: part.stream(),
      contentType: this.contentType ?? "application/octet-stream",
      contentLength: part.size,
      ...(part.prepare ? { prepareLength: part.prepare } : {}),
    };
  }
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}

/**
 * A value for one file field: a {@linkcode FileContent}, a web `File` or `Blob`, bytes, a
 * stream, or httpx's tuple `[filename, content, contentType?]` (a string content there is
 * the content, not a path). `undefined` values are skipped.
 */
export type FileValue =
  | FileContent
  | Uint8Array
  | Blob
  | ReadableStream<Uint8Array>
  | readonly [string | null, FileSource, string?];

/** What {@linkcode Files} can be built from: field names to one or several files. */
export type FilesInit =
  | Files
  | Record<string, FileValue | readonly FileValue[] | undefined>
  | Iterable<readonly [string, FileValue]>;

function toFile(value: FileValue): FileContent {
  if (value instanceof FileContent) return value;
  if (Array.isArray(value)) {
    const [filename, content, contentType] = value as readonly [string | null, FileSource, string?];
    return new FileContent(content, { filename, contentType, isContent: true });
  }
  return new FileContent(value as FileSource);
}

/**
 * Files to upload as `multipart/form-data`.
 *
 * @example
 * ```ts
 * import { Files } from "@ferry/ferry";
 * const files = new Files({ note: ["note.txt", "hello", "text/plain"] });
 * console.log(files.entries.length); // 1
 * ```
 */
export class Files extends Content {
  /** The fields, in order. */
  readonly entries: [string, FileContent][];
  /** Builds the file fields. */
  constructor(files?: FilesInit | null) {
    super();
    this.entries = [];
    if (files == null) return;
    if (files instanceof Files) this.entries = files.entries.slice();
    else if (Symbol.iterator in files) {
      for (const [name, value] of files as Iterable<readonly [string, FileValue]>) {
        this.entries.push([name, toFile(value)]);
      }
    } else {
      for (const [name, value] of Object.entries(files)) {
        if (value === undefined) continue;
        const values = Array.isArray(value) && (value.length === 0 || !isTuple(value))
          ? value as readonly FileValue[]
          : [value as FileValue];
        for (const item of values) this.entries.push([name, toFile(item)]);
      }
    }
  }
  /** Encodes as `multipart/form-data` with no other fields. */
  encode(): EncodedContent {
    return new MultiPart({ files: this }).encode();
  }
}

function isTuple(value: readonly unknown[]): boolean {
  const first = value[0];
  return first === null || typeof first === "string";
}

/** Options of {@linkcode MultiPart}. */
export interface MultiPartOptions {
  /** Plain fields. */
  form?: QueryParamsInit | null;
  /** File fields. */
  files?: FilesInit | null;
  /** The boundary; random by default. */
  boundary?: string;
}

/** Quotes a name for a `Content-Disposition` parameter the way browsers do (HTML5). */
function quoteParameter(value: string): string {
  return value.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
}

function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A `multipart/form-data` body of plain fields and files. Files are opened when the body
 * is encoded and streamed part by part; `Content-Length` is sent when every size is known.
 *
 * @example
 * ```ts
 * import { MultiPart } from "@ferry/ferry";
 * const body = new MultiPart({ form: { a: "1" }, files: { f: ["f.txt", "x"] }, boundary: "B" });
 * console.log(body.encode().contentType); // "multipart/form-data; boundary=B"
 * ```
 */
export class MultiPart extends Content {
  /** The plain fields. */
  readonly form: QueryParams;
  /** The file fields. */
  readonly files: Files;
  /** The boundary between parts. */
  readonly boundary: string;

  /** Builds a multipart body from fields and files. */
  constructor(options: MultiPartOptions = {}) {
    super();
    this.form = options.form instanceof QueryParams ? options.form : new QueryParams(options.form);
    this.files = options.files instanceof Files ? options.files : new Files(options.files);
    this.boundary = options.boundary ?? randomBoundary();
    if (!BOUNDARY.test(this.boundary)) {
      throw new LocalProtocolError(
        `Invalid multipart boundary ${
          JSON.stringify(this.boundary)
        }: 1 to 70 of A-Z a-z 0-9 '()+_,-./:=? and spaces, not ending in a space (RFC 2046)`,
      );
    }
  }

  /**
   * The multipart form of a web `FormData`: its strings as fields, its `File`s as files
   * (with their names and types), streamed from the runtime's `Blob`s. Fields go first,
   * then files, as httpx orders them.
   *
   * @example
   * ```ts
   * import { MultiPart } from "@ferry/ferry";
   * const form = new FormData();
   * form.append("name", "ferry");
   * form.append("notes", new File(["hello"], "notes.txt", { type: "text/plain" }));
   * const body = MultiPart.fromFormData(form);
   * console.log(body.files.entries[0][1].filename); // "notes.txt"
   * ```
   */
  static fromFormData(formData: FormData, boundary?: string): MultiPart {
    const fields: [string, string][] = [];
    const files: [string, FileContent][] = [];
    for (const [name, value] of formData) {
      if (typeof value === "string") fields.push([name, value]);
      else files.push([name, new FileContent(value)]);
    }
    return new MultiPart({ form: fields, files, boundary });
  }

  /**
   * The body: in memory when every part is, else streamed part by part (files are opened
   * as they are reached).
   */
  encode(): EncodedContent {
    const boundary = this.boundary;
    const heads: Uint8Array[] = [];
    const parts: (OpenedPart | Uint8Array)[] = [];
    for (const [name, value] of this.form) {
      heads.push(utf8(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParameter(name)}"\r\n\r\n`,
      ));
      parts.push(utf8(value));
    }
    for (const [name, file] of this.files.entries) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParameter(name)}"`;
      if (file.filename !== null) head += `; filename="${quoteParameter(file.filename)}"`;
      head += "\r\n";
      if (file.contentType !== null) head += `Content-Type: ${file.contentType}\r\n`;
      heads.push(utf8(head + "\r\n"));
      parts.push(file.part());
    }
    const crlf = utf8("\r\n");
    const tail = utf8(`--${boundary}--\r\n`);
    let length: number | null = tail.length;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const size = part instanceof Uint8Array ? part.length : part.size;
      if (length !== null && size !== null) length += heads[i].length + size + crlf.length;
      else length = null;
    }
    if (parts.every((part) => part instanceof Uint8Array)) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < parts.length; i++) chunks.push(heads[i], parts[i] as Uint8Array, crlf);
      chunks.push(tail);
      const bytes = concatBytes(chunks);
      return {
        body: bytes,
        contentType: multipartType(boundary),
        contentLength: bytes.length,
      };
    }
    async function* body(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < parts.length; i++) {
        yield heads[i];
        const part = parts[i];
        if (part instanceof Uint8Array) {
          if (part.length > 0) yield part;
        } else {
          for await (const chunk of part.stream()) if (chunk.length > 0) yield chunk;
        }
        yield crlf;
      }
      yield tail;
    }
    const prepares = parts.filter((part): part is FilePart =>
      !(part instanceof Uint8Array) && part.prepare !== undefined
    );
    const prepareLength = async (): Promise<number | null> => {
      for (const part of prepares) await part.prepare!();
      let total = tail.length;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const size = part instanceof Uint8Array ? part.length : part.size;
        if (size === null) return null;
        total += heads[i].length + size + crlf.length;
      }
      return total;
    };
    return {
      body: body(),
      contentType: multipartType(boundary),
      contentLength: length,
      ...(length === null && prepares.length > 0 ? { prepareLength } : {}),
    };
  }
}

/** What the `content` option takes: raw bytes or text, a stream, or a web body type. */
export type BodyInit =
  | RequestContent
  | Content
  | Blob
  | ArrayBuffer
  | FormData
  | URLSearchParams;

/**
 * Encodes a `content` option: a {@linkcode Content} as itself, a `FormData` as
 * {@linkcode MultiPart} (with `boundary` when given), `URLSearchParams` as a
 * {@linkcode Form}, a `Blob` with its type (read afresh each time it is sent, so it can
 * be resent), and bytes, text or streams as they are, without a content type.
 *
 * @example
 * ```ts ignore
 * const encoded = encodeBody(new URLSearchParams({ q: "a b" }));
 * console.log(encoded.contentType); // "application/x-www-form-urlencoded"
 * ```
 */
export function encodeBody(content: BodyInit, boundary?: string): EncodedContent {
  if (content instanceof Content) return content.encode();
  if (typeof content === "string") {
    const bytes = utf8(content);
    return { body: bytes, contentType: null, contentLength: bytes.length };
  }
  if (content instanceof Uint8Array) {
    return { body: content, contentType: null, contentLength: content.length };
  }
  if (content instanceof ArrayBuffer) {
    return { body: new Uint8Array(content), contentType: null, contentLength: content.byteLength };
  }
  if (typeof FormData !== "undefined" && content instanceof FormData) {
    return MultiPart.fromFormData(content, boundary).encode();
  }
  if (content instanceof URLSearchParams) return new Form(content).encode();
  if (typeof Blob !== "undefined" && content instanceof Blob) {
    // Each send reads the Blob afresh, so redirects and auth challenges can resend it.
    return {
      body: new ReplayableBody(() => content.stream()),
      contentType: content.type || null,
      contentLength: content.size,
    };
  }
  return { body: content as RequestContent, contentType: null, contentLength: null };
}

/** The body options of a request, as the client takes them. */
export interface BodyOptions {
  /** The body as it is (see {@linkcode encodeBody}). */
  content?: BodyInit | null;
  /** A value sent as JSON. */
  json?: unknown;
  /** Form fields: urlencoded, or multipart with `files` (a `FormData` is always multipart). */
  data?: QueryParamsInit | FormData | null;
  /** Files, sent as multipart with `data`'s fields. */
  files?: FilesInit | null;
}

/**
 * The body of a request, as httpx chooses it: `content`, else `files` (multipart, with
 * `data`'s fields), else `data` (urlencoded; multipart when it is a `FormData`), else
 * `json`; `null` when there is none. `boundary` (from the caller's own `Content-Type`)
 * is the multipart boundary when given.
 *
 * @example
 * ```ts ignore
 * const encoded = encodeRequestContent({ json: { a: 1 } });
 * console.log(encoded?.contentType, encoded?.contentLength); // "application/json" 7
 * ```
 */
export function encodeRequestContent(
  options: BodyOptions,
  boundary?: string,
): EncodedContent | null {
  const { content, json, data, files } = options;
  if (content != null) return encodeBody(content, boundary);
  // `data` first: naming the `FormData` global loads it lazily, on Deno on every read.
  const form = data != null && typeof FormData !== "undefined" && data instanceof FormData
    ? MultiPart.fromFormData(data)
    : null;
  if (files != null && !isEmptyFiles(files)) {
    const fields = form === null ? data as QueryParamsInit | null | undefined : form.form;
    const all = form === null ? files : [...form.files.entries, ...new Files(files).entries];
    return new MultiPart({ form: fields, files: all, boundary }).encode();
  }
  if (form !== null) {
    return new MultiPart({ form: form.form, files: form.files, boundary }).encode();
  }
  if (data != null) return new Form(data as QueryParamsInit).encode();
  if (json !== undefined) return new JSONContent(json).encode();
  return null;
}

/** `files: {}` or `files: []` sends no multipart body, as in httpx (a `data` form is urlencoded). */
function isEmptyFiles(files: FilesInit): boolean {
  if (Array.isArray(files)) return files.length === 0;
  return !(files instanceof Files) && Object.getPrototypeOf(files) === Object.prototype &&
    Object.values(files).every((value) => value === undefined);
}

/**
 * The `boundary` parameter of a `multipart/*` content type, unquoted, or `undefined`.
 *
 * @example
 * ```ts ignore
 * multipartBoundary('multipart/form-data; boundary="a b"'); // "a b"
 * ```
 */
export function multipartBoundary(contentType: string | null): string | undefined {
  if (contentType === null || !/^\s*multipart\//i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(contentType);
  if (match === null) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2];
}
