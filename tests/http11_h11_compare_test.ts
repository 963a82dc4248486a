/**
 * Ferry's response parser against a second implementation: Debian's python3-h11, run in
 * a subprocess on the same bytes. Valid streams must give the same events; for mutated
 * streams, whenever both accept, the events must agree, and every disagreement on
 * accept/reject must be one of the documented differences in strictness.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import fc from "fast-check";
import { env, peerTest } from "./_harness.ts";
import { bytes, drive, type Outcome } from "./_http11.ts";
import { renderAll, response } from "./_http11_gen.ts";

const PYTHON = "/usr/bin/python3";

function h11Available(): boolean {
  if (!existsSync(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ["-c", "import h11"], { stdio: "ignore" });
  return probe.status === 0;
}

const DRIVER = String.raw`
import base64, json, sys
import h11

def run(data, methods, end):
    conn = h11.Connection(our_role=h11.CLIENT)
    events = []
    methods = list(methods)
    current = [None]
    close_delimited = False
    def send_next():
        if not methods:
            return False
        current[0] = methods.pop(0)
        conn.send(h11.Request(method=current[0], target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        return True
    def fields(headers):
        return [[n.decode("latin-1"), v.decode("latin-1")] for n, v in headers.raw_items()]
    send_next()
    try:
        conn.receive_data(data)
        if end:
            conn.receive_data(b"")
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA or ev is h11.PAUSED or isinstance(ev, h11.ConnectionClosed):
                break
            if isinstance(ev, h11.InformationalResponse):
                events.append({"type": "informational", "status": ev.status_code,
                               "reason": ev.reason.decode("latin-1"), "headers": fields(ev.headers)})
            elif isinstance(ev, h11.Response):
                names = [n.lower() for n, _ in ev.headers.raw_items()]
                framed = b"content-length" in names or b"transfer-encoding" in names
                no_body = current[0] == "HEAD" or ev.status_code in (204, 304)
                close_delimited = not framed and not no_body
                events.append({"type": "head", "version": "HTTP/" + ev.http_version.decode(),
                               "status": ev.status_code, "reason": ev.reason.decode("latin-1"),
                               "headers": fields(ev.headers)})
            elif isinstance(ev, h11.Data):
                if events and events[-1]["type"] == "data":
                    events[-1]["data"] += bytes(ev.data).decode("latin-1")
                else:
                    events.append({"type": "data", "data": bytes(ev.data).decode("latin-1")})
            elif isinstance(ev, h11.EndOfMessage):
                done = conn.their_state is h11.DONE
                events.append({"type": "end", "trailers": fields(ev.headers), "keepAlive": done})
                if done and conn.our_state is h11.DONE and not close_delimited:
                    conn.start_next_cycle()
                    if not send_next():
                        break
                else:
                    break
        return {"events": events, "error": None}
    except h11.RemoteProtocolError as e:
        return {"events": events, "error": {"message": str(e), "offset": None}}

cases = json.load(sys.stdin)
json.dump([run(base64.b64decode(c["data"]), c["methods"], c["end"]) for c in cases], sys.stdout)
`;

interface Case {
  data: Uint8Array;
  methods: string[];
  end: boolean;
}

/** Runs every case through h11 in one subprocess. */
function runH11(cases: Case[]): Outcome[] {
  const input = JSON.stringify(cases.map((item) => ({
    data: btoa(String.fromCharCode(...item.data)),
    methods: item.methods,
    end: item.end,
  })));
  const result = spawnSync(PYTHON, ["-c", DRIVER], { input, maxBuffer: 1 << 28 });
  assert.equal(result.status, 0, String(result.stderr));
  return JSON.parse(String(result.stdout));
}

/**
 * Ferry's events without the fields h11 has no counterpart for (and with
 * `Transfer-Encoding` lower-cased, as h11 reports it). After a response that
 * ends reuse, both stop. h11 reports a body read to the end of input as reusable unless
 * the version or `Connection: close` says otherwise, so such an `end` is compared on
 * those terms.
 */
function ferry(item: Case): Outcome {
  const outcome = drive([item.data], {
    methods: item.methods,
    end: item.end,
    stopAfterClose: true,
  });
  let reusable: boolean | null = null;
  return {
    error: outcome.error,
    events: outcome.events.map((event) => {
      if (event.type === "end" && reusable !== null) return { ...event, keepAlive: reusable };
      if (event.type !== "head") return event;
      const { bodyLength, chunked, ...rest } = event;
      // h11 lower-cases the value of Transfer-Encoding.
      rest.headers = rest.headers.map(([name, value]) =>
        name.toLowerCase() === "transfer-encoding" ? [name, value.toLowerCase()] : [name, value]
      );
      const close = event.headers.some(([name, value]) =>
        name.toLowerCase() === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)
      );
      reusable = bodyLength === null && !chunked ? event.version === "HTTP/1.1" && !close : null;
      return rest as typeof event;
    }),
  } as Outcome;
}

const available = h11Available();
const peer = { pkg: "python3-h11", available };

