import assert from "node:assert/strict";
import fc from "fast-check";
import { test } from "./_harness.ts";
import { getEnvironmentProxies, ipInCidr, readEnvironment } from "../src/proxy/env.ts";
import { Mounts } from "../src/mounts.ts";

test("env: HTTP_PROXY, HTTPS_PROXY and ALL_PROXY become scheme mounts", () => {
  assert.deepEqual(
    getEnvironmentProxies({
      HTTP_PROXY: "http://127.0.0.1:3128",
      HTTPS_PROXY: "https://secure.proxy:443",
      ALL_PROXY: "socks5h://127.0.0.1:1080",
      PATH: "/usr/bin",
    }),
    {
      "http://": "http://127.0.0.1:3128",
      "https://": "https://secure.proxy:443",
      "all://": "socks5h://127.0.0.1:1080",
    },
  );
});

test("env: a proxy without a scheme means http://", () => {
  assert.deepEqual(getEnvironmentProxies({ https_proxy: "proxy.internal:3128" }), {
    "https://": "http://proxy.internal:3128",
  });
});

test("env: lower case wins over upper case", () => {
  assert.deepEqual(
    getEnvironmentProxies({ HTTP_PROXY: "http://upper:1", http_proxy: "http://lower:2" }),
    { "http://": "http://lower:2" },
  );
  // Whatever the order the variables come in.
  assert.deepEqual(
    getEnvironmentProxies({ http_proxy: "http://lower:2", HTTP_PROXY: "http://upper:1" }),
    { "http://": "http://lower:2" },
  );
});

test("env: an empty lower-case variable switches the upper-case one off", () => {
  assert.deepEqual(getEnvironmentProxies({ HTTPS_PROXY: "http://upper:1", https_proxy: "" }), {});
  // An empty upper-case one does not switch the lower-case one off.
  assert.deepEqual(getEnvironmentProxies({ HTTPS_PROXY: "", https_proxy: "http://lower:2" }), {
    "https://": "http://lower:2",
  });
});

test("env: under CGI (REQUEST_METHOD) upper-case HTTP_PROXY is ignored (httpoxy)", () => {
  assert.deepEqual(
    getEnvironmentProxies({ REQUEST_METHOD: "GET", HTTP_PROXY: "http://attacker:1" }),
    {},
  );
  assert.deepEqual(
    getEnvironmentProxies({ REQUEST_METHOD: "GET", http_proxy: "http://mine:1" }),
    { "http://": "http://mine:1" },
  );
  assert.deepEqual(
    getEnvironmentProxies({ REQUEST_METHOD: "GET", HTTPS_PROXY: "http://p:1" }),
    { "https://": "http://p:1" },
  );
});

test("env: other *_PROXY variables are not proxies for us", () => {
  assert.deepEqual(getEnvironmentProxies({ TRAVIS_APT_PROXY: "http://x:1", FTP_PROXY: "x" }), {});
});

test("env: NO_PROXY entries become direct mounts of every kind", () => {
  assert.deepEqual(
    getEnvironmentProxies({
      ALL_PROXY: "http://p:1",
      NO_PROXY:
        " example.com, .corp.example,localhost,127.0.0.1,::1,[fe80::1],10.0.0.0/8,fd00::/8,internal:8080,http://only.http, ,EXAMPLE.ORG",
    }),
    {
      "all://": "http://p:1",
      "all://*example.com": null,
      "all://*.corp.example": null,
      "all://localhost": null,
      "all://127.0.0.1": null,
      "all://[::1]": null,
      "all://[fe80::1]": null,
      "all://10.0.0.0/8": null,
      "all://[fd00::]/8": null,
      "all://*internal:8080": null,
      "http://only.http": null,
      "all://*example.org": null,
    },
  );
});

test("env: NO_PROXY=* switches every environment proxy off", () => {
  assert.deepEqual(
    getEnvironmentProxies({ HTTP_PROXY: "http://p:1", no_proxy: "example.com, *" }),
    {},
  );
});

test("env: lower-case no_proxy wins over NO_PROXY", () => {
  assert.deepEqual(
    getEnvironmentProxies({
      HTTP_PROXY: "http://p:1",
      NO_PROXY: "a.example",
      no_proxy: "b.example",
    }),
    { "http://": "http://p:1", "all://*b.example": null },
  );
});

test("env: NO_PROXY alone gives only direct mounts", () => {
  assert.deepEqual(getEnvironmentProxies({ NO_PROXY: "localhost" }), { "all://localhost": null });
});

