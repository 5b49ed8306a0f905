/**
 * The provider error mapping, stated per case: which code each failure becomes, what its message
 * says, which hints it keeps, and that nothing the server sent reaches troupe verbatim.
 */
import { APIConnectionError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterMs, scrubSecrets, toProviderError } from '../../../src/providers/http-errors.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const SECRET = 'sk-secret-0123456789';
const ctx = { provider: 'kimi', secrets: [SECRET], operation: 'chat completion' };
const apiError = (status: number | undefined, body?: object, headers: Record<string, string> = {}) =>
  new APIError(status, body, undefined, new Headers(headers));

describe('HTTP statuses', () => {
  it.each([
    [400, 'INVALID_REQUEST', false],
    [401, 'AUTH_FAILED', false],
    [403, 'AUTH_FAILED', false],
    [404, 'MODEL_NOT_FOUND', false],
    [408, 'PROVIDER_UNAVAILABLE', true],
    [409, 'PROVIDER_UNAVAILABLE', true],
    [422, 'INVALID_REQUEST', false],
    [429, 'RATE_LIMITED', true],
    [499, 'INVALID_REQUEST', false],
    [500, 'PROVIDER_UNAVAILABLE', true],
    [503, 'PROVIDER_UNAVAILABLE', true],
  ] as const)('%i -> %s (retryable: %s)', (status, code, retryable) => {
    const mapped = toProviderError(apiError(status, { message: 'nope' }), ctx);
    expect(mapped.family).toBe('provider');
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.status).toBe(status);
    expect(mapped.message).toBe(`kimi chat completion: HTTP ${status}: nope`);
  });

  it('names the operation, "request" by default, and leaves out an empty server message', () => {
    expect(toProviderError(apiError(500, { message: '  ' }), { provider: 'glm' }).message).toBe(
      'glm request: HTTP 500',
    );
    expect(toProviderError(apiError(500, {}), { provider: 'glm' }).message).toBe('glm request: HTTP 500');
    expect(toProviderError(apiError(500, { message: 42 }), { provider: 'glm' }).message).toBe(
      'glm request: HTTP 500',
    );
  });

  it('cuts a long server message at 300 characters', () => {
    const mapped = toProviderError(apiError(500, { message: 'x'.repeat(301) }), ctx);
    expect(mapped.message).toBe(`kimi chat completion: HTTP 500: ${'x'.repeat(299)}…`);
    const exact = toProviderError(apiError(500, { message: 'y'.repeat(300) }), ctx);
    expect(exact.message).toBe(`kimi chat completion: HTTP 500: ${'y'.repeat(300)}`);
  });

  it('keeps the retry hint for rate limits and unavailability only', () => {
    const hint = { 'retry-after': '2' };
    expect(toProviderError(apiError(429, {}, hint), ctx).retryAfterMs).toBe(2000);
    expect(toProviderError(apiError(503, {}, hint), ctx).retryAfterMs).toBe(2000);
    expect(toProviderError(apiError(400, {}, hint), ctx).retryAfterMs).toBeUndefined();
    expect(toProviderError(apiError(429, {}), ctx).retryAfterMs).toBeUndefined();
    expect(
      toProviderError(new APIError(429, {}, undefined, undefined as never), ctx).retryAfterMs,
    ).toBeUndefined();
  });

  it('reads an unknown model from the error code or the message, and nothing else', () => {
    const notFound = [
      { message: 'x', code: 'model_not_found' },
      { message: 'x', code: 1211 },
      { message: 'Model kimi-x not found' },
      { message: 'the model does not exist' },
      { message: 'model gpt-9 is unknown' },
    ];
    for (const body of notFound)
      expect(toProviderError(apiError(400, body), ctx).code).toBe('MODEL_NOT_FOUND');
    const other = [{ message: 'invalid model parameter' }, { message: 'not found' }, { code: 'other' }, {}];
    for (const body of other) expect(toProviderError(apiError(400, body), ctx).code).toBe('INVALID_REQUEST');
  });

  it('keeps a cause with the status and error code, scrubbed', () => {
    const mapped = toProviderError(apiError(401, { message: `bad key ${SECRET}`, code: 'invalid_key' }), ctx);
    expect(mapped.cause).toEqual({
      name: 'Error',
      message: '401 bad key [redacted]',
      status: 401,
      code: 'invalid_key',
    });
    expect(mapped.message).toBe('kimi chat completion: HTTP 401: bad key [redacted]');
  });
});

