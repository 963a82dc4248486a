/**
 * Runs one `ferry` request from parsed arguments: builds the Client from the options,
 * the request from the items (or stdin), sends it, prints what `--print` asks for (or
 * saves the body with `--download`), keeps the session, and returns the exit code. Built
 * on the Client's public API only.
 *
 * @module
 */

import {
  BasicAuth,
  Client,
  type ClientOptions,
  DigestAuth,
  FileContent,
  type RequestOptions,
  type Response,
} from "../../mod.ts";
import type { CliArgs, PrintParts } from "./args.ts";
import {
  chooseLook,
  type Exchange,
  type Look,
  printExchanges,
  printRequest,
  printResponseBody,
} from "./print.ts";
import { EXIT, statusExitCode, UsageError } from "./exit_codes.ts";
import { describeError, errorExitCode } from "./report.ts";
import { hasData, jsonBody, requestParts } from "./items.ts";
import { formatResponseHead } from "./output.ts";
import { drawWaterfall, TraceRecorder } from "./waterfall.ts";
import { alreadyComplete, saveBody } from "./download.ts";
import { loadSession, saveSession, type SessionData, sessionPath } from "./session.ts";
import type { Output, System } from "./_system.ts";

const JSON_ACCEPT = "application/json, */*;q=0.5";

/** Sends the request the arguments describe; returns the exit code. */
export async function run(args: CliArgs, system: System): Promise<number> {
  let out = system.stdout;
  let closeOut: (() => Promise<void>) | null = null;
  try {
    if (args.output !== null && !args.download) {
      const file = await system.openFile(args.output, "truncate");
      out = { isTTY: false, columns: 80, write: (data) => file.write(encode(data)) };
      closeOut = () => file.close();
    }
    return await send(args, system, out);
  } catch (error) {
    return await reportError(error, system);
  } finally {
    await closeOut?.();
  }
}

async function reportError(error: unknown, system: System): Promise<number> {
  const line = describeError(error);
  const hint = error instanceof UsageError ? "\nTry 'ferry --help' for the options." : "";
  await system.stderr.write(`ferry: error: ${line}${hint}\n`);
  return errorExitCode(error);
}