test("env: readEnvironment returns a plain record", () => {
  const env = readEnvironment();
  assert.equal(typeof env, "object");
  // Under the test runner, PATH is set and readable (-A).
  assert.equal(typeof env["PATH"], "string");
});

test("ipInCidr: IPv4 ranges", () => {
  assert.equal(ipInCidr("10.1.2.3", "10.0.0.0/8"), true);
  assert.equal(ipInCidr("11.1.2.3", "10.0.0.0/8"), false);
  assert.equal(ipInCidr("192.168.255.1", "192.168.0.0/16"), true);
  assert.equal(ipInCidr("192.169.0.1", "192.168.0.0/16"), false);
  assert.equal(ipInCidr("172.20.0.1", "172.16.0.0/12"), true);
  assert.equal(ipInCidr("172.32.0.1", "172.16.0.0/12"), false);
  assert.equal(ipInCidr("1.2.3.4", "0.0.0.0/0"), true);
  assert.equal(ipInCidr("1.2.3.4", "1.2.3.4/32"), true);
  assert.equal(ipInCidr("1.2.3.5", "1.2.3.4/32"), false);
});

test("ipInCidr: IPv6 ranges, with and without brackets", () => {
  assert.equal(ipInCidr("[fd12::1]", "fd00::/8"), true);
  assert.equal(ipInCidr("fd12::1", "[fd00::]/8"), true);
  assert.equal(ipInCidr("fe80::1", "fd00::/8"), false);
  assert.equal(ipInCidr("::1", "::1/128"), true);
  assert.equal(ipInCidr("::ffff:10.0.0.1", "::ffff:10.0.0.0/104"), true);
  assert.equal(ipInCidr("2001:db8:0:0:0:0:0:1", "2001:db8::/32"), true);
});

test("ipInCidr: names, mixed families and malformed ranges never match", () => {
  assert.equal(ipInCidr("example.com", "0.0.0.0/0"), false);
  assert.equal(ipInCidr("::1", "0.0.0.0/0"), false);
  assert.equal(ipInCidr("10.0.0.1", "::/0"), false);
  assert.equal(ipInCidr("10.0.0.1", "10.0.0.0"), false);
  assert.equal(ipInCidr("10.0.0.1", "10.0.0.0/33"), false);
  assert.equal(ipInCidr("10.0.0.1", "10.0.0.0/x"), false);
  assert.equal(ipInCidr("10.0.0.256", "10.0.0.0/8"), false);
  assert.equal(ipInCidr("1:2:3:4:5:6:7:8:9", "::/0"), false);
  assert.equal(ipInCidr("1::2::3", "::/0"), false);
});

/** A reference for ipInCidr: addresses as BigInts, prefixes compared by shifting. */
function referenceInCidr(address: number[], network: number[], bits: number): boolean {
  if (address.length !== network.length) return false;
  const toBig = (bytes: number[]) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  const width = BigInt(address.length * 8);
  const shift = width - BigInt(bits);
  return toBig(address) >> shift === toBig(network) >> shift;
}

const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const v6 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });
const v6Text = (bytes: number[]) =>
  Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16))
    .join(":");

test("ipInCidr agrees with a BigInt reference (IPv4, generated)", () => {
  fc.assert(
    fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (address, network, bits) => {
      assert.equal(
        ipInCidr(address.join("."), `${network.join(".")}/${bits}`),
        referenceInCidr(address, network, bits),
      );
    }),
    { numRuns: 500 },
  );
});

test("ipInCidr agrees with a BigInt reference (IPv6, generated, shared prefixes)", () => {
  fc.assert(
    fc.property(v6, v6, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 16 }), (
      address,
      other,
      bits,
      shared,
    ) => {
      // Share the first `shared` bytes so that matches are common, not one in 2^128.
      const network = [...address.slice(0, shared), ...other.slice(shared)];
      assert.equal(
        ipInCidr(`[${v6Text(address)}]`, `${v6Text(network)}/${bits}`),
        referenceInCidr(address, network, bits),
      );
    }),
    { numRuns: 500 },
  );
});

test("env: no NO_PROXY value, however odd, breaks the mounts made from it", () => {
  const urls = ["http://example.com/", "https://10.1.2.3:8443/x", "http://[::1]:80/"].map((u) =>
    new URL(u)
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.domain())), (entries) => {
      const mounts = getEnvironmentProxies({
        HTTP_PROXY: "http://127.0.0.1:3128",
        NO_PROXY: entries.join(","),
      });
      const parsed = new Mounts(mounts);
      for (const url of urls) parsed.lookup(url);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(getEnvironmentProxies({ NO_PROXY: "://nope,http://ok.example,a b" }), {
    "http://ok.example": null,
  });
});
