/**
 * The Public Suffix List, from npm `tldts` (ICANN and private sections), loaded on first
 * need: only a cookie with a `Domain` attribute asks for it.
 *
 * @module
 */

interface Tldts {
  getPublicSuffix(hostname: string, options?: { allowPrivateDomains?: boolean }): string | null;
}

let list: Tldts | null = null;
let loading: Promise<void> | null = null;

/** Loads the list (once); later calls resolve at once. */
export function loadPublicSuffixList(): Promise<void> {
  loading ??= import("tldts").then((module) => {
    list = module as Tldts;
  }, (error) => {
    loading = null;
    throw error;
  });
  return loading;
}

/** Whether the list is loaded, so that {@linkcode isPublicSuffix} can answer. */
export function publicSuffixListLoaded(): boolean {
  return list !== null;
}

/**
 * Whether `domain` (lower case, no leading dot) is a public suffix (`com`, `co.uk`,
 * `github.io`), or `null` when the list is not loaded yet.
 */
export function isPublicSuffix(domain: string): boolean | null {
  if (list === null) return null;
  return list.getPublicSuffix(domain, { allowPrivateDomains: true }) === domain;
}
