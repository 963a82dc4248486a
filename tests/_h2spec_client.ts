/**
 * A one-shot HTTP/2 client for h2spec's client cases (`h2specd --exec`): one GET to the URL
 * given last on the command line, over h2c by prior knowledge or, for `https://`, TLS with
 * ALPN `h2` (trusting the test CA). It then keeps the connection open briefly so that the
 * engine can answer what the misbehaving server sent (GOAWAY, RST_STREAM), and exits 0
 * when the request succeeded, 1 when it failed. Runs under Deno, Node and Bun.
 */

import { Http2Connection } from "../src/http2/connection.ts";
import { NetworkBackend } from "../src/network/backend.ts";
import type { NetworkStreamInterface } from "../src/network/types.ts";
import { CA_CERT } from "./_tls_fixtures.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const exit = (code: number): never => (g.Deno ? g.Deno.exit(code) : g.process.exit(code)) as never;

const url = new URL(args[args.length - 1]);
const backend = new NetworkBackend();
let ok = false;
try {
  let stream: NetworkStreamInterface = await backend.connect(url.hostname, Number(url.port || 80));
  if (url.protocol === "https:") {
    stream = await stream.startTls({
      hostname: "localhost",
      caCerts: [CA_CERT],
      alpnProtocols: ["h2"],
    });
  }
  const connection = new Http2Connection(stream, url.origin, {
    timeout: { connect: 3000, read: 3000, write: 3000, pool: 3000 },
  });
  try {
    const response = await connection.request("GET", url.pathname + url.search);
    await response.bytes();
    ok = true;
  } catch (error) {
    console.error(String(error));
  }
  // Let the engine answer late frames, then close (GOAWAY NO_ERROR if still open).
  for (let i = 0; i < 20 && !connection.isClosed; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await connection.close();
} catch (error) {
  console.error(String(error));
}
exit(ok ? 0 : 1);
