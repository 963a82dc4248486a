import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { runDenoScript } from "./_child.ts";
import { CookieConflict, Cookies, Request, Response } from "../mod.ts";
import { parseSetCookie } from "../src/advanced/mod.ts";

function receive(jar: Cookies, url: string, ...setCookies: string[]): void {
  const response = new Response(200, {
    headers: setCookies.map((value) => ["Set-Cookie", value] as [string, string]),
    request: new Request("GET", url),
  });
  jar.extract(response);
}

const header = (jar: Cookies, url: string) => jar.header(new URL(url));

test("host-only cookies go back to the exact host only", () => {
  const jar = new Cookies();
  receive(jar, "http://example.com/", "a=1");
  assert.equal(header(jar, "http://example.com/x"), "a=1");
  assert.equal(header(jar, "http://www.example.com/"), null);
  assert.equal(header(jar, "http://other.com/"), null);
});

test("Domain cookies go to the domain and its subdomains, never elsewhere", () => {
  const jar = new Cookies();
  receive(jar, "http://www.example.com/", "a=1; Domain=.example.com", "b=2; Domain=example.com");
  assert.equal(header(jar, "http://example.com/"), "a=1; b=2");
  assert.equal(header(jar, "http://deep.www.example.com/"), "a=1; b=2");
  assert.equal(header(jar, "http://badexample.com/"), null);
  // A server cannot set cookies for a domain it is not in.
  receive(jar, "http://www.example.com/", "evil=1; Domain=other.com");
  assert.equal(header(jar, "http://other.com/"), null);
  assert.equal(parseSetCookie("x=1; Domain=b.example.com", new URL("http://a.example.com/")), null);
  // Single-label domains are refused (a server cannot set cookies for all of .com).
  assert.equal(parseSetCookie("x=1; Domain=com", new URL("http://a.example.com/")), null);
  assert.notEqual(parseSetCookie("x=1; Domain=localhost", new URL("http://localhost/")), null);
});

test("Path: explicit path, default path, and path-match boundaries", () => {
  const jar = new Cookies();
  receive(jar, "http://h/docs/page", "dflt=1", "api=2; Path=/api", "root=3; Path=/");
  assert.equal(header(jar, "http://h/docs/other"), "dflt=1; root=3");
  assert.equal(header(jar, "http://h/api"), "api=2; root=3");
  assert.equal(header(jar, "http://h/api/v1"), "api=2; root=3");
  assert.equal(header(jar, "http://h/apix"), "root=3");
  assert.equal(header(jar, "http://h/"), "root=3");
});

test("longer paths come first, then older cookies", () => {
  const jar = new Cookies();
  receive(jar, "http://h/", "b=2; Path=/", "a=1; Path=/x/y", "c=3; Path=/x");
  assert.equal(header(jar, "http://h/x/y/z"), "a=1; c=3; b=2");
});

test("Secure cookies only go over https", () => {
  const jar = new Cookies();
  receive(jar, "https://h/", "s=1; Secure", "p=2");
  assert.equal(header(jar, "https://h/"), "s=1; p=2");
  assert.equal(header(jar, "http://h/"), "p=2");
});

test("Max-Age and Expires: expiry, deletion, Max-Age wins", () => {
  const jar = new Cookies();
  receive(jar, "http://h/", "a=1; Max-Age=3600", "b=2; Expires=Wed, 21 Oct 2099 07:28:00 GMT");
  assert.equal(header(jar, "http://h/"), "a=1; b=2");
  receive(jar, "http://h/", "a=gone; Max-Age=0", "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(header(jar, "http://h/"), null);
  assert.equal(jar.size, 0);
  receive(jar, "http://h/", "c=3; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(header(jar, "http://h/"), "c=3");
  const cookie = parseSetCookie("d=4; Max-Age=10", new URL("http://h/"), 1000)!;
  assert.equal(cookie.expires, 11_000);
  jar.store(cookie, 1000);
  assert.equal(jar.matching(new URL("http://h/"), 20_000).some((c) => c.name === "d"), false);
});

test("a new value replaces the same name, domain and path", () => {
  const jar = new Cookies();
  receive(jar, "http://h/", "a=1");
  receive(jar, "http://h/", "a=2");
  assert.equal(header(jar, "http://h/"), "a=2");
  receive(jar, "http://h/", "a=3; Path=/x");
  assert.equal(header(jar, "http://h/x"), "a=3; a=2");
});

test("malformed Set-Cookie values are ignored; attributes are case-insensitive", () => {
  const url = new URL("http://h/");
  assert.equal(parseSetCookie("no-equals-sign", url), null);
  assert.equal(parseSetCookie("=value", url), null);
  const cookie = parseSetCookie(" n = v ; SECURE; httponly; path=/p; max-age=bad", url)!;
  assert.equal(cookie.name, "n");
  assert.equal(cookie.value, "v");
  assert.equal(cookie.secure, true);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.path, "/p");
  assert.equal(cookie.expires, null);
});

test("cookies set by hand go everywhere; get, delete, clear, CookieConflict", () => {
  const jar = new Cookies({ a: "1" });
  jar.set("b", "2", { domain: "example.com" });
  assert.equal(header(jar, "http://anything/"), "a=1");
  assert.equal(header(jar, "http://www.example.com/"), "a=1; b=2");
  assert.equal(jar.get("a"), "1");
  jar.set("a", "other", { domain: "example.com" });
  assert.throws(() => jar.get("a"), CookieConflict);
  assert.equal(jar.get("a", { domain: "example.com" }), "other");
  jar.delete("a", { domain: "example.com" });
  assert.equal(jar.get("a"), "1");
  jar.clear();
  assert.equal(jar.size, 0);
  assert.equal(String(new Cookies({ x: "y" })), "<Cookies[<Cookie x=y for */>]>");
});

test("IP hosts only match exactly", () => {
  const jar = new Cookies();
  receive(jar, "http://127.0.0.1:8080/", "a=1");
  assert.equal(header(jar, "http://127.0.0.1:9090/"), "a=1");
  assert.equal(parseSetCookie("b=2; Domain=0.0.1", new URL("http://127.0.0.1/")), null);
});

test("Expires without a zone is GMT, whatever the machine's time zone", {
  denoOnly: "runs a Deno child process with TZ set",
}, async () => {
  const script = `
    import { parseSetCookie } from ${
    JSON.stringify(new URL("../src/cookies.ts", import.meta.url).href)
  };
    const url = new URL("http://example.test/");
    const asctime = parseSetCookie("a=1; Expires=Sun Nov  6 08:49:37 2094", url);
    const rfc1123 = parseSetCookie("a=1; Expires=Sun, 06 Nov 2094 08:49:37 GMT", url);
    console.log(new Date(asctime.expires).toISOString(), new Date(rfc1123.expires).toISOString());
  `;
  const { code, output } = await runDenoScript(script, { TZ: "America/New_York" });
  assert.equal(code, 0, output);
  assert.equal(output.trim(), "2094-11-06T08:49:37.000Z 2094-11-06T08:49:37.000Z");
});
