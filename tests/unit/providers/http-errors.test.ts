import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { describe, expect, it } from 'vitest';
import { MAX_COOLDOWN_HINT_MS, providerError } from '../../../src/core/errors.js';
import { retryAfterMs, scrubSecrets, toProviderError } from '../../../src/providers/http-errors.js';
import { ResponseTooLargeError } from '../../../src/providers/transport.js';
import { KIMI_ERRORS } from '../../../src/providers/vendor-errors.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const headers = (entries: Record<string, string>) => new Headers(entries);
const ctx = { provider: 'p', secrets: ['sk-secret-0123456789'] };

describe('retryAfterMs', () => {
  it.each([
    [{ 'retry-after': '2' }, 2000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }, 7000],
    [{ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, 0],
    [{ 'retry-after-ms': '125.4', 'retry-after': '9' }, 125],
    [{ 'x-ratelimit-reset-requests': '1m30s' }, 90_000],
    [{ 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '6s' }, 6000],
    [{ 'x-ratelimit-reset': '3' }, 3000],
    [{ 'x-ratelimit-reset': String(NOW / 1000 + 4) }, 4000],
  ])('%o -> %i ms', (given, expected) => {
    expect(retryAfterMs(headers(given), NOW)).toBe(expected);
  });

  it.each([[{}], [{ 'retry-after': 'soon' }], [{ 'x-ratelimit-reset-requests': '5 minutes' }]])(
    '%o -> undefined',
    (given) => {
      expect(retryAfterMs(headers(given), NOW)).toBeUndefined();
    },
  );
});

describe('the cooldown hint of a rate limit or an outage', () => {
  // The provider's cooldown follows it for every caller: until 2026-12-04 one 429 with
  // `Retry-After: 1000000000` paused a provider until the process restarted.
  const hinted = (status: number, retryAfter: string, table?: 'kimi') =>
    toProviderError(
      new APIError(status, { message: 'wait' }, undefined, headers({ 'retry-after': retryAfter })),
      {
        ...ctx,
        ...(table === undefined ? {} : { errorTable: KIMI_ERRORS }),
      },
    );

  it.each([
    [429, '1000000000', 600_000],
    [503, '86400', 600_000],
    [429, '600', 600_000],
    [429, '599', 599_000],
  ])('HTTP %i with Retry-After %s: %i ms at most', (status, retryAfter, expected) => {
    expect(hinted(status, retryAfter).retryAfterMs).toBe(expected);
    expect(MAX_COOLDOWN_HINT_MS).toBe(600_000);
  });

  it('holds a vendor row’s hint to the same bound', () => {
    const error = hinted(429, '1000000000', 'kimi');
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(600_000);
    const outage = hinted(500, '86400', 'kimi');
    expect(outage.code).toBe('PROVIDER_UNAVAILABLE');
    expect(outage.retryAfterMs).toBe(600_000);
  });
});

