/**
 * A server's retry hint, read from its headers (`retryAfterMs`). The bound a hint that drives a
 * provider's cooldown is held to (`MAX_COOLDOWN_HINT_MS`) is applied by `TroupeError` itself
 * (`core/errors.ts`). Moved out of `http-errors.ts`, which maps the errors these hints come with.
 */
/**
 * The server's retry hint in ms: `retry-after-ms`, `Retry-After` (seconds or an HTTP date), or the
 * `x-ratelimit-reset*` family (durations like `1s`, `6m0s`, `20ms`, or epoch seconds).
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  return explicitRetryAfterMs(headers, now) ?? resetMs(headers, now);
}

/** `retry-after-ms`, else `Retry-After` (seconds or an HTTP date): a wait the server asks for. */
export function explicitRetryAfterMs(headers: Headers, now: number): number | undefined {
  const msText = headers.get('retry-after-ms');
  // Stryker disable next-line StringLiteral: without the header, any text that is not a number parses to NaN as '' does
  const ms = Number.parseFloat(msText ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const after = headers.get('retry-after');
  // Stryker disable next-line MethodExpression: Headers values come trimmed (the Fetch standard strips surrounding whitespace)
  if (after !== null && after.trim() !== '') {
    // Stryker disable next-line MethodExpression: Headers values come trimmed (the Fetch standard strips surrounding whitespace)
    const seconds = Number(after.trim());
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return undefined;
}

/** The `x-ratelimit-reset*` family: when a budget resets, the later one when several are given. */
export function resetMs(headers: Headers, now: number): number | undefined {
  const waits: number[] = [];
  for (const name of ['x-ratelimit-reset', 'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const value = headers.get(name);
    const wait = value === null ? undefined : parseResetValue(value, now);
    if (wait !== undefined) waits.push(wait);
  }
  // Both the request and the token budget must have reset, so wait for the later one.
  return waits.length === 0 ? undefined : Math.max(...waits);
}

function parseResetValue(value: string, now: number): number | undefined {
  // Stryker disable next-line MethodExpression: Headers values come trimmed (the Fetch standard strips surrounding whitespace)
  const text = value.trim();
  const plain = Number(text);
  if (text !== '' && Number.isFinite(plain)) {
    // Larger still, epoch milliseconds (Moonshot does not say which form its X-RateLimit-Reset
    // takes); large numbers are epoch seconds (some gateways); small ones are seconds to wait.
    if (plain >= 1e12) return Math.max(0, Math.round(plain - now));
    return plain > 1e9 ? Math.max(0, Math.round(plain * 1000 - now)) : Math.round(plain * 1000);
  }
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] ?? 0), 0));
}

/**
 * The server's own word on retrying, `x-should-retry: true` or `false`, which the openai SDK obeys
 * before the status ("If the server explicitly says whether or not to retry, obey") and Z.ai's SDK
 * too (docs/providers.md [O1]); `undefined` for any other value or none, as theirs.
 */
export function serverSaysRetry(headers: Headers | undefined): boolean | undefined {
  const said = headers?.get('x-should-retry');
  return said === 'true' ? true : said === 'false' ? false : undefined;
}
