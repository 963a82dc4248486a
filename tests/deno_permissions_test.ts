/**
 * The Deno permissions the README lists, checked by running small programs with exactly
 * those flags (`deno run --no-prompt`), against servers this test starts on loopback.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./_harness.ts";
import { cannedServer, ok } from "./_servers.ts";
import { CA_CERT, SERVER_CERT, SERVER_KEY } from "./_tls_fixtures.ts";

const denoOnly = "Deno's permission flags";
const MOD = new URL("../mod.ts", import.meta.url).href;

/** Variables that would change what the programs do: left out of the child's environment. */
const SCRUBBED =
  /^(https?_proxy|all_proxy|no_proxy|ssl_cert_file|ssl_cert_dir|nix_ssl_cert_file|netrc)$/i;

/** Runs `code` with `deno run --no-prompt` and exactly `flags`; returns its exit code and output. */
async function runWith(
  flags: string[],
  code: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-perm-"));
  try {
    const file = join(dir, "program.ts");
    writeFileSync(file, code);
    const base = Object.fromEntries(
      Object.entries(Deno.env.toObject()).filter(([name]) => !SCRUBBED.test(name)),
    );
    // Deno.Command, not node:child_process: Deno's spawn of `deno` passes its own
    // permissions on, which would defeat the point.
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-lock", ...flags, file],
      env: { ...base, ...env },
      clearEnv: true,
      stdin: "null",
    }).output();
    const output = new TextDecoder().decode(child.stdout) + new TextDecoder().decode(child.stderr);
    const exit = child.code;
    return { code: exit, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  "a plain request needs --allow-net (for its host) and nothing else",
  { denoOnly },
  async () => {
    await using server = await cannedServer(() => ok("hi"));
    const host = `127.0.0.1:${server.port}`;
    const program = `
    import { Client } from ${JSON.stringify(MOD)};
    await using client = new Client();
    const response = await client.get("http://${host}/");
    console.log("got", response.status, await response.text());
  `;
    const allowed = await runWith([`--allow-net=${host}`], program);
    assert.equal(allowed.code, 0, allowed.output);
    assert.match(allowed.output, /got 200 hi/);
    // Without it: a ConnectError that names the flag.
    const refused = await runWith([], program);
    assert.notEqual(refused.code, 0, refused.output);
    assert.match(refused.output, /ConnectError: .*--allow-net/);
  },
);

