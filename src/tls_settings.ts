/**
 * The client's TLS options (`verify`, `cert`, `trustEnv`) turned into the pool's
 * {@linkcode TlsSettings}, in this one place: CA certificates as PEM text, or the CA files
 * and `SSL_CERT_FILE` / `SSL_CERT_DIR` to read when a TLS connection first needs them
 * (never for plain `http://`), and the client certificate. What is given is trusted in
 * addition to the runtime's own roots.
 *
 * @module
 */

import type { TlsSettings } from "./network/types.ts";
import { pemCertificates } from "./network/ca_certs.ts";
import { ensureFileAccess, fileAccess } from "./runtime/files.ts";

/**
 * A client certificate: PEM text or file paths of the certificate chain and its key (a
 * single string names one file holding both).
 */
export type CertInit = string | readonly [string, string] | { cert: string; key: string };

function isPem(text: string): boolean {
  return text.includes("-----BEGIN ");
}

async function readPemOrPath(value: string): Promise<string> {
  if (isPem(value)) return value;
  await ensureFileAccess();
  return await fileAccess(value).readTextFile(value);
}

/** The pool's TLS settings for the client's options, or `null` when all are defaults. */
export async function tlsSettings(
  options: { verify?: boolean | string; cert?: CertInit; trustEnv?: boolean },
): Promise<TlsSettings | null> {
  const tls: TlsSettings = {};
  const verify = options.verify ?? true;
  if (verify === false) tls.verify = false;
  else if (typeof verify === "string") {
    if (isPem(verify)) tls.caCerts = pemCertificates(verify);
    else tls.caFiles = [verify];
  } else if (options.trustEnv ?? true) tls.trustEnv = true;
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
