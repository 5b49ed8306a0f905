/**
 * Which of a provider's configured request headers (the providers file's `headers`) carry a
 * credential: their values are scrubbed from provider errors like the API key
 * (`http-errors.ts`, `scrubSecrets`), and bounded in length like it (`checkedCredentials`). A
 * header counts when its name says so (`api-key`, `x-api-key`, `Authorization`, `x-auth-token`,
 * `Cookie`, `x-gateway-secret`, ...); other headers (`x-team`, `HTTP-Referer`) stay readable in errors.
 */
import { runtimeError } from '../core/errors.js';
import { checkedKey, MAX_API_KEY_CHARS } from './api-key.js';

const CREDENTIAL_NAME = /auth|key|token|secret|passw|cookie|credential|signature|session/i;

export function credentialHeaderValues(headers: Readonly<Record<string, string>> | undefined): string[] {
  if (headers === undefined) return [];
  return Object.entries(headers)
    .filter(([name, value]) => CREDENTIAL_NAME.test(name) && value.trim() !== '')
    .flatMap(([, value]) => {
      const credential = afterScheme(value);
      return credential === undefined ? [value] : [value, credential];
    });
}

/** `Bearer <token>` and other schemes: the credential is the part after the scheme (none without one). */
function afterScheme(value: string): string | undefined {
  const parts = value.trim().split(/\s+/);
  return parts.length > 1 ? parts.slice(1).join(' ') : undefined;
}

/**
 * Throws `INVALID_REQUEST` when a credential header's credential (its value, after a scheme such
 * as `Bearer`) is longer than `maxChars`, the bound of the provider's key: naming `source` and the
 * header, giving the length only. Until 2026-12-08 such a header had no bound (the key did): a
 * file pasted into a providers file's `api-key` went with every call, to be refused after the
 * round trip.
 */
export function checkedHeaders(
  source: string,
  headers: Readonly<Record<string, string>> | undefined,
  maxChars = MAX_API_KEY_CHARS,
): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!CREDENTIAL_NAME.test(name)) continue;
    const { length } = afterScheme(value) ?? value.trim();
    if (length <= maxChars) continue;
    throw runtimeError(
      'INVALID_REQUEST',
      `${source}[${JSON.stringify(name)}]: Expected a credential of at most ${maxChars.toLocaleString('en-US')} characters (the bound of this provider's key), got one of ${length.toLocaleString('en-US')}; set the header to the credential alone (the value is not shown)`,
    );
  }
}

/**
 * The provider's secrets, once its key (`checkedKey`) and its credential headers (`checkedHeaders`)
 * are within `maxChars`: the key and each credential header's value, which never reach an error.
 */
export function checkedCredentials(
  name: string,
  apiKey: string,
  headers: Readonly<Record<string, string>> | undefined,
  maxChars = MAX_API_KEY_CHARS,
): string[] {
  checkedKey(`${name} apiKey`, apiKey, maxChars);
  checkedHeaders(`${name} headers`, headers, maxChars);
  return [apiKey, ...credentialHeaderValues(headers)];
}