describe('failures without a status', () => {
  it('an error object inside a stream is the provider failing mid-answer', () => {
    const mapped = toProviderError(apiError(undefined, { message: 'overloaded' }), ctx);
    expect(mapped.code).toBe('PROVIDER_UNAVAILABLE');
    expect(mapped.message).toBe('kimi chat completion: the stream carried an error: overloaded');
    expect(mapped.retryable).toBe(true);
  });

  it('an unclassified connection error is the network', () => {
    const mapped = toProviderError(new APIConnectionError({ message: 'tls' }), ctx);
    expect(mapped.code).toBe('NETWORK');
    expect(mapped.message).toBe('kimi chat completion: connection failed');
  });

  it.each([
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ECONNRESET'],
    [Object.assign(new Error('dns'), { code: 'ENOTFOUND' }), 'ENOTFOUND'],
    [Object.assign(new Error('slow'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'UND_ERR_HEADERS_TIMEOUT'],
    [Object.assign(new Error('closed'), { name: 'SocketError' }), 'socket closed'],
    [new TypeError('terminated'), 'socket closed'],
  ])('%o is a network failure (%s)', (error, shown) => {
    const mapped = toProviderError(new TypeError('fetch failed', { cause: error }), ctx);
    expect(mapped.code).toBe('NETWORK');
    expect(mapped.message).toBe(`kimi chat completion: connection failed (${shown})`);
  });

  it('other errors with codes or a TypeError are not network failures', () => {
    expect(toProviderError(Object.assign(new Error('x'), { code: 'EACCES' }), ctx).code).toBe('BAD_RESPONSE');
    expect(toProviderError(new TypeError('other'), ctx).code).toBe('BAD_RESPONSE');
    expect(toProviderError({ code: 'ECONNRESET' }, ctx).code).toBe('BAD_RESPONSE');
  });

  it('an abort by name is a cancellation', () => {
    const mapped = toProviderError(Object.assign(new Error('x'), { name: 'AbortError' }), ctx);
    expect(mapped.code).toBe('CANCELLED');
    expect(mapped.message).toBe('Expected the kimi chat completion to finish, got an abort');
    expect(mapped.retryable).toBe(false);
  });

  it('an unparseable body says so', () => {
    expect(toProviderError(new SyntaxError('Unexpected token'), ctx).message).toBe(
      'kimi chat completion: Expected a JSON body, got unparseable text',
    );
  });

  it('anything else is a bad response naming what was thrown, with a scrubbed cause', () => {
    const mapped = toProviderError(new RangeError('weird'), ctx);
    expect(mapped.message).toBe('kimi chat completion: unexpected failure (RangeError)');
    const text = toProviderError(`leaked ${SECRET}`, ctx);
    expect(text.message).toBe('kimi chat completion: unexpected failure (string)');
    expect(text.cause).toEqual({ name: 'string', message: 'leaked [redacted]' });
    const long = toProviderError(new Error('z'.repeat(400)), ctx);
    expect((long.cause as { message: string }).message).toHaveLength(300);
  });

  it('a cyclic cause chain ends the search instead of looping', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(toProviderError(a, ctx).code).toBe('BAD_RESPONSE');
  });
});

describe('retryAfterMs', () => {
  it.each([
    [{ 'retry-after-ms': '-1', 'retry-after': '3' }, 3000],
    [{ 'retry-after-ms': '0' }, 0],
    [{ 'retry-after': '0' }, 0],
    [{ 'retry-after': ' 4 ' }, 4000],
    [{ 'retry-after': '   ' }, undefined],
    [{ 'x-ratelimit-reset-tokens': '1h' }, 3_600_000],
    [{ 'x-ratelimit-reset-tokens': '1.5s' }, 1500],
    [{ 'x-ratelimit-reset-tokens': '2m3s' }, 123_000],
    [{ 'x-ratelimit-reset-tokens': '' }, undefined],
    [{ 'x-ratelimit-reset-tokens': '3s later' }, undefined],
    [{ 'x-ratelimit-reset': String(NOW / 1000 - 10) }, 0],
    [{ 'x-ratelimit-reset': '1000000000' }, 1_000_000_000_000],
    // Epoch milliseconds: read as a time, not as some 50,000 years of seconds.
    [{ 'x-ratelimit-reset': String(NOW + 7000) }, 7000],
    [{ 'x-ratelimit-reset': String(NOW - 7000) }, 0],
    [{ 'x-ratelimit-reset': '1000000000000' }, 0],
    [{ 'x-ratelimit-reset': '999999999999' }, 999_999_999_999_000 - NOW],
    [{ 'x-ratelimit-reset-requests': '9s', 'x-ratelimit-reset-tokens': '2s' }, 9000],
  ])('%o -> %s', (given, expected) => {
    expect(retryAfterMs(new Headers(given), NOW)).toBe(expected);
  });

  it('reads the clock when not given one', () => {
    const inFive = new Date(Date.now() + 5000).toUTCString();
    const ms = retryAfterMs(new Headers({ 'retry-after': inFive }))!;
    expect(ms).toBeGreaterThan(3000);
    expect(ms).toBeLessThanOrEqual(5000);
  });
});

describe('scrubSecrets', () => {
  it('redacts secrets of 8 characters or more, in every secret given', () => {
    expect(scrubSecrets('a 12345678 b abcdefghij', ['12345678', 'abcdefghij'])).toBe(
      'a [redacted] b [redacted]',
    );
    expect(scrubSecrets('a 1234567 b', ['1234567'])).toBe('a [redacted] b');
    expect(scrubSecrets('x12345678y', ['12345678'])).toBe('x[redacted]y');
  });
});
