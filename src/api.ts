/**
 * One-off requests without a client: `get`, `post`, … open a {@linkcode Client}, send,
 * read the body and close it again. For more than one request, a `Client` reuses
 * connections and is much faster.
 *
 * @module
 */

import { Client, type ClientOptions, type RequestOptions } from "./client.ts";
import type { Response } from "./models/response.ts";

/** Options of a one-off request: the request's, plus client settings that make sense once. */
export type OneOffOptions =
  & RequestOptions
  & Pick<
    ClientOptions,
    | "verify"
    | "cert"
    | "trustEnv"
    | "transport"
    | "proxy"
    | "defaultEncoding"
    | "maxDecompressedSize"
  >;

/**
 * Sends one request with a short-lived client and returns the response, body read.
 *
 * @example
 * ```ts ignore
 * import { request } from "@ferry/ferry";
 * const response = await request("GET", "https://example.com/");
 * console.log(response.status);
 * ```
 */
export async function request(
  method: string,
  url: string | URL,
  options: OneOffOptions = {},
): Promise<Response> {
  const {
    verify,
    cert,
    trustEnv,
    transport,
    proxy,
    defaultEncoding,
    maxDecompressedSize,
    ...rest
  } = options;
  await using client = new Client({
    verify,
    cert,
    trustEnv,
    transport,
    proxy,
    defaultEncoding,
    maxDecompressedSize,
    timeout: rest.timeout,
  });
  return await client.request(method, url, rest);
}

/**
 * Sends one request with a short-lived client and returns as soon as the headers arrived;
 * closing the response (or reading it to the end) also closes the client.
 *
 * @example Stream a download without a client
 * ```ts ignore
 * import { stream } from "@ferry/ferry";
 * await using response = await stream("GET", "https://example.com/big.bin");
 * for await (const chunk of response.iterBytes()) console.log(chunk.length);
 * ```
 */
export async function stream(
  method: string,
  url: string | URL,
  options: OneOffOptions = {},
): Promise<Response> {
  const {
    verify,
    cert,
    trustEnv,
    transport,
    proxy,
    defaultEncoding,
    maxDecompressedSize,
    ...rest
  } = options;
  const client = new Client({
    verify,
    cert,
    trustEnv,
    transport,
    proxy,
    defaultEncoding,
    maxDecompressedSize,
    timeout: rest.timeout,
  });
  let response: Response;
  try {
    response = await client.stream(method, url, rest);
  } catch (error) {
    await client.close();
    throw error;
  }
  const closeResponse = response.close.bind(response);
  response.close = async (): Promise<void> => {
    try {
      await closeResponse();
    } finally {
      await client.close();
    }
  };
  return response;
}

/**
 * `GET` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { get } from "@ferry/ferry";
 * const response = await get("https://example.com/", { params: { q: "ferry" } });
 * console.log(await response.text());
 * ```
 */
export function get(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("GET", url, options);
}

/**
 * `HEAD` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { head } from "@ferry/ferry";
 * console.log((await head("https://example.com/")).headers.get("content-type"));
 * ```
 */
export function head(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("HEAD", url, options);
}

/**
 * `OPTIONS` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { options } from "@ferry/ferry";
 * console.log((await options("https://example.com/")).headers.get("allow"));
 * ```
 */
export function options(url: string | URL, init?: OneOffOptions): Promise<Response> {
  return request("OPTIONS", url, init);
}

/**
 * `POST` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { post } from "@ferry/ferry";
 * const response = await post("https://example.com/items", { json: { name: "ferry" } });
 * console.log(response.status);
 * ```
 */
export function post(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("POST", url, options);
}

/**
 * `PUT` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { put } from "@ferry/ferry";
 * await put("https://example.com/items/1", { json: { name: "ferry" } });
 * ```
 */
export function put(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("PUT", url, options);
}

/**
 * `PATCH` with a short-lived client.
 *
 * @example
 * ```ts ignore
 * import { patch } from "@ferry/ferry";
 * await patch("https://example.com/items/1", { json: { name: "ferry" } });
 * ```
 */
export function patch(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("PATCH", url, options);
}

/**
 * `DELETE` with a short-lived client. Named `del` because `delete` is a keyword; the
 * module also exports it as `delete` for `import * as ferry` users (`ferry.delete(url)`).
 *
 * @example
 * ```ts ignore
 * import { del } from "@ferry/ferry";
 * await del("https://example.com/items/1");
 * ```
 */
export function del(url: string | URL, options?: OneOffOptions): Promise<Response> {
  return request("DELETE", url, options);
}

export { del as delete };
