/**
 * An API key a header can carry. A key pasted with a line break (wrapped across two lines) or
 * with typographic quotes (`“sk-...”`) was refused by undici inside the request, and that
 * `TypeError` was reported as the vendor's answer: `BAD_RESPONSE: ... unexpected failure`, with a
 * hint to retry or choose another model, though nothing had been sent. No vendor's key has a space,
 * a control character or a character outside ASCII, so any of them is refused where the key is
 * read, naming where it came from and the character's place, never the key.
 *
 * Nor is any key long: a Moonshot key is `sk-` and 48 characters, a Z.ai / BigModel key `id.secret`
 * about 49, OpenAI's longest (`sk-proj-`, `sk-svcacct-`) about 164. A key past `maxChars` (a file
 * pasted into the variable, a value doubled by a script) was redacted from every error, then sent
 * with every call, and the vendor refused it after the round trip (until 2026-12-07); it is refused
 * where it is read, giving its length only.
 */
import { runtimeError } from '../core/errors.js';

/**
 * Longest key for Kimi or GLM (`MOONSHOT_API_KEY`, `ZHIPUAI_API_KEY`, ..., and `createKimiProvider`,
 * `createGlmProvider` from code: their `maxKeyChars`), in characters: about 20 times either
 * vendor's, and room for a GLM token signed from one (a JWT of about 200).
 */
export const MAX_VENDOR_KEY_CHARS = 1024;
/**
 * Longest key for any other endpoint (`TROUPE_OPENAI_API_KEY`, a providers file's `apiKeyEnv`,
 * `ask --base-url`, an OpenAI-compatible provider built from code), in characters: such a gateway may take an OAuth
 * token as its key, and Google documents its exchanged tokens at up to 12,288 bytes.
 */
export const MAX_API_KEY_CHARS = 16_384;

/** What is wrong with `key` as a header value, or `undefined` when nothing is. */
export function keyFault(key: string): string | undefined {
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x20 && code < 0x7f) continue;
    const where = `at character ${i + 1} of ${key.length}`;
    if (code === 0x0a || code === 0x0d) return `one with a line break ${where}`;
    if (code === 0x20 || code === 0x09) return `one with a space or tab ${where}`;
    // Stryker disable next-line EqualityOperator: a space (0x20) is told on the line above.
    if (code < 0x20 || code === 0x7f) return `one with a control character ${where}`;
    const point = key.codePointAt(i) as number;
    return `one with a character outside ASCII (U+${point.toString(16).toUpperCase().padStart(4, '0')}, such as a typographic quote) ${where}`;
  }
  // The SDK's own refusal names OPENAI_API_KEY, whatever the provider.
  return key === '' ? `an empty one ${KEYLESS}` : undefined;
}

/** What a keyless endpoint takes instead of a key. */
const KEYLESS = '(for an endpoint that takes no key, give any value, such as `none`)';

/**
 * A placeholder copied from the docs (`MOONSHOT_API_KEY=sk-...`, `"…"`): no vendor's key ends in
 * an ellipsis. Until 2026-12-07 `sk-...` was taken as a key, the server started with that provider
 * configured and every call failed `AUTH_FAILED` after a round trip.
 */
export function isPlaceholderKey(key: string): boolean {
  return key.endsWith('...') || key.endsWith('\u2026');
}

/**
 * `key` when a header can carry it and it is at most `maxChars` long; otherwise throws
 * `INVALID_REQUEST` naming `source` (a variable, a provider), never the key.
 */
export function checkedKey(source: string, key: string, maxChars = MAX_API_KEY_CHARS): string {
  if (typeof key === 'string' && key.length > maxChars) {
    throw runtimeError(
      'INVALID_REQUEST',
      `${source}: Expected an API key of at most ${maxChars.toLocaleString('en-US')} characters, got one of ${key.length.toLocaleString('en-US')}; set it to the key alone (the key is not shown)`,
    );
  }
  if (typeof key === 'string' && isPlaceholderKey(key)) {
    throw runtimeError(
      'INVALID_REQUEST',
      // The ending it has (until 2026-12-07 a key ending in "…" was said to end in "...").
      `${source}: Expected an API key, got a placeholder ending in "${key.endsWith('...') ? '...' : '\u2026'}" as the docs write one; set it to your own key (the key is not shown)`,
    );
  }
  // From JavaScript a factory given no key: a TypeError on `key.length` (review).
  const fault = typeof key === 'string' ? keyFault(key) : `none ${KEYLESS}`;
  if (fault === undefined) return key;
  throw runtimeError(
    'INVALID_REQUEST',
    `${source}: Expected an API key of printable ASCII characters (no spaces, line breaks or quotes), got ${fault}${typeof key !== 'string' || key === '' ? '' : ' (the key is not shown)'}`,
  );
}