function encode(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

async function send(args: CliArgs, system: System, stdout: Output): Promise<number> {
  // A download's body may go to stdout: everything else it prints goes to stderr.
  const out = args.download ? system.stderr : stdout;
  const look = chooseLook(args, out, system);
  const decoder = new TextDecoder();
  const parts = await requestParts(
    args.items,
    args.mode,
    async (path) => decoder.decode(await system.readFile(path)),
  );

  let content: Uint8Array | null = null;
  if (args.raw !== null) content = new TextEncoder().encode(args.raw);
  else if (!hasData(parts) && !args.ignoreStdin) {
    const stdin = await system.readStdin();
    if (stdin !== null && stdin.length > 0) content = stdin;
  }
  const method = args.method ?? (content !== null || hasData(parts) ? "POST" : "GET");

  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    throw new UsageError(`Invalid URL "${args.url}"`);
  }
  const session = args.session
    ? { path: sessionPath(args.session.name, url, system), readOnly: args.session.readOnly }
    : null;
  const stored: SessionData = session
    ? await loadSession(session.path, system)
    : { auth: null, cookies: [] };
  const auth: SessionData["auth"] = args.auth ? { type: args.authType, ...args.auth } : stored.auth;

  const headers: [string, string][] = [];
  if (args.mode === "json" && (hasData(parts) || args.json)) {
    headers.push(["Accept", JSON_ACCEPT]);
    if (parts.json !== null || content !== null) headers.push(["Content-Type", "application/json"]);
  } else if (args.mode === "form" && content !== null) {
    headers.push(["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]);
  }
  if (args.download) headers.push(["Accept-Encoding", "identity"]);
  let resumeFrom = 0;
  if (args.download && args.resume && args.output !== null) {
    resumeFrom = (await system.fileSize(args.output)) ?? 0;
    if (resumeFrom > 0) headers.push(["Range", `bytes=${resumeFrom}-`]);
  }
  headers.push(...parts.headers);

  const exchanges: Exchange[] = [];
  const recorder = look.print.meta ? new TraceRecorder(system.now) : null;
  const options = clientOptions(args, auth, exchanges, look.print, recorder);
  await using client = new Client(options);
  for (const name of parts.removeHeaders) client.headers.delete(name);
  for (const cookie of stored.cookies) client.cookies.store(cookie);

  const requestOptions: RequestOptions = {
    headers: mergeHeaderPairs(headers),
    params: parts.params.length > 0 ? parts.params : undefined,
    extensions: {
      ...(recorder ? { trace: recorder.trace } : {}),
      ...(args.download && (args.output !== null || system.stdout.isTTY)
        ? { borrowBodyChunks: true }
        : {}),
    },
  };
  if (content !== null) requestOptions.content = content;
  else if (parts.json !== null) requestOptions.content = jsonBody(parts.json);
  else if (parts.files.length > 0) {
    requestOptions.data = parts.form;
    requestOptions.files = parts.files.map((file) =>
      [
        file.name,
        new FileContent(file.path, file.contentType ? { contentType: file.contentType } : {}),
      ] as [
        string,
        FileContent,
      ]
    );
  } else if (parts.form.length > 0) requestOptions.data = parts.form;

  if (args.offline) {
    const request = client.buildRequest(method, args.url, requestOptions);
    const body = look.print.requestBody ? await request.bytes() : null;
    if (body !== null && !request.headers.has("content-length") && body.length > 0) {
      request.headers.set("Content-Length", String(body.length));
    }
    await printRequest(out, { request, body }, look);
    return EXIT.OK;
  }

  let response: Response;
  try {
    response = await client.stream(method, args.url, requestOptions);
  } catch (error) {
    await printExchanges(out, exchanges, look, args.all);
    throw error;
  }
  try {
    await printExchanges(out, exchanges, look, args.all);
    const status = response.status;
    if (args.download) {
      const code = await finishDownload(response, args, look, system, resumeFrom);
      if (recorder && code === EXIT.OK) {
        const waterfall = drawWaterfall(
          recorder.steps,
          recorder.total(),
          look.palette,
          out.columns,
        );
        await out.write(`\n${waterfall}\n`);
      }
      return code;
    }
    if (look.print.responseHead) {
      await out.write(formatResponseHead(response, look.palette) + "\n\n");
    }
    let endsWithNewline = true;
    if (look.print.responseBody) endsWithNewline = await printResponseBody(response, out, look);
    if (recorder) {
      if (!look.print.responseBody) await response.bytes(); // its timing, even unprinted
      const waterfall = drawWaterfall(recorder.steps, recorder.total(), look.palette, out.columns);
      await out.write(`${endsWithNewline ? "" : "\n"}\n${waterfall}\n`);
    }
    if (session && !session.readOnly) {
      await saveSession(session.path, auth, client.cookies, system);
    }
    const code = args.checkStatus ? statusExitCode(status) : EXIT.OK;
    if (code !== EXIT.OK && !out.isTTY) {
      await system.stderr.write(
        `ferry: warning: HTTP ${status} ${response.reasonPhrase}\n`,
      );
    }
    return code;
  } finally {
    await response.close();
  }
}

async function finishDownload(
  response: Response,
  args: CliArgs,
  look: Look,
  system: System,
  resumeFrom: number,
): Promise<number> {
  if (look.print.responseHead) {
    await system.stderr.write(formatResponseHead(response, look.palette) + "\n\n");
  }
  if (resumeFrom > 0 && alreadyComplete(response, resumeFrom)) {
    await system.stderr.write(`ferry: "${args.output}" is already complete\n`);
    return EXIT.OK;
  }
  if (!response.isSuccess) {
    await system.stderr.write(
      `ferry: error: download failed: HTTP ${response.status} ${response.reasonPhrase}\n`,
    );
    return statusExitCode(response.status);
  }
  if (resumeFrom > 0 && response.status === 200) {
    await system.stderr.write("ferry: the server ignored the Range request: starting over\n");
  }
  const progress = args.progress === "always" ||
    (args.progress === "auto" && system.stderr.isTTY);
  const result = await saveBody(response, {
    output: args.output,
    resumeFrom: response.status === 206 ? resumeFrom : 0,
    progress,
    palette: look.palette,
  }, system);
  if (result.destination !== "stdout") {
    await system.stderr.write(`Saved to "${result.destination}"\n`);
  }
  return EXIT.OK;
}

function mergeHeaderPairs(pairs: [string, string][]): [string, string][] {
  // A later item for the same name replaces an earlier default (Accept, Content-Type),
  // but repeated items of the user's are all sent.
  const result: [string, string][] = [];
  const defaults = new Set(["accept", "content-type", "accept-encoding"]);
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (defaults.has(lower)) {
      const index = result.findIndex(([other]) => other.toLowerCase() === lower);
      if (index !== -1) {
        result.splice(index, 1);
        defaults.delete(lower);
      }
    }
    result.push([name, value]);
  }
  return result;
}

function clientOptions(
  args: CliArgs,
  auth: SessionData["auth"],
  exchanges: Exchange[],
  print: PrintParts,
  recorder: TraceRecorder | null,
): ClientOptions {
  const options: ClientOptions = {
    followRedirects: args.follow,
    eventHooks: {
      request: [async (request) => {
        const body = print.requestBody && request.content !== null ? await request.bytes() : null;
        exchanges.push({ request, body });
        recorder?.start();
      }],
      response: [(response) => {
        const exchange = exchanges[exchanges.length - 1];
        if (exchange) exchange.response = response;
      }],
    },
  };
  if (args.timeout !== undefined) options.timeout = args.timeout;
  if (args.maxRedirects !== undefined) options.maxRedirects = args.maxRedirects;
  if (auth) {
    options.auth = auth.type === "digest"
      ? new DigestAuth(auth.username, auth.password)
      : new BasicAuth(auth.username, auth.password);
  }
  if (args.proxy !== null) options.proxy = args.proxy;
  if (args.verify !== true) options.verify = args.verify;
  if (args.cert !== null) {
    options.cert = args.certKey !== null ? { cert: args.cert, key: args.certKey } : args.cert;
  }
  if (args.http2) options.http2 = true;
  return options;
}
