import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "./_harness.ts";
import { Proxy } from "../src/proxy/proxy.ts";
import { basicAuthorization } from "../src/_basic_auth.ts";
import { InvalidURL, UnsupportedProtocol } from "../src/errors.ts";

test("Proxy from a string: credentials move out of the URL into Proxy-Authorization", () => {
  const proxy = new Proxy("http://user:p%40ss@127.0.0.1:3128/ignored?x=1");
  assert.equal(proxy.url.href, "http://127.0.0.1:3128/");
  assert.deepEqual(proxy.auth, ["user", "p@ss"]);
  assert.equal(proxy.headers.get("Proxy-Authorization"), basicAuthorization("user", "p@ss"));
  assert.equal(proxy.mode, "DEFAULT");
  assert.equal(proxy.host, "127.0.0.1");
  assert.equal(proxy.port, 3128);
  assert.equal(proxy.kind, "http");
  assert.equal(proxy.isTls, false);
});

test("Proxy options: auth overrides the URL's, extra headers are kept", () => {
  const proxy = new Proxy({
    url: "https://old:creds@proxy.example",
    auth: ["new", "secret"],
    headers: { "X-Proxy-Team": "ferry" },
    mode: "TUNNEL_ONLY",
  });
  assert.deepEqual(proxy.auth, ["new", "secret"]);
  assert.equal(proxy.port, 443);
  assert.equal(proxy.isTls, true);
  assert.equal(proxy.headers.get("x-proxy-team"), "ferry");
  assert.equal(proxy.headers.get("proxy-authorization"), "Basic bmV3OnNlY3JldA==");
});

test("Proxy: a Proxy-Authorization header given explicitly is not replaced", () => {
  const proxy = new Proxy({
    url: "http://u:p@h:1",
    headers: { "Proxy-Authorization": "Bearer token" },
  });
  assert.equal(proxy.headers.get("proxy-authorization"), "Bearer token");
});

test("Proxy: basic credentials are UTF-8", () => {
  assert.equal(basicAuthorization("jürgen", "pässwörd"), "Basic asO8cmdlbjpww6Rzc3fDtnJk");
});

test("Proxy modes decide between forwarding and tunnelling", () => {
  const http = new URL("http://example.com/");
  const https = new URL("https://example.com/");
  const byDefault = new Proxy("http://127.0.0.1:3128");
  assert.equal(byDefault.tunnels(http), false);
  assert.equal(byDefault.tunnels(https), true);
  const tunnelOnly = new Proxy({ url: "http://127.0.0.1:3128", mode: "TUNNEL_ONLY" });
  assert.equal(tunnelOnly.tunnels(http), true);
  assert.equal(tunnelOnly.tunnels(https), true);
  const forwardOnly = new Proxy({ url: "https://127.0.0.1:3128", mode: "FORWARD_ONLY" });
  assert.equal(forwardOnly.tunnels(http), false);
  assert.equal(forwardOnly.tunnels(https), false);
  // SOCKS always tunnels, whatever the mode.
  const socks = new Proxy({ url: "socks5://127.0.0.1:1080", mode: "FORWARD_ONLY" });
  assert.equal(socks.tunnels(http), true);
});

test("Proxy: SOCKS URLs, default port, DNS side and no Proxy-Authorization", () => {
  const local = new Proxy("socks5://u:p@127.0.0.1");
  assert.equal(local.kind, "socks5");
  assert.equal(local.port, 1080);
  assert.equal(local.remoteDns, false);
  assert.deepEqual(local.auth, ["u", "p"]);
  assert.equal(local.headers.has("proxy-authorization"), false);
  assert.equal(local.origin, "socks5://127.0.0.1");
  const remote = new Proxy("socks5h://[::1]:9050");
  assert.equal(remote.remoteDns, true);
  assert.equal(remote.host, "::1");
  assert.equal(remote.port, 9050);
  assert.equal(new Proxy("http://p:1").remoteDns, true);
});

test("Proxy: repr shows the user but never the password", () => {
  const proxy = new Proxy({ url: "http://user:hunter2@127.0.0.1:3128", mode: "FORWARD_ONLY" });
  assert.equal(String(proxy), '<Proxy "http://127.0.0.1:3128" auth="user" FORWARD_ONLY>');
  assert.equal(inspect(proxy), String(proxy));
  assert.doesNotMatch(inspect(proxy), /hunter2/);
  assert.equal(String(new Proxy("socks5h://127.0.0.1:1080")), '<Proxy "socks5h://127.0.0.1:1080">');
});

test("Proxy: key tells apart proxies that differ in credentials or mode", () => {
  const keys = new Set([
    new Proxy("http://127.0.0.1:3128").key,
    new Proxy("http://a:b@127.0.0.1:3128").key,
    new Proxy("http://a:c@127.0.0.1:3128").key,
    new Proxy({ url: "http://127.0.0.1:3128", mode: "TUNNEL_ONLY" }).key,
    new Proxy("https://127.0.0.1:3128").key,
  ]);
  assert.equal(keys.size, 5);
  assert.equal(new Proxy("http://127.0.0.1:3128").key, new Proxy("http://127.0.0.1:3128/").key);
});

test("Proxy.from accepts strings, URLs, options and proxies", () => {
  const proxy = new Proxy("http://127.0.0.1:3128");
  assert.equal(Proxy.from(proxy), proxy);
  assert.equal(Proxy.from(new URL("http://127.0.0.1:1")).port, 1);
  assert.equal(Proxy.from({ url: "socks5h://h" }).kind, "socks5");
});

test("Proxy: unsupported schemes, hostless URLs, bad URLs and modes are refused", () => {
  assert.throws(() => new Proxy("ftp://127.0.0.1"), (error) => {
    assert.ok(error instanceof UnsupportedProtocol);
    assert.equal(
      error.message,
      'Unsupported proxy scheme "ftp": use "http", "https", "socks5" or "socks5h"',
    );
    return true;
  });
  assert.throws(() => new Proxy("socks4://127.0.0.1"), UnsupportedProtocol);
  assert.throws(() => new Proxy("socks5://"), /has no host/);
  assert.throws(() => new Proxy("not a url"), InvalidURL);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new Proxy({ url: "http://h", mode: "SIDEWAYS" as any }),
    /Invalid proxy mode "SIDEWAYS"/,
  );
});
