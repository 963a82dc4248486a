/**
 * The cookie jar's domain and Secure rules over generated Set-Cookie sequences (fast-check),
 * checked against the Public Suffix List itself (npm `tldts`, as the jar uses it).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { getDomain, getPublicSuffix } from "tldts";
import { test } from "./_harness.ts";
import { Cookies, Request, Response } from "../mod.ts";

await Cookies.loadPublicSuffixList();

const HOSTS = [
  "example.com",
  "www.example.com",
  "a.b.example.com",
  "example.co.uk",
  "a.example.co.uk",
  "bank.co.uk",
  "co.uk",
  "evil.github.io",
  "victim.github.io",
  "github.io",
  "localhost",
  "127.0.0.1",
];
/** Every Domain attribute a server could try: each host, each parent, a few oddities. */
const DOMAINS = [
  ...new Set(
    HOSTS.flatMap((host) => host.split(".").map((_, i, labels) => labels.slice(i).join("."))),
  ),
  ".example.com",
  "EXAMPLE.com",
  "other.org",
];

const setCookie = fc.record({
  secure: fc.boolean(), // the origin's scheme
  host: fc.constantFrom(...HOSTS),
  name: fc.constantFrom("sid", "theme", "__Secure-x", "__Host-y"),
  value: fc.constantFrom("1", "2", "evil"),
  domain: fc.option(fc.constantFrom(...DOMAINS), { nil: undefined }),
  path: fc.option(fc.constantFrom("/", "/a", "/a/b"), { nil: undefined }),
  secureFlag: fc.boolean(),
});
type SetCookie = typeof setCookie extends fc.Arbitrary<infer T> ? T : never;

function line(op: SetCookie): string {
  let text = `${op.name}=${op.value}`;
  if (op.domain !== undefined) text += `; Domain=${op.domain}`;
  if (op.path !== undefined) text += `; Path=${op.path}`;
  if (op.secureFlag) text += "; Secure";
  return text;
}

function receive(jar: Cookies, op: SetCookie): void {
  const url = `${op.secure ? "https" : "http"}://${op.host}/a/b/c`;
  jar.extract(
    new Response(200, { headers: { "Set-Cookie": line(op) }, request: new Request("GET", url) }),
  );
}

const sameSite = (a: string, b: string) =>
  a === b || (getDomain(a, { allowPrivateDomains: true }) ?? a) ===
    (getDomain(b, { allowPrivateDomains: true }) ?? b);

test("property: a cookie never reaches another site, nor a host its domain does not cover", () => {
  fc.assert(
    fc.property(setCookie, fc.constantFrom(...HOSTS), fc.boolean(), (op, target, https) => {
      const jar = new Cookies();
      receive(jar, op);
      const sent = jar.header(new URL(`${https ? "https" : "http"}://${target}/a/b/c`));
      if (sent === null) return;
      // Only across hosts of one registrable domain (never from evil.github.io to
      // victim.github.io, nor from a.example.co.uk to bank.co.uk).
      assert.ok(sameSite(op.host, target), `${line(op)} from ${op.host} sent to ${target}`);
      const [cookie] = jar;
      // The stored domain covers the setting host, and is a public suffix only host-only.
      assert.ok(op.host === cookie.domain || op.host.endsWith(`.${cookie.domain}`));
      if (getPublicSuffix(cookie.domain, { allowPrivateDomains: true }) === cookie.domain) {
        assert.ok(cookie.hostOnly, `public suffix ${cookie.domain} stored as a domain cookie`);
      }
    }),
    { numRuns: 2000 },
  );
});

test("property: Secure cookies come only from https and no http response overrides them", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...HOSTS),
      fc.option(fc.constantFrom(...DOMAINS), { nil: undefined }),
      fc.array(setCookie, { maxLength: 20 }),
      (host, domain, attacks) => {
        const jar = new Cookies();
        receive(jar, {
          secure: true,
          host,
          name: "sid",
          value: "good",
          domain,
          path: "/",
          secureFlag: true,
        });
        const kept = jar.get("sid") === "good";
        for (const attack of attacks) receive(jar, { ...attack, secure: false });
        for (const cookie of jar) {
          assert.ok(
            !cookie.secure || cookie.value === "good",
            `${cookie.name} set Secure over http`,
          );
        }
        if (!kept) return; // the Domain was refused: nothing to protect
        const sent = jar.header(new URL(`https://${host}/a/b/c`))!.split("; ");
        assert.deepEqual(sent.filter((pair) => pair.startsWith("sid=")), ["sid=good"]);
      },
    ),
    { numRuns: 1000 },
  );
});
