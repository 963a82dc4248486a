/**
 * `--download`: the body goes to a file (or to stdout when it is redirected and no
 * `--output` is given), with a progress bar on stderr. `--continue` resumes a partial file
 * with `Range: bytes=N-`: a `206` whose `Content-Range` starts at N is appended, a `200`
 * starts the file over, a `416` for a file already complete is success.
 *
 * The file name, when none is given, comes from `Content-Disposition` (its last path
 * segment, never a path), else the URL's last segment, else `index`; an existing file is
 * never overwritten (`name-1.ext`, `name-2.ext`…).
 *
 * @module
 */

import type { Response } from "../../mod.ts";
import type { Output, System, WritableFile } from "./_system.ts";
import { Progress } from "./progress.ts";
import type { Palette } from "./ansi.ts";

/** Settings of one download. */
export interface DownloadSettings {
  /** `--output`, or `null`. */
  output: string | null;
  /** `--continue`: bytes already in `output`. */
  resumeFrom: number;
  /** Whether to draw the progress bar. */
  progress: boolean;
  /** Colours of the bar. */
  palette: Palette;
}

/** The result of {@linkcode saveBody}: a line for the user. */
export interface DownloadResult {
  /** Where the body went (a path or `"stdout"`). */
  destination: string;
  /** Bytes written by this run. */
  bytes: number;
}

/** A name to save the response under, from `Content-Disposition` or the URL. */
export function suggestFilename(response: Response): string {
  const disposition = response.headers.get("content-disposition") ?? "";
  let name: string | null = null;
  const extended = /filename\*\s*=\s*[\w-]+'[^']*'([^;]+)/i.exec(disposition);
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(disposition);
  if (extended) {
    try {
      name = decodeURIComponent(extended[1].trim());
    } catch {
      name = null;
    }
  }
  if (name === null && plain) name = (plain[1] ?? plain[2]).replace(/\\(.)/g, "$1").trim();
  if (name === null && response.url) {
    const segments = response.url.pathname.split("/");
    try {
      name = decodeURIComponent(segments[segments.length - 1]);
    } catch {
      name = segments[segments.length - 1];
    }
  }
  // Never a path, never hidden, never a control character.
  // deno-lint-ignore no-control-regex
  const safe = (name ?? "").split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, "")
    .replace(/^\.+/, "").trim();
  return safe === "" ? "index" : safe;
}

/** `name.ext`, else `name-1.ext`, `name-2.ext`… whichever does not exist yet. */
export async function unusedFilename(name: string, system: System): Promise<string> {
  if ((await system.fileSize(name)) === null) return name;
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 1;; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if ((await system.fileSize(candidate)) === null) return candidate;
  }
}

/** The total size from a `206`'s `Content-Range: bytes a-b/total`, or `null`. */
export function rangeOf(
  response: Response,
): { start: number; total: number | null } | null {
  const match = /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(response.headers.get("content-range") ?? "");
  if (!match) return null;
  return { start: Number(match[1]), total: match[2] === "*" ? null : Number(match[2]) };
}

/** Whether a `416` says the file on disk is already whole (`Content-Range: bytes * /N`). */
export function alreadyComplete(response: Response, size: number): boolean {
  const match = /^bytes\s+\*\/(\d+)$/i.exec(response.headers.get("content-range") ?? "");
  return response.status === 416 && match !== null && Number(match[1]) === size;
}

/**
 * Streams a successful response's body to its destination with progress. Throws when a
 * `206` does not start where the file ends.
 */
export async function saveBody(
  response: Response,
  settings: DownloadSettings,
  system: System,
): Promise<DownloadResult> {
  let resumedFrom = 0;
  let total: number | null = null;
  const length = response.headers.get("content-length");
  if (length !== null && !response.headers.has("content-encoding")) total = Number(length);

  let mode: "append" | "truncate" | "create" = "truncate";
  if (settings.resumeFrom > 0 && response.status === 206) {
    const range = rangeOf(response);
    if (range === null || range.start !== settings.resumeFrom) {
      throw new Error(
        `Cannot resume: the server sent "Content-Range: ${
          response.headers.get("content-range")
        }" for a file of ${settings.resumeFrom} bytes`,
      );
    }
    mode = "append";
    resumedFrom = settings.resumeFrom;
    total = range.total;
  }

  let destination: string;
  let sink: Output | WritableFile;
  if (settings.output !== null) {
    destination = settings.output;
    sink = await system.openFile(destination, mode);
  } else if (!system.stdout.isTTY) {
    destination = "stdout";
    sink = system.stdout;
  } else {
    destination = await unusedFilename(suggestFilename(response), system);
    sink = await system.openFile(destination, "create");
  }

  const progress = settings.progress
    ? new Progress(system.stderr, {
      palette: settings.palette,
      now: system.now,
      total,
      resumedFrom,
    })
    : null;
  let bytes = 0;
  try {
    for await (const chunk of response.iterBytes()) {
      await sink.write(chunk);
      bytes += chunk.length;
      await progress?.advance(chunk.length);
    }
    await progress?.finish();
  } catch (error) {
    await progress?.abort();
    throw error;
  } finally {
    if ("close" in sink) await sink.close();
  }
  return { destination, bytes };
}
