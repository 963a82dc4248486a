import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { lazyTransport, proxyMounts } from "../src/proxy/client_mounts.ts";
import { Mounts } from "../src/mounts.ts";
import type { Proxy } from "../src/proxy/proxy.ts";
import type { Transport } from "../src/models/transport.ts";
import { Request } from "../src/models/request.ts";
import { Response } from "../src/models/response.ts";

function recorder(): { made: string[]; make: (proxy: Proxy) => Transport } {
  const made: string[] = [];
  return {
    made,
    make: (proxy) => {
      made.push(String(proxy));
      return {
        send: () => Promise.reject(new Error(`would go through ${proxy}`)),
        close: () => Promise.resolve(),
        toString: () => `via ${proxy.origin}`,
      } as Transport;
    },
  };
}

const names = (mounts: Record<string, Transport | null>) =>
  Object.fromEntries(
    Object.entries(mounts).map(([pattern, transport]) => [pattern, transport && String(transport)]),
  );

test("proxyMounts: an explicit proxy covers everything and ignores the environment", () => {
  const { made, make } = recorder();
  const mounts = proxyMounts({
    proxy: "http://u:p@127.0.0.1:3128",
    env: { HTTPS_PROXY: "http://other:1", NO_PROXY: "localhost" },
  }, make);
  assert.deepEqual(names(mounts), { "all://": "via http://127.0.0.1:3128" });
  assert.deepEqual(made, ['<Proxy "http://127.0.0.1:3128" auth="u">']);
});

test("proxyMounts: environment proxies share a transport per proxy URL; NO_PROXY is null", () => {
  const { made, make } = recorder();
  const mounts = proxyMounts({
    env: {
      HTTP_PROXY: "http://127.0.0.1:3128",
      HTTPS_PROXY: "127.0.0.1:3128",
      ALL_PROXY: "socks5h://127.0.0.1:1080",
      NO_PROXY: "localhost,.internal",
    },
  }, make);
  assert.deepEqual(names(mounts), {
    "http://": "via http://127.0.0.1:3128",
    "https://": "via http://127.0.0.1:3128",
    "all://": "via socks5h://127.0.0.1:1080",
    "all://localhost": null,
    "all://*.internal": null,
  });
  assert.equal(mounts["http://"], mounts["https://"]);
  assert.equal(made.length, 2);
});

test("proxyMounts: trustEnv false or an empty environment gives no mounts", () => {
  const { made, make } = recorder();
  assert.deepEqual(proxyMounts({ trustEnv: false, env: { HTTP_PROXY: "http://p:1" } }, make), {});
  assert.deepEqual(proxyMounts({ env: {} }, make), {});
  assert.deepEqual(made, []);
});

test("lazyTransport makes its transport once, on first use, and closes it", async () => {
  let makes = 0;
  let closes = 0;
  const transport = lazyTransport(() => {
    makes++;
    return Promise.resolve({
      send: (request: Request) => Promise.resolve(new Response(200, { content: "ok", request })),
      close: () => {
        closes++;
        return Promise.resolve();
      },
    });
  });
  await transport.close();
  assert.equal(makes, 0);
  const request = new Request("GET", "http://example.test/");
  assert.equal((await transport.send(request)).status, 200);
  await transport.send(request);
  assert.equal(makes, 1);
  await transport.close();
  assert.equal(closes, 1);
});

test("lazyTransport: a failure to make the transport fails the request and close()", async () => {
  const transport = lazyTransport(() => Promise.reject(new TypeError("bad cert")));
  await assert.rejects(transport.send(new Request("GET", "http://example.test/")), /bad cert/);
  await transport.close();
});

test("mount patterns from NO_PROXY CIDR ranges match addresses inside them only", () => {
  const mounts = new Mounts<string | null>({
    "http://": "proxy",
    "all://10.0.0.0/8": null,
    "all://[fd00::]/8": null,
    "all://*example.com": null,
  });
  const pick = (url: string) => mounts.lookup(new URL(url));
  assert.equal(pick("http://10.20.30.40:8080/"), null);
  assert.equal(pick("http://11.0.0.1/"), "proxy");
  assert.equal(pick("http://[fd12::1]/"), null);
  assert.equal(pick("http://[fe80::1]/"), "proxy");
  assert.equal(pick("http://10.0.0.1.nip.test/"), "proxy");
  assert.equal(pick("http://www.example.com/"), null);
  assert.equal(pick("http://example.com/"), null);
  assert.equal(pick("http://wwwexample.com/"), "proxy");
});
