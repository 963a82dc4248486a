/**
 * `deno bench -A bench/pool_bench.ts`: the per-request CPU cost of `ConnectionPool` and
 * `Connection`, without the network: a stream that answers every request at once with a
 * canned nginx-like response. What is left is Ferry's own work (request building,
 * serialising, parsing, pool bookkeeping, promises); compare it with the round trip of a
 * real socket, printed by `deno task bench`.
 *
 * @module
 */

import { ConnectionPool } from "../src/pool.ts";
import { Connection } from "../src/connection/mod.ts";
import type {
  NetworkBackendInterface,
  NetworkStreamInterface,
  TlsOptions,
} from "../src/network/types.ts";

const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 23:00:00 GMT\r\n" +
    "Content-Type: text/html\r\nContent-Length: 30\r\nLast-Modified: Sat, 21 Nov 2026 22:00:00 GMT\r\n" +
    'Connection: keep-alive\r\nETag: "abc-1e"\r\nAccept-Ranges: bytes\r\n\r\n' +
    "Hello from Ferry's nginx peer\n",
);

/** Answers each write with one canned response; reads wait for it. */
class InstantStream implements NetworkStreamInterface {
  #pending = 0;
  #waiter: ((bytes: Uint8Array) => void) | null = null;
  read(): Promise<Uint8Array> {
    if (this.#pending > 0) {
      this.#pending--;
      return Promise.resolve(RESPONSE.slice());
    }
    return new Promise((resolve) => this.#waiter = resolve);
  }
  write(): Promise<void> {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter(RESPONSE.slice());
    } else this.#pending++;
    return Promise.resolve();
  }
  startTls(_options?: TlsOptions): Promise<NetworkStreamInterface> {
    return Promise.resolve(this);
  }
  getExtraInfo(): unknown {
    return undefined;
  }
  close(): Promise<void> {
    this.#waiter?.(new Uint8Array(0));
    return Promise.resolve();
  }
}

const backend: NetworkBackendInterface = {
  connect: () => Promise.resolve(new InstantStream()),
};

const pool = new ConnectionPool({ backend });
const connection = new Connection(new InstantStream(), "http://127.0.0.1:8080");
const url = "http://127.0.0.1:8080/";
const parsed = new URL(url);

Deno.bench("pool.request, 1 at a time", { group: "request", baseline: true }, async () => {
  await pool.request("GET", url);
});

Deno.bench("pool.request with a parsed URL", { group: "request" }, async () => {
  await pool.request("GET", parsed);
});

Deno.bench("connection.request", { group: "request" }, async () => {
  await connection.request("GET", url);
});

Deno.bench("pool.stream + bytes()", { group: "request" }, async () => {
  const response = await pool.stream("GET", url);
  await response.bytes();
});

Deno.bench("10 concurrent pool.request", { group: "concurrent" }, async () => {
  await Promise.all([
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
    pool.request("GET", url),
  ]);
});
