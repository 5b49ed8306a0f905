/**
 * A provider's base URL: http(s), and without a user or password in it. undici's `fetch` refuses a
 * URL with credentials, so before these checks such a base URL was taken, its streams failed as
 * `NETWORK` ("connection failed", retried) and its whole calls went out without the credentials.
 * Credentials go in a header (`headers` of the providers file, e.g. `Authorization: Basic ...`),
 * where they are scrubbed from errors like a key. Nor a query string or fragment: the request's
 * path is appended to the base URL, so `.../v1?key=x` sent `.../v1?key=x%2Fchat%2Fcompletions` (every
 * call failed), and a server quoting the URL in its errors showed the key to every client. Messages
 * never show a URL's user, password, query or fragment.
 */
import { describe, runtimeError } from '../core/errors.js';

/**
 * `url` with everything between `//` and the last `@` (a user and password, whatever they hold,
 * `?` and `#` included) shown as `***`, then whatever follows the first `?` or `#` after them (a
 * query or fragment, where keys are put too) as `***`.
 */
export function hideUserinfo(url: string): string {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  // Stryker disable next-line EqualityOperator: `at >= start` differs only where both are -1, which `start >= 0` refuses.
  const head = start >= 0 && at > start ? `${url.slice(0, start + 2)}***@` : '';
  const rest = head === '' ? url : url.slice(at + 1);
  const cut = rest.search(/[?#]/);
  return head + (cut < 0 ? rest : `${rest.slice(0, cut + 1)}***`);
}

/** What a base URL with credentials is told, after "Expected ". */
export const NO_CREDENTIALS =
  'a base URL without a user or password (requests refuse one); send credentials in a header of the providers file, e.g. "headers": { "Authorization": "Basic ..." }';

/** What a base URL with a query string or a fragment is told, after "Expected ". */
export const NO_QUERY =
  'a base URL without a query string or fragment (the request path is appended to it, after the query); send a key as the API key, or in a header of the providers file';

/** True when `url` parses and has a query string or a fragment (even an empty `?` or `#`). */
export function hasQuery(url: string): boolean {
  return URL.canParse(url) && /[?#]/.test(url);
}

/** True when `url` parses and carries a user or a password. */
export function hasCredentials(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { username, password } = new URL(url);
  return username !== '' || password !== '';
}

/** Why `url` cannot be a provider's base URL, after "Expected ", or undefined. */
export function baseUrlProblem(url: string): string | undefined {
  // Stryker disable next-line Regex: a parsed URL's `protocol` ends at its `:`, so the `$` changes nothing.
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return 'an http(s) URL';
  if (hasCredentials(url)) return NO_CREDENTIALS;
  return hasQuery(url) ? NO_QUERY : undefined;
}

/** Throws `INVALID_REQUEST` naming `where` when `url` cannot be a base URL; shows no credentials. */
export function checkBaseUrl(where: string, url: string): string {
  const problem = baseUrlProblem(url);
  if (problem === undefined) return url;
  throw runtimeError('INVALID_REQUEST', `${where}: Expected ${problem}, got ${shownUrl(url)}`);
}

/**
 * A refused URL as a message shows it: without user, password, query or fragment; text with no
 * `://` not at all, since the likeliest is a key pasted into the wrong setting (until 2026-12-04
 * its first 80 characters were printed: library audit).
 */
export function shownUrl(url: string): string {
  return url.includes('://')
    ? describe(hideUserinfo(url))
    : `text that is not one (${url.length} characters, not shown: it may be a key in the wrong setting)`;
}
