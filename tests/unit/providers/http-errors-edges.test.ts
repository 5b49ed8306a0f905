/**
 * The provider error mapping at its edges: every socket error code undici and Node use is the
 * network, a body over the size limit is a bad response wherever it sits in the cause chain,
 * every mapped error keeps a scrubbed cause (and only that), and the retry headers' odd forms.
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterMs, scrubSecrets, toProviderError } from '../../../src/providers/http-errors.js';
import { ResponseTooLargeError } from '../../../src/providers/transport.js';

const SECRET = 'sk-secret-0123456789';
const ctx = { provider: 'kimi', secrets: [SECRET], operation: 'chat completion' };
const coded = (code: string | number, message = 'socket') => Object.assign(new Error(message), { code });

describe('network errors', () => {
  it.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_SOCKET',
    'UND_ERR_CLOSED',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
  ])('%s, even wrapped in a cause, is the network', (code) => {
    const mapped = toProviderError(new TypeError('fetch failed', { cause: coded(code) }), ctx);
    expect(mapped.code).toBe('NETWORK');
    expect(mapped.message).toBe(`kimi chat completion: connection failed (${code})`);
    expect(mapped.cause).toEqual({ name: 'Error', message: 'socket', code });
  });

  it('names the host when it is known (which one, for a newcomer who saw only ENOTFOUND)', () => {
    const failed = new TypeError('fetch failed', { cause: coded('ENOTFOUND') });
    expect(toProviderError(failed, { ...ctx, host: 'api.moonshot.ai' }).message).toBe(
      'kimi chat completion: connection failed to api.moonshot.ai (ENOTFOUND)',
    );
  });

  it('an unknown code is not the network; a numeric code is read as text', () => {
    expect(toProviderError(coded('EWHATEVER'), ctx).code).toBe('BAD_RESPONSE');
    expect(toProviderError(coded(42), ctx).cause).toMatchObject({ code: '42' });
  });

  it('looks at most 8 causes deep', () => {
    let chain: unknown = coded('ECONNRESET');
    for (let i = 0; i < 7; i++) chain = new Error(`wrap ${i}`, { cause: chain });
    expect(toProviderError(chain, ctx).code).toBe('NETWORK');
    expect(toProviderError(new Error('one more', { cause: chain }), ctx).code).toBe('BAD_RESPONSE');
  });
});

describe('a response over the size limit', () => {
  it('is a bad response, wherever it is in the cause chain, with its own message', () => {
    const wrapped = new TypeError('terminated', { cause: new ResponseTooLargeError(1024) });
    const mapped = toProviderError(wrapped, ctx);
    expect(mapped.code).toBe('BAD_RESPONSE');
    expect(mapped.message).toBe(
      'kimi chat completion: Expected a response body of at most 1024 bytes, got more',
    );
    expect(mapped.cause).toMatchObject({ name: 'ResponseTooLargeError' });
  });
});

describe('every mapped error keeps a scrubbed cause', () => {
  it.each([
    ['an abort', Object.assign(new Error(`aborted ${SECRET}`), { name: 'AbortError' }), 'CANCELLED'],
    ['unparseable JSON', new SyntaxError(`Unexpected token ${SECRET}`), 'BAD_RESPONSE'],
    [
      'an unclassified connection error',
      new APIError(undefined, undefined, `tls ${SECRET}`, undefined),
      'NETWORK',
    ],
    [
      'a stream error',
      new APIError(undefined, { message: `stream ${SECRET}` }, undefined, undefined),
      'PROVIDER_UNAVAILABLE',
    ],
  ] as const)('%s', (_, value, code) => {
    const mapped = toProviderError(value, ctx);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toMatchObject({ name: (value as Error).name });
    expect(JSON.stringify(mapped.cause)).toContain('[redacted]');
    expect(JSON.stringify(mapped.cause)).not.toContain(SECRET);
    // Only an HTTP error carries a status.
    expect(mapped.cause).not.toHaveProperty('status');
  });

  it('a thrown non-error is kept as text, scrubbed and cut to 300 characters', () => {
    const mapped = toProviderError(`${SECRET} ${'x'.repeat(400)}`, ctx);
    expect(mapped.cause).toMatchObject({ name: 'string' });
    const message = (mapped.cause as { message: string }).message;
    expect(message.startsWith('[redacted] xxx')).toBe(true);
    expect(message).toHaveLength(300);
  });

  it('without secrets nothing is redacted; an empty secret redacts nothing', () => {
    expect(toProviderError(new SyntaxError('plain'), { provider: 'p' }).cause).toMatchObject({
      message: 'plain',
    });
    expect(scrubSecrets('a b', [''])).toBe('a b');
  });
});

describe('retry headers', () => {
  const h = (headers: Record<string, string>) => new Headers(headers);

  it('Retry-After in seconds, spaces around, zero included', () => {
    expect(retryAfterMs(h({ 'retry-after': ' 5 ' }))).toBe(5000);
    expect(retryAfterMs(h({ 'retry-after': '0' }))).toBe(0);
  });

  it('of the reset headers, waits for the later one; durations may have decimals', () => {
    expect(retryAfterMs(h({ 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-reset-tokens': '1m0s' }))).toBe(
      60_000,
    );
    expect(retryAfterMs(h({ 'x-ratelimit-reset-requests': '1m0s', 'x-ratelimit-reset-tokens': '2s' }))).toBe(
      60_000,
    );
    expect(retryAfterMs(h({ 'x-ratelimit-reset': ' 1.5s ' }))).toBe(1500);
    expect(retryAfterMs(h({ 'x-ratelimit-reset': '1.25m' }))).toBe(75_000);
  });
});

describe('statuses and hints without a vendor table', () => {
  it('a retry header counts only for a rate limit or an unavailable provider', () => {
    const err = (status: number) =>
      new APIError(status, { message: 'm' }, undefined, new Headers({ 'retry-after': '4' }));
    expect(toProviderError(err(429), ctx).retryAfterMs).toBe(4000);
    expect(toProviderError(err(503), ctx).retryAfterMs).toBe(4000);
    expect(toProviderError(err(400), ctx).retryAfterMs).toBeUndefined();
  });

  it('a body message that names an unknown model is MODEL_NOT_FOUND; a non-text message is not read', () => {
    const err = (body: object) => new APIError(400, body, undefined, new Headers());
    expect(toProviderError(err({ message: 'The model `x` does not exist' }), ctx).code).toBe(
      'MODEL_NOT_FOUND',
    );
    expect(toProviderError(err({ message: 42 }), ctx).code).toBe('INVALID_REQUEST');
    expect(toProviderError(err({ message: 42 }), ctx).message).toBe('kimi chat completion: HTTP 400');
  });
});
