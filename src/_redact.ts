/**
 * How messages show a URL: without the credentials it may carry. A leaf, so that the
 * error classes and the models can both use it.
 *
 * @module
 */

/** `url`'s text without its username and password. */
export function hideCredentials(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
