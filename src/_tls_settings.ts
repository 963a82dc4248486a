/**
 * The client's TLS settings (`verify`, `cert`, `trustEnv`) turned into the pool's:
 * CA certificates and client certificates as PEM text, read from files where paths are
 * given, and `SSL_CERT_FILE` / `SSL_CERT_DIR` with `trustEnv`. The CA certificates given
 * are trusted in addition to the runtime's own roots.
 *
 * @module
 */

import type { TlsSettings } from "./connection/mod.ts";
import { ensureFileAccess, fileAccess } from "./runtime/files.ts";
import { getEnv } from "./runtime/env.ts";

/**
 * A client certificate: PEM text or file paths of the certificate chain and its key (a
 * single string names one file holding both).
 */
export type CertInit = string | readonly [string, string] | { cert: string; key: string };

/** The TLS part of the client's options. */
export interface TlsInit {
  /** `true` (default), `false`, or extra CA certificates as PEM text or a file path. */
  verify?: boolean | string;
  /** A client certificate. */
  cert?: CertInit;
  /** Whether to read `SSL_CERT_FILE` and `SSL_CERT_DIR`. Default `true`. */
  trustEnv?: boolean;
}

function isPem(text: string): boolean {
  return text.includes("-----BEGIN ");
}

async function readPemOrPath(value: string): Promise<string> {
  if (isPem(value)) return value;
  await ensureFileAccess();
  return await fileAccess(value).readTextFile(value);
}

/** Splits PEM text into its certificates. */
function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The pool's TLS settings for the client's options, or `null` when all are defaults. */
export async function tlsSettings(options: TlsInit): Promise<TlsSettings | null> {
  const tls: TlsSettings = {};
  const verify = options.verify ?? true;
  if (verify === false) tls.verify = false;
  const caCerts: string[] = [];
  if (typeof verify === "string") caCerts.push(...pemCertificates(await readPemOrPath(verify)));
  else if (verify === true && (options.trustEnv ?? true)) {
    caCerts.push(...await certificatesFromEnv());
  }
  if (caCerts.length > 0) tls.caCerts = caCerts;
  const cert = options.cert;
  if (cert !== undefined) {
    if (typeof cert === "string") {
      const text = await readPemOrPath(cert);
      tls.cert = pemCertificates(text).join("\n");
      tls.key = text.match(
        /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/,
      )
        ?.[0];
      if (!tls.key) {
        throw new TypeError(`Invalid cert ${JSON.stringify(cert)}: no private key found in it`);
      }
    } else {
      const [certValue, keyValue] = Array.isArray(cert)
        ? cert as readonly [string, string]
        : [(cert as { cert: string }).cert, (cert as { key: string }).key];
      tls.cert = await readPemOrPath(certValue);
      tls.key = await readPemOrPath(keyValue);
    }
  }
  return Object.keys(tls).length === 0 ? null : tls;
}

/** CA certificates read from the environment, by `SSL_CERT_FILE` and `SSL_CERT_DIR`. */
const envCertificates = new Map<string, Promise<string[]>>();

async function certificatesFromEnv(): Promise<string[]> {
  const file = getEnv("SSL_CERT_FILE");
  const dir = getEnv("SSL_CERT_DIR");
  if (!file && !dir) return [];
  // Without file access (Deno, unless the program registers one) the runtime's own trust
  // store applies.
  if (!(await ensureFileAccess())) return [];
  // Read once per process and setting: one-off requests make a client each time.
  const key = `${file ?? ""}\n${dir ?? ""}`;
  let certificates = envCertificates.get(key);
  if (certificates === undefined) {
    certificates = readEnvCertificates(file, dir);
    certificates.catch(() => envCertificates.delete(key));
    envCertificates.set(key, certificates);
  }
  return certificates;
}

async function readEnvCertificates(
  file: string | undefined,
  dir: string | undefined,
): Promise<string[]> {
  const certificates: string[] = [];
  if (file) certificates.push(...pemCertificates(await fileAccess(file).readTextFile(file)));
  if (dir) {
    const access = fileAccess(dir);
    for (const entry of (await access.listDir?.(dir)) ?? []) {
      if (!/\.(pem|crt|cer)$|^[0-9a-f]{8}\.\d+$/i.test(entry)) continue;
      try {
        certificates.push(...pemCertificates(await access.readTextFile(`${dir}/${entry}`)));
      } catch {
        // An unreadable entry is skipped, as OpenSSL does.
      }
    }
  }
  return certificates;
}
