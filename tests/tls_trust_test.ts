/**
 * TLS trust from the environment, in child processes with a controlled environment (a
 * runtime reads `NODE_EXTRA_CA_CERTS` once at start) and, under Deno, controlled
 * permissions: the runtime's own trust stays, `SSL_CERT_FILE` / `SSL_CERT_DIR` add to it,
 * CA files are read only for TLS, and a missing permission is a `ConnectError` naming it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { peerTest, runtime, type TestOptions } from "./_harness.ts";
import { makeTestCertificates, openssl, type TestCertificates } from "./_peers/tls_certs.ts";
import { tcpServer, type TestServer, tlsServer } from "./_peers/net_servers.ts";
import { modUrl, runScript, type ScriptOptions } from "./_child.ts";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/** What the child saw for one request: a status, or an error's class and message. */
interface Outcome {
  status?: number;
  error?: string;
  message?: string;
}

/** Sends each `[url, clientOptions]` from a fresh process and reports what happened. */
async function inChild(
  requests: [string, Record<string, unknown>][],
  options: ScriptOptions,
): Promise<Outcome[]> {
  const script = `
import { Client } from ${JSON.stringify(modUrl)};
const outcomes = [];
for (const [url, options] of ${JSON.stringify(requests)}) {
  const client = new Client(options);
  try {
    const response = await client.get(url);
    await response.bytes();
    outcomes.push({ status: response.status });
  } catch (error) {
    outcomes.push({ error: error?.constructor?.name, message: String(error?.message) });
  } finally {
    await client.close();
  }
}
console.log("OUTCOMES " + JSON.stringify(outcomes));
`;
  const { code, output } = await runScript(script, options);
  const line = output.split("\n").find((text) => text.startsWith("OUTCOMES "));
  assert.ok(line !== undefined && code === 0, `the child failed (exit ${code}):\n${output}`);
  return JSON.parse(line.slice("OUTCOMES ".length));
}

function answerOk(socket: { once(event: "data", fn: () => void): void; end(text: string): void }) {
  socket.once("data", () => socket.end(OK));
}

function trustTest(
  name: string,
  fn: (certs: TestCertificates, https: string, http: string) => Promise<void>,
  options: TestOptions = {},
): void {
  peerTest(`TLS trust: ${name}`, openssl, async () => {
    const certs = await makeTestCertificates();
    const secure: TestServer = await tlsServer(
      { cert: certs.serverCertPem, key: certs.serverKeyPem },
      answerOk,
    );
    const plain: TestServer = await tcpServer(answerOk);
    try {
      await fn(certs, `https://127.0.0.1:${secure.port}/`, `http://127.0.0.1:${plain.port}/`);
    } finally {
      await secure.close();
      await plain.close();
    }
  }, options);
}

trustTest(
  "NODE_EXTRA_CA_CERTS stays trusted when SSL_CERT_FILE adds another CA",
  async (certs, https) => {
    // The test CA is in NODE_EXTRA_CA_CERTS (the runtime's own trust, as got, undici and
    // fetch use it); SSL_CERT_FILE names another CA. Both count.
    const outcomes = await inChild([[https, {}], [https, { trustEnv: false }]], {
      env: {
        NODE_EXTRA_CA_CERTS: join(certs.dir, "ca.pem"),
        SSL_CERT_FILE: join(certs.dir, "other-ca.pem"),
      },
    });
    assert.deepEqual(outcomes, [{ status: 200 }, { status: 200 }]);
  },
  {
    skip: runtime === "deno" ? "Deno does not read NODE_EXTRA_CA_CERTS (it has DENO_CERT)" : false,
  },
);

trustTest("SSL_CERT_FILE adds its CA to the runtime's trust; trustEnv: false ignores it", async (
  certs,
  https,
) => {
  const outcomes = await inChild([[https, {}], [https, { trustEnv: false }]], {
    env: { SSL_CERT_FILE: join(certs.dir, "ca.pem") },
    denoFlags: ["--allow-net=127.0.0.1", "--allow-env", `--allow-read=${certs.dir}`],
  });
  assert.deepEqual(outcomes[0], { status: 200 });
  if (runtime === "bun") {
    // Bun's own trust store reads SSL_CERT_FILE: Ferry cannot take it away.
    assert.deepEqual(outcomes[1], { status: 200 });
  } else {
    assert.equal(outcomes[1].error, "ConnectError");
    assert.match(outcomes[1].message!, /unknown authority/);
  }
});

trustTest("SSL_CERT_DIR adds the CAs of a folder; an unset variable adds nothing", async (
  certs,
  https,
) => {
  const withDir = await inChild([[https, {}]], {
    env: { SSL_CERT_DIR: certs.dir },
    denoFlags: ["--allow-net=127.0.0.1", "--allow-env", `--allow-read=${certs.dir}`],
  });
  assert.deepEqual(withDir, [{ status: 200 }]);
  const without = await inChild([[https, {}]], {
    denoFlags: ["--allow-net=127.0.0.1", "--allow-env", `--allow-read=${certs.dir}`],
  });
  assert.equal(without[0].error, "ConnectError");
  assert.match(without[0].message!, /unknown authority/);
});

trustTest(
  "Deno without --allow-read: http works, https names the permission it needs",
  async (certs, https, http) => {
    const caFile = join(certs.dir, "ca.pem");
    const outcomes = await inChild(
      [[http, {}], [https, {}], [https, { verify: caFile }], [https, { trustEnv: false }]],
      { env: { SSL_CERT_FILE: caFile }, denoFlags: ["--allow-net=127.0.0.1", "--allow-env"] },
    );
    // Plain http reads no CA file at all.
    assert.deepEqual(outcomes[0], { status: 200 });
    for (const [index, source] of [[1, "SSL_CERT_FILE"], [2, "caFiles"]] as const) {
      assert.equal(outcomes[index].error, "ConnectError");
      assert.ok(outcomes[index].message!.includes(`"${caFile}" (${source})`));
      assert.ok(outcomes[index].message!.includes(`--allow-read=${caFile}`));
    }
    assert.match(outcomes[1].message!, /trustEnv: false/);
    // Without the environment's trust, nothing is read: the runtime's own store decides.
    assert.equal(outcomes[3].error, "ConnectError");
    assert.match(outcomes[3].message!, /unknown authority/);
  },
  { denoOnly: "Deno's permissions" },
);

trustTest("Deno with --allow-read for the CA file trusts it", async (certs, https) => {
  const caFile = join(certs.dir, "ca.pem");
  const outcomes = await inChild([[https, {}]], {
    env: { SSL_CERT_FILE: caFile },
    denoFlags: ["--allow-net=127.0.0.1", "--allow-env", `--allow-read=${caFile}`],
  });
  assert.deepEqual(outcomes, [{ status: 200 }]);
}, { denoOnly: "Deno's permissions" });
