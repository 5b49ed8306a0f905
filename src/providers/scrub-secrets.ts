/**
 * Secrets (a provider's API key, a header's credentials) taken out of error text before it leaves
 * the adapter: `toProviderError` and a model id a server lists run everything through it.
 */

/** Secrets at least this long are redacted wherever they appear, even inside a longer word. */
const LONG_SECRET = 8;

/**
 * Replaces every secret (and so `Bearer <secret>`) in `text` with `[redacted]`. A long secret is
 * redacted wherever it appears, in any case. A short one (a local server's `ollama` or `none`) is redacted
 * wherever it stands as a token of its own, not inside longer words, which would only mangle
 * the message: an echoed key is a token of its own.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    if (secret.length >= LONG_SECRET) {
      // A long one in any case: a header or id that echoed the key may come lowercased (a media type does).
      out = redactAnyCase(out, secret);
      continue;
    }
    const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`, 'g'), '[redacted]');
  }
  return out;
}

/**
 * `text` with every place of `secret`, in any case, as `[redacted]`: searched for, not matched
 * with a RegExp. V8 refuses a case-insensitive pattern of some 40,000 characters ("Regular
 * expression too large"), and its SyntaxError quotes the pattern, the secret itself: until
 * 2026-12-07 a 50 kB value in `MOONSHOT_API_KEY` came back from `troupe ask` as the message of an
 * `INTERNAL` error.
 */
function redactAnyCase(text: string, secret: string): string {
  const folded = foldCase(text);
  const needle = foldCase(secret);
  let out = '';
  let from = 0;
  for (let at = folded.indexOf(needle); at !== -1; at = folded.indexOf(needle, from)) {
    out += `${text.slice(from, at)}[redacted]`;
    from = at + needle.length;
  }
  return out + text.slice(from);
}

/** `text` in lower case, each character as long as it was (`İ`, whose lower case is two, kept), so places match. */
function foldCase(text: string): string {
  const lower = text.toLowerCase();
  // Stryker disable next-line ConditionalExpression: a shortcut; the loop below gives the same text.
  if (lower.length === text.length) return lower;
  let out = '';
  for (const char of text) {
    const low = char.toLowerCase();
    out += low.length === char.length ? low : char;
  }
  return out;
}
