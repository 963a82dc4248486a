/**
 * Test certificates made with `openssl` in a scratch folder: a CA, a server certificate
 * for `127.0.0.1` and `localhost`, an expired server certificate, a client certificate (all
 * signed by the CA), and a second, unrelated CA. Made once per process and cached.
 *
 * Written on `node:*` so it runs under Deno and Node alike.
 *
 * @example
 * ```ts ignore
 * import { makeTestCertificates } from "./_peers/tls_certs.ts";
 * const certs = await makeTestCertificates();
 * // node:tls server: { cert: certs.serverCertPem, key: certs.serverKeyPem }
 * // client: { caCerts: [certs.caPem], hostname: "localhost" }
 * ```
 */

import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { findExecutable, scratchDir } from "./common.ts";

/** The certificates (PEM) and the folder they were written to. */
export interface TestCertificates {
  /** The scratch folder holding the files (`ca.pem`, `server.pem`, …). */
  dir: string;
  /** The CA that signed the server, expired and client certificates. */
  caPem: string;
  /** Server certificate for `127.0.0.1` and `localhost` (SAN), valid now. */
  serverCertPem: string;
  /** Private key of {@linkcode TestCertificates.serverCertPem}. */
  serverKeyPem: string;
  /** Server certificate for `127.0.0.1` and `localhost` that expired in 2020. */
  expiredCertPem: string;
  /** Private key of {@linkcode TestCertificates.expiredCertPem}. */
  expiredKeyPem: string;
  /** Client certificate (`CN=ferry-test-client`, clientAuth), signed by the CA. */
  clientCertPem: string;
  /** Private key of {@linkcode TestCertificates.clientCertPem} (PKCS#8). */
  clientKeyPem: string;
  /** A second CA that signed nothing here: trusting only it rejects the server. */
  otherCaPem: string;
  /** Removes the folder. Later calls of {@linkcode makeTestCertificates} make new ones. */
  cleanup(): void;
}

/** Where `openssl` is, or `null` when it is not installed. */
export const opensslPath: string | null = findExecutable("/usr/bin/openssl", "/bin/openssl");

/** The peer description for `peerTest`: the Debian package `openssl`. */
export const openssl: { pkg: string; available: boolean } = {
  pkg: "openssl",
  available: opensslPath !== null,
};

let cached: Promise<TestCertificates> | null = null;

/** Makes (once per process) and returns the test certificates. */
export function makeTestCertificates(): Promise<TestCertificates> {
  cached ??= make().catch((error) => {
    cached = null;
    throw error;
  });
  return cached;
}

function run(dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(opensslPath ?? "openssl", args, { cwd: dir }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args[0]} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

const LEAF_EXTENSIONS = (usage: string, san: string | null) =>
  [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${usage}`,
    ...(san ? [`subjectAltName=${san}`] : []),
    "",
  ].join("\n");

const SERVER_SAN = "IP:127.0.0.1,DNS:localhost";

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await run(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  await run(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-sha256",
    "-days",
    "3650",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    `${name}.pem`,
  ]);
}

async function makeKeyAndRequest(dir: string, name: string, cn: string): Promise<void> {
  await run(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    `${name}.key`,
  ]);
  await run(dir, [
    "req",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${cn}`,
    "-out",
    `${name}.csr`,
  ]);
}

async function signLeaf(dir: string, name: string, usage: string, san: string | null) {
  writeFileSync(join(dir, `${name}.ext`), LEAF_EXTENSIONS(usage, san));
  await run(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-sha256",
    "-days",
    "825",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

/** `openssl x509` of OpenSSL 3.0 cannot backdate: `openssl ca` with explicit dates can. */
async function signExpired(dir: string): Promise<void> {
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ ca ]",
      "default_ca = test_ca",
      "[ test_ca ]",
      "dir = .",
      "database = ./index.txt",
      "serial = ./serial",
      "new_certs_dir = .",
      "certificate = ./ca.pem",
      "private_key = ./ca.key",
      "default_md = sha256",
      "policy = anything",
      "unique_subject = no",
      "copy_extensions = none",
      "[ anything ]",
      "commonName = supplied",
      "[ leaf ]",
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage = serverAuth",
      `subjectAltName = ${SERVER_SAN}`,
      "",
    ].join("\n"),
  );
  await run(dir, [
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-extensions",
    "leaf",
    "-startdate",
    "20190101000000Z",
    "-enddate",
    "20200101000000Z",
    "-in",
    "expired.csr",
    "-out",
    "expired.pem",
    "-notext",
  ]);
}

async function make(): Promise<TestCertificates> {
  if (opensslPath === null) {
    throw new Error("openssl is not installed (apt-get install -y openssl)");
  }
  const dir = scratchDir("ferry-certs-");
  try {
    await Promise.all([
      makeCa(dir, "ca", "Ferry Test CA"),
      makeCa(dir, "other-ca", "Ferry Other CA"),
      makeKeyAndRequest(dir, "server", "localhost"),
      makeKeyAndRequest(dir, "expired", "localhost"),
      makeKeyAndRequest(dir, "client", "ferry-test-client"),
    ]);
    // One signing at a time: they share the CA's serial file.
    await signLeaf(dir, "server", "serverAuth", SERVER_SAN);
    await signLeaf(dir, "client", "clientAuth", null);
    await signExpired(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  // The folder goes when the process ends (the certificates are shared by its tests).
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    dir,
    caPem: read("ca.pem"),
    serverCertPem: read("server.pem"),
    serverKeyPem: read("server.key"),
    expiredCertPem: read("expired.pem"),
    expiredKeyPem: read("expired.key"),
    clientCertPem: read("client.pem"),
    clientKeyPem: read("client.key"),
    otherCaPem: read("other-ca.pem"),
    cleanup() {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      cached = null;
    },
  };
}