test("uploading a file by path needs --allow-read for it", { denoOnly }, async () => {
  await using server = await cannedServer(() => ok("stored"));
  const host = `127.0.0.1:${server.port}`;
  const dir = mkdtempSync(join(tmpdir(), "ferry-perm-file-"));
  try {
    const path = join(dir, "report.csv");
    writeFileSync(path, "a,b\n");
    const program = `
      import { Client, FileContent } from ${JSON.stringify(MOD)};
      await using client = new Client();
      const files = { report: new FileContent(${JSON.stringify(path)}) };
      const response = await client.post("http://${host}/", { files });
      console.log("got", response.status);
    `;
    const allowed = await runWith([`--allow-net=${host}`, `--allow-read=${path}`], program);
    assert.equal(allowed.code, 0, allowed.output);
    assert.match(server.heads.at(-1)!, /POST \/ HTTP\/1\.1/);
    const refused = await runWith([`--allow-net=${host}`], program);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /--allow-read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "proxies from the environment need --allow-env (else they read as unset)",
  { denoOnly },
  async () => {
    await using target = await cannedServer(() => ok("direct"));
    await using proxy = await cannedServer(() => ok("proxied"));
    const hosts = `127.0.0.1:${target.port},127.0.0.1:${proxy.port}`;
    const program = `
    import { Client } from ${JSON.stringify(MOD)};
    await using client = new Client();
    const response = await client.get("http://127.0.0.1:${target.port}/");
    console.log("got", await response.text());
  `;
    const env = { HTTP_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: "" };
    const withEnv = await runWith([`--allow-net=${hosts}`, "--allow-env"], program, env);
    assert.equal(withEnv.code, 0, withEnv.output);
    assert.match(withEnv.output, /got proxied/);
    assert.match(
      proxy.heads[0],
      new RegExp(`^GET http://127\\.0\\.0\\.1:${target.port}/ HTTP/1\\.1`),
    );
    const without = await runWith([`--allow-net=${hosts}`], program, env);
    assert.equal(without.code, 0, without.output);
    assert.match(without.output, /got direct/);
  },
);

test(
  "NetRCAuth needs --allow-env (NETRC, HOME) and --allow-read for the file",
  { denoOnly },
  async () => {
    await using server = await cannedServer((head) =>
      ok(/\r\nAuthorization: Basic /i.test(head) ? "auth" : "none")
    );
    const host = `127.0.0.1:${server.port}`;
    const dir = mkdtempSync(join(tmpdir(), "ferry-perm-netrc-"));
    try {
      const netrc = join(dir, "netrc");
      writeFileSync(netrc, "machine 127.0.0.1 login ana password s3cret\n");
      const program = `
      import { Client, NetRCAuth } from ${JSON.stringify(MOD)};
      await using client = new Client({ auth: new NetRCAuth() });
      const response = await client.get("http://${host}/");
      console.log("got", await response.text());
    `;
      const flags = [`--allow-net=${host}`, "--allow-env", `--allow-read=${netrc}`];
      const allowed = await runWith(flags, program, { NETRC: netrc });
      assert.equal(allowed.code, 0, allowed.output);
      assert.match(allowed.output, /got auth/);
      const noEnv = await runWith([`--allow-net=${host}`, `--allow-read=${netrc}`], program, {
        NETRC: netrc,
      });
      assert.match(noEnv.output, /got none/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("a CA bundle given by path (verify) needs --allow-read for it", { denoOnly }, async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: SERVER_CERT, key: SERVER_KEY, onListen() {} },
    () => new Response("secure"),
  );
  const dir = mkdtempSync(join(tmpdir(), "ferry-perm-ca-"));
  try {
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, CA_CERT);
    const host = `127.0.0.1:${server.addr.port}`;
    const program = `
      import { Client } from ${JSON.stringify(MOD)};
      await using client = new Client({ verify: ${JSON.stringify(ca)} });
      const response = await client.get("https://${host}/");
      console.log("got", await response.text());
    `;
    const allowed = await runWith([`--allow-net=${host}`, `--allow-read=${ca}`], program);
    assert.equal(allowed.code, 0, allowed.output);
    assert.match(allowed.output, /got secure/);
    const refused = await runWith([`--allow-net=${host}`], program);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /--allow-read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.shutdown();
  }
});

test(
  "SSL_CERT_FILE (with --allow-env) needs --allow-read only for https",
  { denoOnly },
  async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: SERVER_CERT, key: SERVER_KEY, onListen() {} },
      () => new Response("secure"),
    );
    await using plain = await cannedServer(() => ok("plain"));
    const dir = mkdtempSync(join(tmpdir(), "ferry-perm-env-ca-"));
    try {
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, CA_CERT);
      const secure = `127.0.0.1:${server.addr.port}`;
      const program = (url: string) => `
      import { Client } from ${JSON.stringify(MOD)};
      await using client = new Client();
      const response = await client.get(${JSON.stringify(url)});
      console.log("got", await response.text());
    `;
      const env = { SSL_CERT_FILE: ca };
      // Plain http reads no CA file: no --allow-read needed.
      const http = await runWith(
        [`--allow-net=127.0.0.1:${plain.port}`, "--allow-env"],
        program(`http://127.0.0.1:${plain.port}/`),
        env,
      );
      assert.equal(http.code, 0, http.output);
      assert.match(http.output, /got plain/);
      const https = program(`https://${secure}/`);
      const allowed = await runWith(
        [`--allow-net=${secure}`, "--allow-env", `--allow-read=${ca}`],
        https,
        env,
      );
      assert.equal(allowed.code, 0, allowed.output);
      assert.match(allowed.output, /got secure/);
      const refused = await runWith([`--allow-net=${secure}`, "--allow-env"], https, env);
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /ConnectError: .*--allow-read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.shutdown();
    }
  },
);
