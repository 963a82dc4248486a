/**
 * Stripe's SDK (the real one, from npm) over its fetch HTTP client given `client.fetch`,
 * against a local fake of the API: a create (form-encoded, pairs of headers), an error
 * status, an abort (Stripe's own timeout aborts through the signal) and a retry. Stripe's
 * SDK has no streamed responses.
 */

import assert from "node:assert/strict";
import Stripe from "stripe";
import { test } from "./_harness.ts";
import { type HttpServer, serveHttp, serveSilently } from "./_http_server.ts";
import { Client } from "../mod.ts";

function stripe(server: HttpServer, client: Client, options: Stripe.StripeConfig = {}): Stripe {
  const url = new URL(server.origin);
  return new Stripe("sk_test_123", {
    httpClient: Stripe.createFetchHttpClient(client.fetch),
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    maxNetworkRetries: 0,
    telemetry: false,
    ...options,
  });
}

test("Stripe SDK: creating a customer through client.fetch", async () => {
  const seen: { path?: string; auth?: string; type?: string; body?: string } = {};
  await using server = await serveHttp((request, response, body) => {
    seen.path = request.url;
    seen.auth = request.headers.authorization;
    seen.type = request.headers["content-type"];
    seen.body = new TextDecoder().decode(body);
    response.writeHead(200, { "content-type": "application/json", "request-id": "req_1" });
    response.end(JSON.stringify({ id: "cus_1", object: "customer", email: "a@example.com" }));
  });
  await using client = new Client();
  const customer = await stripe(server, client).customers.create({ email: "a@example.com" });
  assert.equal(customer.id, "cus_1");
  assert.equal(customer.email, "a@example.com");
  assert.equal(seen.path, "/v1/customers");
  assert.equal(seen.auth, "Bearer sk_test_123");
  assert.equal(seen.type, "application/x-www-form-urlencoded");
  assert.equal(seen.body, "email=a%40example.com");
});

test("Stripe SDK: an error status becomes the SDK's error class", async () => {
  await using server = await serveHttp((_request, response) => {
    response.writeHead(400, { "content-type": "application/json" });
    response.end(JSON.stringify({
      error: { type: "invalid_request_error", message: "Invalid email", param: "email" },
    }));
  });
  await using client = new Client();
  await assert.rejects(stripe(server, client).customers.create({ email: "x" }), (error) => {
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
    assert.equal(error.statusCode, 400);
    assert.equal(error.param, "email");
    return true;
  });
});

test("Stripe SDK: its timeout aborts the request through the signal", async () => {
  await using server = await serveSilently();
  await using client = new Client();
  const pending = stripe(server, client, { timeout: 50 }).customers.retrieve("cus_1");
  await server.requested;
  await assert.rejects(pending, (error) => {
    assert.ok(error instanceof Stripe.errors.StripeConnectionError, String(error));
    return true;
  });
});

test("Stripe SDK: the SDK retries a 500 through client.fetch", async () => {
  const keys: string[] = [];
  await using server = await serveHttp((request, response) => {
    keys.push(request.headers["idempotency-key"] as string);
    if (keys.length === 1) {
      response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { type: "api_error", message: "Try again" } }));
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ id: "cus_2", object: "customer", email: null }));
  });
  await using client = new Client();
  const customer = await stripe(server, client, { maxNetworkRetries: 1 }).customers.create();
  assert.equal(customer.id, "cus_2");
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1]); // the same idempotency key on the retry
});
