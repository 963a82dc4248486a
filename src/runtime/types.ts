/**
 * The contract of file access: what the runtime's implementation (or a program's own,
 * given to `setFileAccess`) provides to the client.
 *
 * @module
 */

/** An opened file: its size when known, and its bytes as a stream. */
export interface OpenedFile {
  /** The size in bytes, or `null` when the runtime cannot tell. */
  size: number | null;
  /** The file's bytes; reading them to the end (or cancelling) closes the file. */
  stream: ReadableStream<Uint8Array>;
}

/** Reads files for the client. */
export interface FileAccess {
  /** Reads a whole text file (UTF-8). */
  readTextFile(path: string): Promise<string>;
  /** Opens a file for streaming. */
  openFile(path: string): Promise<OpenedFile>;
  /** The names in a directory (for `SSL_CERT_DIR`); optional. */
  listDir?(path: string): Promise<string[]>;
}