describe('toProviderError', () => {
  it('maps statuses, keeping the status and a scrubbed message', () => {
    const error = new APIError(
      429,
      { message: 'slow down sk-secret-0123456789' },
      undefined,
      headers({ 'retry-after': '1' }),
    );
    const mapped = toProviderError(error, ctx);
    expect([mapped.code, mapped.status, mapped.retryAfterMs, mapped.retryable]).toEqual([
      'RATE_LIMITED',
      429,
      1000,
      true,
    ]);
    expect(mapped.message).toBe('p request: HTTP 429: slow down [redacted]');
    expect(JSON.stringify(mapped.cause)).not.toContain('sk-secret');
  });

  it('treats a 400 naming an unknown model (OpenAI code or GLM 1211) as MODEL_NOT_FOUND', () => {
    const openai = new APIError(400, { message: 'x', code: 'model_not_found' }, undefined, headers({}));
    const glm = new APIError(400, { message: '模型不存在', code: '1211' }, undefined, headers({}));
    const text = new APIError(400, { message: 'The model `gpt-x` does not exist' }, undefined, headers({}));
    for (const e of [openai, glm, text]) expect(toProviderError(e, ctx).code).toBe('MODEL_NOT_FOUND');
  });

  it('an aborted signal wins over whatever was thrown', () => {
    const controller = new AbortController();
    controller.abort();
    expect(toProviderError(new TypeError('terminated'), { ...ctx, signal: controller.signal }).code).toBe(
      'CANCELLED',
    );
    expect(toProviderError(new APIUserAbortError(), ctx).code).toBe('CANCELLED');
  });

  it('finds network failures down the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const wrapped = new APIConnectionError({ cause: new TypeError('fetch failed', { cause: refused }) });
    const mapped = toProviderError(wrapped, ctx);
    expect(mapped.code).toBe('NETWORK');
    expect(mapped.cause).toEqual({ name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
  });

  it('maps parse failures and oversized bodies to BAD_RESPONSE, and keeps TroupeErrors as they are', () => {
    expect(toProviderError(new SyntaxError('Unexpected end of JSON input'), ctx).code).toBe('BAD_RESPONSE');
    expect(toProviderError(new TypeError('x', { cause: new ResponseTooLargeError(10) }), ctx).code).toBe(
      'BAD_RESPONSE',
    );
    const own = providerError('AUTH_FAILED', 'no');
    expect(toProviderError(own, ctx)).toBe(own);
  });
});

describe('scrubSecrets', () => {
  it('redacts long secrets everywhere and short ones where they stand as a token', () => {
    expect(scrubSecrets('a sk-secret-0123456789 b sk-secret-0123456789', ['sk-secret-0123456789'])).toBe(
      'a [redacted] b [redacted]',
    );
    expect(scrubSecrets('key abc here, Bearer abc.', ['abc'])).toBe(
      'key [redacted] here, Bearer [redacted].',
    );
    expect(scrubSecrets('abcdef xabc a-abc', ['abc'])).toBe('abcdef xabc a-abc');
    expect(scrubSecrets('a (.+) b', ['(.+)'])).toBe('a [redacted] b');
    expect(scrubSecrets('nothing', [''])).toBe('nothing');
    // A long one in any case (a media type is read lowercased); a short one keeps its case.
    expect(scrubSecrets('text/x-sk-secret-0123456789', ['sk-SECRET-0123456789'])).toBe('text/x-[redacted]');
    expect(scrubSecrets('key ABC here', ['abc'])).toBe('key ABC here');
    expect(scrubSecrets('a.b+c a.bbc', ['a.b+c-long'])).toBe('a.b+c a.bbc');
    expect(scrubSecrets('x a.b+c-long y', ['A.B+C-LONG'])).toBe('x [redacted] y');
  });
});

describe('toProviderError on a TroupeError raised on the way', () => {
  // A check of the answer (its Content-Type) put what the provider sent into the message, and the
  // error went out as thrown, unscrubbed.
  it('scrubs its message and cause, keeping its code and fields; one with nothing to scrub is returned as is', () => {
    const raised = providerError(
      'BAD_RESPONSE',
      'p: Expected content type `application/json`, got `text/x-sk-secret-0123456789`',
      {
        cause: new Error('echo sk-secret-0123456789'),
        status: 200,
        retryAfterMs: 5,
        modelScoped: true,
      },
    );
    const mapped = toProviderError(raised, ctx);
    expect(mapped).not.toBe(raised);
    expect(mapped.message).toBe('p: Expected content type `application/json`, got `text/x-[redacted]`');
    expect(mapped.toData()).toEqual({ ...raised.toData(), message: mapped.message });
    expect(mapped.cause).toEqual({ name: 'Error', message: 'echo [redacted]' });
    const noCause = toProviderError(providerError('BAD_RESPONSE', 'got sk-secret-0123456789'), ctx);
    expect(noCause.message).toBe('got [redacted]');
    expect(noCause.cause).toBeUndefined();
    const clean = providerError('BAD_RESPONSE', 'p: nothing secret');
    expect(toProviderError(clean, ctx)).toBe(clean);
  });
});
