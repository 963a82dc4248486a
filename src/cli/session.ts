/**
 * `--session NAME`: cookies and credentials kept in a JSON file between runs, as HTTPie's
 * sessions. A plain NAME lives at
 * `$XDG_CONFIG_HOME/ferry/sessions/<host>_<port>/<NAME>.json` (`~/.config` when the
 * variable is unset), so one name can serve several hosts without mixing their cookies; a
 * NAME with a `/` (or ending in `.json`) is a path. The file holds a password in clear
 * text, so it is written with mode 0600 (in a 0700 folder) and replaced atomically.
 *
 * @module
 */

import type { Cookie, Cookies } from "../../mod.ts";
import { UsageError } from "./exit_codes.ts";
import type { System } from "./_system.ts";

/** What a session file keeps. */
export interface SessionData {
  /** Credentials given with `--auth` in an earlier run. */
  auth: { type: "basic" | "digest"; username: string; password: string } | null;
  /** Cookies the servers set (and that have not expired). */
  cookies: Cookie[];
}

/** Where the session `name` for `url` is kept. */
export function sessionPath(name: string, url: URL, system: System): string {
  if (name.includes("/") || name.includes("\\") || name.endsWith(".json")) return name;
  if (!/^[\w.-]+$/.test(name)) {
    throw new UsageError(
      `Invalid session name "${name}": use letters, digits, "-", "_" and "." (or give a path)`,
    );
  }
  const config = system.env("XDG_CONFIG_HOME") || `${system.home()}/.config`;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.replace(/[^\w.-]/g, "_");
  return `${config}/ferry/sessions/${host}_${port}/${name}.json`;
}

/** Reads a session file; an absent file is an empty session. */
export async function loadSession(path: string, system: System): Promise<SessionData> {
  if ((await system.fileSize(path)) === null) return { auth: null, cookies: [] };
  const text = new TextDecoder().decode(await system.readFile(path));
  let data: Partial<SessionData>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`Invalid session file "${path}": not JSON`);
  }
  const cookies = Array.isArray(data.cookies) ? data.cookies.filter(isCookie) : [];
  const auth = data.auth && typeof data.auth.username === "string" &&
      typeof data.auth.password === "string" &&
      (data.auth.type === "basic" || data.auth.type === "digest")
    ? data.auth
    : null;
  return { auth, cookies };
}

function isCookie(value: unknown): value is Cookie {
  const cookie = value as Cookie;
  return typeof cookie === "object" && cookie !== null && typeof cookie.name === "string" &&
    typeof cookie.value === "string" && typeof cookie.domain === "string" &&
    typeof cookie.path === "string";
}

/** Writes the session: the auth and the jar's cookies that outlive the process or not. */
export async function saveSession(
  path: string,
  auth: SessionData["auth"],
  jar: Cookies,
  system: System,
): Promise<void> {
  const data = {
    __about__: "Ferry session file: cookies and credentials kept by `ferry --session`",
    auth,
    cookies: [...jar],
  };
  await system.writeFileAtomic(path, JSON.stringify(data, null, 2) + "\n", 0o600);
}
