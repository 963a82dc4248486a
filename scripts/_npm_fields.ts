/**
 * `repository`, `homepage` and `bugs` of the npm package. The repository is
 * `FERRY_REPOSITORY` when set, else this clone's `origin` remote (a GitHub `git@` URL is
 * turned into its `https://` form); the homepage is the JSR page, which always exists.
 * Without a repository, `repository` and `bugs` are left out and the build says so.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { ROOT } from "./_node_tools.ts";

/** The JSR page of the package: its documentation. */
export const HOMEPAGE = "https://jsr.io/@ferry/ferry";

/** The fields for `package.json`. */
export function repositoryFields(
  repository: string | null = configuredRepository(),
): Record<string, unknown> {
  if (repository === null) {
    console.warn(
      "build:npm: no repository URL (set FERRY_REPOSITORY or an origin remote): " +
        "package.json gets a homepage but no repository or bugs",
    );
    return { homepage: HOMEPAGE };
  }
  const web = repository.replace(/^git\+/, "").replace(/\.git$/, "");
  return {
    repository: { type: "git", url: `git+${web}.git` },
    homepage: HOMEPAGE,
    bugs: { url: `${web}/issues` },
  };
}

function configuredRepository(): string | null {
  const given = Deno.env.get("FERRY_REPOSITORY");
  if (given) return normalise(given);
  try {
    const origin = execFileSync("git", ["-C", ROOT, "remote", "get-url", "origin"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return origin ? normalise(origin) : null;
  } catch {
    return null;
  }
}

/** `git@github.com:o/r.git` → `https://github.com/o/r`; an https URL loses `.git`. */
export function normalise(url: string): string {
  const ssh = /^git@([^:]+):(.+?)(?:\.git)?$/.exec(url);
  if (ssh) return `https://${ssh[1]}/${ssh[2]}`;
  return url.replace(/\.git$/, "").replace(/\/$/, "");
}
