/**
 * A provider's base URL: http(s), and without a user or password in it. undici's `fetch` refuses a
 * URL with credentials, so before these checks such a base URL was taken, its streams failed as
 * `NETWORK` ("connection failed", retried) and its whole calls went out without the credentials.
 * Credentials go in a header (`headers` of the providers file, e.g. `Authorization: Basic ...`),
 * where they are scrubbed from errors like a key. Messages never show a URL's user or password.
 */
import { describe, runtimeError } from '../core/errors.js';

/** `url` with everything between `//` and the last `@` (a user and password) shown as `***`. */
export function hideUserinfo(url: string): string {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  return start >= 0 && at > start ? `${url.slice(0, start + 2)}***${url.slice(at)}` : url;
}

/** What a base URL with credentials is told, after "Expected ". */
export const NO_CREDENTIALS =
  'a base URL without a user or password (requests refuse one); send credentials in a header of the providers file, e.g. "headers": { "Authorization": "Basic ..." }';

/** True when `url` parses and carries a user or a password. */
export function hasCredentials(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { username, password } = new URL(url);
  return username !== '' || password !== '';
}

/** Why `url` cannot be a provider's base URL, after "Expected ", or undefined. */
export function baseUrlProblem(url: string): string | undefined {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return 'an http(s) URL';
  return hasCredentials(url) ? NO_CREDENTIALS : undefined;
}

/** Throws `INVALID_REQUEST` naming `where` when `url` cannot be a base URL; shows no credentials. */
export function checkBaseUrl(where: string, url: string): string {
  const problem = baseUrlProblem(url);
  if (problem !== undefined) {
    throw runtimeError(
      'INVALID_REQUEST',
      `${where}: Expected ${problem}, got ${describe(hideUserinfo(url))}`,
    );
  }
  return url;
}