peerTest("h11 agrees on the events of generated valid response streams", peer, () => {
  const models = fc.sample(fc.array(response, { minLength: 1, maxLength: 4 }), {
    numRuns: 300,
    seed: 20261121,
  });
  const cases = models.map((stream) => ({
    data: renderAll(stream).data,
    methods: stream.map((model) => model.method),
    end: true,
  }));
  const theirs = runH11(cases);
  cases.forEach((item, index) => {
    const ours = ferry(item);
    assert.equal(ours.error, null);
    assert.equal(theirs[index].error, null, `h11 refused ${JSON.stringify(item)}`);
    assert.deepEqual(ours.events, theirs[index].events);
  });
});

/**
 * Where Ferry is deliberately stricter than h11 0.14 (h11 accepts, Ferry refuses). Any
 * other disagreement fails the test.
 */
const STRICTER: RegExp[] = [
  /Transfer-Encoding in an HTTP\/1.0 response/, // RFC 9112 §6.1: faulty framing
  /LF without CR/, // h11 accepts a bare LF as a line end
  /Invalid control byte|NUL in|CR without LF/, // h11 accepts some control bytes in values
  /Both Content-Length and Transfer-Encoding/, // h11 lets chunked win silently
  /Conflicting Content-Length/,
  /Invalid Content-Length/,
  /Invalid status code "0\d\d"/, // status below 100
  /Transfer coding after chunked/,
  /obs-fold/,
  /Invalid chunk size|Chunk size too large/, // h11 accepts whitespace before extensions
  /Unsupported HTTP version/,
];

/**
 * Where h11 0.14 refuses what Ferry accepts: h11 checks `Transfer-Encoding` even on a
 * response without a body (HEAD, 204, 304), whose framing fields Ferry ignores (a response
 * to HEAD carries the fields a GET would have had); and an unsolicited 101.
 */
const LOOSER: RegExp[] = [
  /Only Transfer-Encoding: chunked is supported/,
  // h11 refuses a 101 the request did not ask for; Ferry reports the upgrade and leaves
  // the decision to the connection layer, which knows what it asked for.
  /_SWITCH_UPGRADE event without a pending proposal/,
];

peerTest("h11 and Ferry disagree on mutated streams only where documented", peer, () => {
  const mutation = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom("flip", "insert", "delete", "replace"),
    byte: fc.constantFrom(0, 9, 10, 13, 32, 44, 48, 58, 59, 65, 97, 127, 255),
  });
  const samples = fc.sample(
    fc.tuple(
      fc.array(response, { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
    ),
    {
      numRuns: Number(env("FERRY_PROPERTY_RUNS") ?? 600),
      seed: Number(env("FERRY_H11_SEED") ?? 7),
    },
  );
  const cases: Case[] = samples.map(([models, mutations]) => {
    const bytesOut = [...renderAll(models).data];
    for (const { at, kind, byte } of mutations) {
      const index = at % (bytesOut.length + 1);
      if (kind === "insert") bytesOut.splice(index, 0, byte);
      else if (kind === "delete") bytesOut.splice(index, 1);
      else if (kind === "replace") bytesOut[index] = byte;
      else bytesOut[index] = (bytesOut[index] ?? 0) ^ (1 << (byte % 8));
    }
    return {
      data: Uint8Array.from(bytesOut),
      methods: models.map((model) => model.method),
      end: true,
    };
  });
  const theirs = runH11(cases);
  const unexplained: string[] = [];
  cases.forEach((item, index) => {
    const ours = ferry(item);
    const other = theirs[index];
    const input = JSON.stringify(String.fromCharCode(...item.data));
    if (ours.error === null && other.error === null) {
      assert.deepEqual(ours.events, other.events, input);
    } else if (ours.error !== null && other.error === null) {
      if (!STRICTER.some((pattern) => pattern.test(ours.error!.message))) {
        unexplained.push(`Ferry refused (${ours.error.message}), h11 accepted: ${input}`);
      }
    } else if (ours.error === null && other.error !== null) {
      if (LOOSER.some((pattern) => pattern.test(other.error!.message))) return;
      unexplained.push(`h11 refused (${other.error.message}), Ferry accepted: ${input}`);
    }
  });
  assert.deepEqual(unexplained, []);
});

peerTest("h11 agrees on a corpus of edge cases", peer, () => {
  const corpus: [string, string[]][] = [
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ["GET"]],
    ["HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ["GET"]],
    ["HTTP/1.0 200 OK\r\n\r\nbody to close", ["GET"]],
    ["HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", ["GET"]],
    ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", ["HEAD"]],
    ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", ["POST"]],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nx\r\n0\r\nT: 1\r\n\r\n", [
      "GET",
    ]],
    ["HTTP/1.1 200 OK\r\nX:  padded  \r\nContent-Length: 0\r\n\r\n", ["GET"]],
    ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", ["GET"]],
  ];
  const cases = corpus.map(([text, methods]) => ({ data: bytes(text), methods, end: true }));
  const theirs = runH11(cases);
  cases.forEach((item, index) => {
    const ours = ferry(item);
    assert.equal(ours.error, null, corpus[index][0]);
    assert.equal(theirs[index].error, null, corpus[index][0]);
    assert.deepEqual(ours.events, theirs[index].events, corpus[index][0]);
  });
});
