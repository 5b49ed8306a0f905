/**
 * `x-should-retry` in the mapping: the server's exact `true` or `false` sets `retryable` over the
 * code's own answer, in the generic table and in a vendor's, and the message says so; any other
 * value, or none, changes nothing (the openai SDK's `shouldRetry`, docs/providers.md [O1]).
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { toProviderError } from '../../../src/providers/http-errors.js';
import { serverSaysRetry } from '../../../src/providers/retry-after.js';
import { GLM_ERRORS, KIMI_ERRORS } from '../../../src/providers/vendor-errors.js';

const generic = { provider: 'local', operation: 'chat completion' };
const kimi = { provider: 'kimi', operation: 'chat completion', errorTable: KIMI_ERRORS };
const glm = { provider: 'glm', operation: 'chat completion', errorTable: GLM_ERRORS };
const apiError = (status: number, body: object, said?: string) =>
  new APIError(status, body, undefined, new Headers(said === undefined ? {} : { 'x-should-retry': said }));

describe('serverSaysRetry', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', undefined],
    ['False', undefined],
    ['1', undefined],
    ['', undefined],
  ] as const)('`%s` -> %s', (said, expected) => {
    expect(serverSaysRetry(new Headers({ 'x-should-retry': said }))).toBe(expected);
  });

  it('is undefined without the header, or without headers', () => {
    expect(serverSaysRetry(new Headers())).toBeUndefined();
    expect(serverSaysRetry(undefined)).toBeUndefined();
  });
});

describe('x-should-retry in the mapping', () => {
  it.each([
    ['the generic table, a 503', generic, 503, { message: 'busy' }, 'PROVIDER_UNAVAILABLE'],
    [
      'Kimi’s table, a 429 rate limit',
      kimi,
      429,
      { error: { type: 'rate_limit_reached_error', message: 'please try again after 3 seconds' } },
      'RATE_LIMITED',
    ],
  ] as const)(
    '`false` makes %s not retryable, keeping its code and hint',
    (_, context, status, body, code) => {
      const plain = toProviderError(apiError(status, body), context);
      const told = toProviderError(apiError(status, body, 'false'), context);
      expect(plain.retryable).toBe(true);
      expect(told.retryable).toBe(false);
      expect(told.code).toBe(code);
      expect(told.retryAfterMs).toBe(plain.retryAfterMs);
      expect(told.message).toBe(`${plain.message} (the server's x-should-retry: false)`);
    },
  );

  it.each([
    ['the generic table, a 400', generic, 400, { message: 'bad' }, 'INVALID_REQUEST'],
    [
      'GLM’s table, code 1214',
      glm,
      400,
      { error: { code: '1214', message: 'bad field' } },
      'INVALID_REQUEST',
    ],
  ] as const)('`true` makes %s retryable, keeping its code', (_, context, status, body, code) => {
    const plain = toProviderError(apiError(status, body), context);
    const told = toProviderError(apiError(status, body, 'true'), context);
    expect(plain.retryable).toBe(false);
    expect(told.retryable).toBe(true);
    expect(told.code).toBe(code);
    expect(told.message).toBe(`${plain.message} (the server's x-should-retry: true)`);
  });

  it.each([
    [
      'GLM’s daily quota (1304)',
      { error: { code: '1304', message: 'The daily call limit for this API has been reached.' } },
      'QUOTA_EXHAUSTED',
      'Top up or wait for the quota to reset',
    ],
    [
      'GLM’s content filter (1301)',
      { error: { code: '1301', message: 'System detected potentially unsafe content.' } },
      'CONTENT_FILTERED',
      'Rephrase',
    ],
  ] as const)('%s says troupe does not retry it only while it is not retryable', (_, body, code, advice) => {
    const plain = toProviderError(apiError(429, body), glm);
    const no = toProviderError(apiError(429, body, 'false'), glm);
    const yes = toProviderError(apiError(429, body, 'true'), glm);
    expect([plain.code, plain.retryable, yes.code, yes.retryable]).toEqual([code, false, code, true]);
    expect(plain.message).toMatch(new RegExp(`${advice}; troupe does not retry this\\.$`));
    expect(no.message).toBe(`${plain.message} (the server's x-should-retry: false)`);
    expect(yes.message).toBe(
      `${plain.message.replace('; troupe does not retry this.', '.')} (the server's x-should-retry: true)`,
    );
    expect(yes.message).not.toMatch(/retry this/);
  });

  it('another value changes neither `retryable` nor the message', () => {
    for (const said of ['TRUE', 'no', '0']) {
      const plain = toProviderError(apiError(503, { message: 'busy' }), generic);
      const told = toProviderError(apiError(503, { message: 'busy' }, said), generic);
      expect(told.retryable).toBe(true);
      expect(told.message).toBe(plain.message);
    }
  });
});
