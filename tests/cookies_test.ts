import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { runDenoScript } from "./_child.ts";
import { Client, CookieConflict, Cookies, MockTransport, Request, Response } from "../mod.ts";
import { MAX_COOKIE_SIZE, MAX_COOKIES, MAX_COOKIES_PER_DOMAIN } from "../src/cookies.ts";
import { parseSetCookie } from "../src/advanced/mod.ts";

function receive(jar: Cookies, url: string, ...setCookies: string[]): void {
  const response = new Response(200, {
    headers: setCookies.map((value) => ["Set-Cookie", value] as [string, string]),
    request: new Request("GET", url),
  });
  jar.extract(response);
}

const header = (jar: Cookies, url: string) => jar.header(new URL(url));

// Domain cookies need the Public Suffix List (the client loads it on demand).
await Cookies.loadPublicSuffixList();

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
  const url = new URL("https://h/");
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

// ---------------------------------------------------------------- hostile cookies (issue 10)

test("a Domain that is a public suffix is refused, unless the host is that suffix", () => {
  const jar = new Cookies();
  receive(jar, "https://a.example.co.uk/", "uk=1; Domain=co.uk", "own=2; Domain=example.co.uk");
  assert.equal(header(jar, "https://bank.co.uk/"), null);
  assert.equal(header(jar, "https://example.co.uk/"), "own=2");
  receive(jar, "https://evil.github.io/", "gh=1; Domain=github.io");
  assert.equal(header(jar, "https://victim.github.io/"), null);
  // The suffix itself may set a cookie for itself, host-only.
  receive(jar, "https://github.io/", "self=1; Domain=github.io");
  assert.equal(header(jar, "https://github.io/"), "self=1");
  assert.equal(header(jar, "https://victim.github.io/"), null);
  assert.equal(parseSetCookie("x=1; Domain=com", new URL("http://a.example.com/")), null);
});

test("before the list is loaded, a Domain cookie is host-only; the client loads the list", {
  denoOnly: "needs a fresh process, where the list was never loaded",
}, async () => {
  const script = `
    import { Client, MockTransport, Response } from ${
    JSON.stringify(new URL("../mod.ts", import.meta.url).href)
  };
    import { parseSetCookie } from ${
    JSON.stringify(new URL("../src/advanced/mod.ts", import.meta.url).href)
  };
    const url = new URL("http://www.example.com/");
    const parent = parseSetCookie("a=1; Domain=example.com", url);
    const self = parseSetCookie("b=2; Domain=www.example.com", url);
    console.log(parent === null, self.hostOnly, self.domain);
    await using client = new Client({
      transport: new MockTransport((request) =>
        new Response(200, {
          headers: [["Set-Cookie", "uk=1; Domain=co.uk"], ["Set-Cookie", "site=2; Domain=example.co.uk"]],
          content: request.headers.get("cookie") ?? "",
        })
      ),
    });
    await client.get("https://www.example.co.uk/");
    console.log(await (await client.get("https://shop.example.co.uk/")).text());
    console.log(JSON.stringify(await (await client.get("https://bank.co.uk/")).text()));
  `;
  const { code, output } = await runDenoScript(script);
  assert.equal(code, 0, output);
  assert.deepEqual(output.trim().split("\n"), ["true true www.example.com", "site=2", '""']);
});

test("an insecure origin can neither set a Secure cookie nor overwrite or shadow one", () => {
  const jar = new Cookies();
  receive(jar, "http://example.com/", "s=evil; Secure");
  assert.equal(jar.size, 0, "Secure from http is refused");
  receive(jar, "https://www.example.com/", "sid=good; Secure; Domain=example.com");
  // Session fixation attempts over http: same name, overlapping domain, path within.
  receive(jar, "http://www.example.com/", "sid=evil");
  receive(jar, "http://example.com/", "sid=evil; Domain=example.com");
  receive(jar, "http://a.www.example.com/", "sid=evil; Domain=www.example.com; Path=/x");
  assert.equal(header(jar, "https://a.www.example.com/x"), "sid=good");
  assert.equal(header(jar, "http://www.example.com/"), null);
  // Other names, and the same name on another site, are unaffected.
  receive(jar, "http://www.example.com/", "theme=dark");
  receive(jar, "http://other.org/", "sid=other");
  assert.equal(header(jar, "http://www.example.com/"), "theme=dark");
  assert.equal(header(jar, "http://other.org/"), "sid=other");
  // https may replace it.
  receive(jar, "https://www.example.com/", "sid=new; Secure; Domain=example.com");
  assert.equal(header(jar, "https://example.com/"), "sid=new");
});

