/**
 * The CA certificates a TLS connection trusts besides the runtime's own: PEM text given in
 * {@linkcode TlsSettings.caCerts}, files and folders named in
 * {@linkcode TlsSettings.caFiles}, and with {@linkcode TlsSettings.trustEnv} those of
 * `SSL_CERT_FILE` and `SSL_CERT_DIR`.
 *
 * Files are read when a TLS connection first needs them (never for plain `http://`), once
 * per process and path, through the runtime's file access. A read that fails becomes a
 * {@linkcode ConnectError} that names the file and why: under Deno without read
 * permission, the permission to grant. An environment variable that names a missing file
 * is skipped, as OpenSSL does; a missing file named in `caFiles` is an error.
 *
 * @module
 */

import { ConnectError } from "../errors.ts";
import { getEnv } from "../runtime/env.ts";
import { ensureFileAccess, fileAccess } from "../runtime/files.ts";
import type { TlsSettings } from "./types.ts";
import { describeError } from "./_common.ts";

const NONE: readonly string[] = Object.freeze([]);

/** Splits PEM text into its certificates. */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** Where a path came from, for messages and for how a missing file is treated. */
type Source = "caFiles" | "SSL_CERT_FILE" | "SSL_CERT_DIR" | "NODE_EXTRA_CA_CERTS";

/** Certificates read per source and path: one read per process. */
const loaded = new Map<string, Promise<readonly string[]>>();

/**
 * The CA certificates (PEM, one per entry) to trust besides the runtime's own for
 * `settings`. Without files to read this answers at once; otherwise it reads them (once
 * per process and path). Rejects with a {@linkcode ConnectError} naming the file.
 */
export function extraCaCertificates(
  settings: TlsSettings,
): readonly string[] | Promise<readonly string[]> {
  const caCerts = settings.caCerts ?? NONE;
  const paths = caPaths(settings);
  if (paths.length === 0) return caCerts;
  return Promise.all(paths.map(([source, path]) => load(source, path))).then((lists) => [
    ...caCerts,
    ...lists.flat(),
  ]);
}

/**
 * The files and folders `settings` names, with their source: a key for caches of what is
 * built from them (it changes when the environment does).
 */
export function caPaths(settings: TlsSettings): [Source, string][] {
  const paths: [Source, string][] = [];
  for (const path of settings.caFiles ?? NONE) paths.push(["caFiles", path]);
  if (settings.trustEnv && settings.verify !== false) {
    const file = getEnv("SSL_CERT_FILE");
    const dir = getEnv("SSL_CERT_DIR");
    if (file) paths.push(["SSL_CERT_FILE", file]);
    if (dir) {
      for (const entry of dir.split(":")) if (entry) paths.push(["SSL_CERT_DIR", entry]);
    }
  }
  return paths;
}

/**
 * The certificates of one file or folder (read once per process), `source` saying where
 * its path came from: a path from the environment that names nothing is skipped.
 */
export function load(source: Source, path: string): Promise<readonly string[]> {
  const key = `${source}\n${path}`;
  let certificates = loaded.get(key);
  if (certificates === undefined) {
    certificates = read(source, path);
    // A failure is not kept: the next connection tries again (a permission granted since).
    certificates.catch(() => loaded.delete(key));
    loaded.set(key, certificates);
  }
  return certificates;
}

async function read(source: Source, path: string): Promise<readonly string[]> {
  const fromEnv = source !== "caFiles";
  if (!(await ensureFileAccess())) {
    if (fromEnv) return NONE;
    throw new ConnectError(
      `Cannot read the CA certificates in ${JSON.stringify(path)} (${source}): ` +
        "no file access is registered (see setFileAccess)",
    );
  }
  const access = fileAccess(path);
  try {
    if (source !== "SSL_CERT_DIR") {
      try {
        return pemCertificates(await access.readTextFile(path));
      } catch (error) {
        // A folder given in caFiles is read as SSL_CERT_DIR is.
        if (codeOf(error) !== "EISDIR" || fromEnv) throw error;
      }
    }
    const certificates: string[] = [];
    for (const entry of (await access.listDir?.(path)) ?? []) {
      if (!/\.(pem|crt|cer)$|^[0-9a-f]{8}\.\d+$/i.test(entry)) continue;
      try {
        certificates.push(...pemCertificates(await access.readTextFile(`${path}/${entry}`)));
      } catch (error) {
        // An unreadable entry is skipped, as OpenSSL does; a missing permission is not.
        if (isPermissionError(error)) throw error;
      }
    }
    return certificates;
  } catch (error) {
    if (fromEnv && (codeOf(error) === "ENOENT" || codeOf(error) === "ENOTDIR")) return NONE;
    throw readError(source, path, error);
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Deno without `--allow-read` (NotCapable; PermissionDenied before Deno 2). */
function isPermissionError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "NotCapable" || (name === "PermissionDenied" && codeOf(error) !== "EACCES");
}

function readError(source: Source, path: string, error: unknown): ConnectError {
  const what = `Cannot read the CA certificates in ${JSON.stringify(path)} (${source})`;
  if (isPermissionError(error)) {
    const instead = source === "caFiles"
      ? "pass the certificates as PEM text"
      : "pass trustEnv: false to use only the runtime's own trust store";
    return new ConnectError(
      `${what}: Deno needs read permission for it: run with --allow-read=${path}, or ${instead}`,
      { cause: error },
    );
  }
  const reason = codeOf(error) === "ENOENT"
    ? "no such file or directory (ENOENT)"
    : describeError(error);
  return new ConnectError(`${what}: ${reason}`, { cause: error });
}