test("__Secure- and __Host- prefixes are enforced, ignoring case", () => {
  const https = new URL("https://example.com/a/b");
  const http = new URL("http://example.com/");
  assert.notEqual(parseSetCookie("__Secure-a=1; Secure", https), null);
  assert.equal(parseSetCookie("__Secure-a=1", https), null);
  assert.equal(parseSetCookie("__secure-a=1", https), null);
  assert.equal(parseSetCookie("__Secure-a=1; Secure", http), null);
  assert.notEqual(parseSetCookie("__Host-a=1; Secure; Path=/", https), null);
  assert.equal(parseSetCookie("__Host-a=1; Secure", https), null, "no Path=/");
  assert.equal(parseSetCookie("__Host-a=1; Secure; Path=/; Domain=example.com", https), null);
  assert.equal(parseSetCookie("__HOST-a=1; Path=/", https), null, "no Secure");
  assert.equal(parseSetCookie("__Host-a=1; Secure; Path=/", http), null);
});

test("cookie limits: 4 KiB per cookie, 50 per domain and 3000 in all, oldest evicted", () => {
  const url = new URL("http://example.com/");
  assert.notEqual(parseSetCookie(`a=${"x".repeat(MAX_COOKIE_SIZE - 1)}`, url), null);
  assert.equal(parseSetCookie(`a=${"x".repeat(MAX_COOKIE_SIZE)}`, url), null);
  assert.equal(parseSetCookie("a=1\x01", url), null);
  assert.equal(parseSetCookie("a=1; Path=/" + "p".repeat(1024), url)!.path, "/");
  const jar = new Cookies();
  for (let i = 0; i < MAX_COOKIES_PER_DOMAIN + 10; i++) {
    receive(jar, "http://127.0.0.1:9/", `c${i}=v`);
  }
  assert.equal(jar.size, MAX_COOKIES_PER_DOMAIN);
  const sent = header(jar, "http://127.0.0.1:80/")!.split("; ");
  assert.equal(sent.length, MAX_COOKIES_PER_DOMAIN);
  assert.equal(sent[0], "c10=v", "the ten oldest were evicted");
  // Replacing a cookie keeps its age.
  receive(jar, "http://127.0.0.1/", "c10=again");
  receive(jar, "http://127.0.0.1/", "fresh=1");
  assert.equal(jar.get("c10"), null, "still the oldest: evicted first");
  const many = new Cookies();
  for (let i = 0; i < MAX_COOKIES + 5; i++) receive(many, `http://h${i}.example/`, "a=1");
  assert.equal(many.size, MAX_COOKIES);
  assert.equal(header(many, "http://h0.example/"), null);
  assert.equal(header(many, `http://h${MAX_COOKIES + 4}.example/`), "a=1");
});

test("the cookies option refuses values that would add a cookie or break the header", async () => {
  for (const value of ["x; admin=true", "x\r\nX-Evil: 1", "x\n", "a\x00b", "a\x7f"]) {
    assert.throws(
      () => new Cookies({ sid: value }),
      (error) =>
        error instanceof TypeError &&
        error.message ===
          `Invalid value of cookie "sid": ${
            JSON.stringify(value)
          } (";" and control characters are not allowed)`,
    );
  }
  assert.throws(() => new Cookies({ "a=b": "1" }), /Invalid cookie name "a=b"/);
  assert.throws(() => new Cookies({ "a b": "1" }), /Invalid cookie name "a b"/);
  assert.throws(() => new Client({ cookies: { sid: "x; admin=true" } }), TypeError);
  await using client = new Client({
    transport: new MockTransport((request) =>
      new Response(200, { content: request.headers.get("cookie") ?? "" })
    ),
  });
  await assert.rejects(client.get("http://x/", { cookies: { sid: "x; admin=true" } }), TypeError);
  assert.equal(
    await (await client.get("http://x/", { cookies: { sid: "x y" } })).text(),
    "sid=x y",
  );
});

test("storing or sending a cookie never looks at other domains' cookies", () => {
  const jar = new Cookies();
  let touched = 0;
  let armed = false;
  // Other domains' cookies, which count every property read once armed.
  for (let i = 0; i < 2000; i++) {
    const cookie = parseSetCookie("c=1", new URL(`http://h${i}.other.example/`))!;
    jar.store(
      new Proxy(cookie, {
        get(target, key) {
          if (armed) touched++;
          return target[key as keyof typeof target];
        },
      }),
    );
  }
  armed = true;
  for (let i = 0; i < 100; i++) {
    receive(jar, "https://www.example.com/", `n${i}=v; Secure; Domain=example.com`);
  }
  receive(jar, "http://www.example.com/", "n99=x"); // checks the Secure index, not the jar
  assert.equal(header(jar, "https://www.example.com/")!.split("; ").length, MAX_COOKIES_PER_DOMAIN);
  assert.equal(touched, 0, "the cost of a store or a lookup does not grow with the jar");
});
