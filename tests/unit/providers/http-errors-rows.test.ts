/**
 * What a vendor row adds to a mapped error, beyond its code: where its retry hint may come from
 * (and where not), the advice only some codes carry, and the scrubbed cause of a stream's error.
 * Also the odd inputs the mapping must survive: no body, a null thrown, an empty secret.
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterMs, toProviderError } from '../../../src/providers/http-errors.js';
import { GLM_ERRORS, KIMI_ERRORS } from '../../../src/providers/vendor-errors.js';

const kimi = { provider: 'kimi', operation: 'chat completion', errorTable: KIMI_ERRORS };
const glm = { provider: 'glm', operation: 'chat completion', errorTable: GLM_ERRORS };
const generate = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  APIError.generate(status, body as object, undefined, new Headers(headers));

describe("a row's retry hint", () => {
  it("takes a `header` row's hint from the header only, never from the message", () => {
    const body = { error: { type: 'server_error', message: 'please try again after 3 seconds' } };
    expect(toProviderError(generate(500, body, { 'retry-after': '2' }), kimi).retryAfterMs).toBe(2000);
    expect(toProviderError(generate(500, body), kimi).retryAfterMs).toBeUndefined();
  });

  it("reads a Moonshot rate limit's seconds from the message when there is no header", () => {
    const body = { error: { type: 'rate_limit_reached_error', message: 'please try again after 3 seconds' } };
    expect(toProviderError(generate(429, body), kimi).retryAfterMs).toBe(3000);
    expect(toProviderError(generate(429, body, { 'retry-after': '1' }), kimi).retryAfterMs).toBe(1000);
  });

  it('gives no hint for a reset-time row whose message names no time, and none for a `none` row', () => {
    const window = toProviderError(
      generate(429, { error: { code: '1308', message: 'Usage limit reached' } }),
      {
        ...glm,
        now: () => 0,
      },
    );
    expect(window.code).toBe('QUOTA_EXHAUSTED');
    expect(window.retryAfterMs).toBeUndefined();
    const quota = generate(
      429,
      { error: { type: 'exceeded_current_quota_error', message: 'm' } },
      { 'retry-after': '5' },
    );
    expect(toProviderError(quota, kimi).retryAfterMs).toBeUndefined();
  });
});

describe("a row's advice", () => {
  it('adds nothing to a message for codes a session retries or a caller fixes by reading it', () => {
    const rate = generate(429, { error: { type: 'rate_limit_reached_error', message: 'slow down' } });
    expect(toProviderError(rate, kimi).message).toBe('kimi chat completion: HTTP 429: slow down');
    const glmAuth = generate(401, { error: { code: '1002', message: 'bad key' } });
    expect(toProviderError(glmAuth, glm).message).toBe('glm chat completion: HTTP 401: bad key');
  });

  it("adds a row's own advice where the vendor's page gives one (Kimi: the two platforms' keys)", () => {
    const auth = generate(401, { error: { type: 'invalid_authentication_error', message: 'bad key' } });
    expect(toProviderError(auth, kimi).message).toBe(
      `kimi chat completion: HTTP 401: bad key. Check the key and its platform: keys of platform.kimi.com work only on api.moonshot.cn (kimi.region "cn"), keys of platform.kimi.ai only on api.moonshot.ai (the default), and Kimi Code keys (sk-kimi-...) only on Kimi Code's https://api.kimi.com/coding/v1 (KIMI_BASE_URL).`,
    );
    const notFound = generate(404, { error: { type: 'resource_not_found_error', message: 'no such model' } });
    expect(toProviderError(notFound, kimi).message).toBe(
      "kimi chat completion: HTTP 404: no such model. Check the model id (list_models); for a model the account has, check the key's product: Kimi Code keys (sk-kimi-...) work only on Kimi Code's https://api.kimi.com/coding/v1 (KIMI_BASE_URL).",
    );
    // To a file upload the same 404 is a missing file: no word of models or keys.
    const lost = toProviderError(notFound, { ...kimi, operation: 'file upload' });
    expect([lost.code, lost.message]).toEqual([
      'INVALID_REQUEST',
      'kimi file upload: HTTP 404: no such model',
    ]);
    const closed = toProviderError(
      generate(499, { error: { type: 'client_closed_request', message: 'm' } }),
      kimi,
    );
    expect(closed.code).toBe('NETWORK');
    expect(closed.retryable).toBe(true);
    expect(closed.message).toBe(
      'kimi chat completion: HTTP 499: m. Check the keep-alive and timeouts of any proxy between troupe and Moonshot.',
    );
  });

  it('tells a filtered request to rephrase', () => {
    const filtered = generate(400, { error: { type: 'content_filter', message: 'high risk' } });
    expect(toProviderError(filtered, kimi).message).toBe(
      'kimi chat completion: HTTP 400: high risk. The request was rejected as high risk by content review. Rephrase; troupe does not retry this.',
    );
  });
});

describe("a stream's error that matched a row", () => {
  it('keeps the scrubbed cause', () => {
    const error = new APIError(
      undefined,
      { code: '1302', message: 'busy sk-secret-0123456789' },
      'busy',
      undefined,
    );
    const mapped = toProviderError(error, { ...glm, secrets: ['sk-secret-0123456789'] });
    expect(mapped.code).toBe('RATE_LIMITED');
    expect(mapped.message).toBe('glm chat completion: the stream carried an error: busy [redacted]');
    expect(mapped.cause).toEqual({ name: 'Error', message: 'busy [redacted]', code: '1302' });
    expect(mapped.modelScoped).toBeUndefined();
  });
});

describe('an error of one model overloaded (GLM 1305, 1312)', () => {
  it('is modelScoped in an HTTP answer and in a stream; a fault of the provider is not', () => {
    for (const code of ['1305', '1312']) {
      const http = toProviderError(generate(429, { error: { code, message: 'busy' } }), glm);
      expect([http.code, http.modelScoped]).toEqual(['PROVIDER_UNAVAILABLE', true]);
      const streamed = toProviderError(
        new APIError(undefined, { code, message: 'busy' }, 'busy', undefined),
        glm,
      );
      expect([streamed.code, streamed.modelScoped]).toEqual(['PROVIDER_UNAVAILABLE', true]);
    }
    const down = toProviderError(generate(500, { error: { code: '1234', message: 'fault' } }), glm);
    expect([down.code, down.modelScoped]).toEqual(['PROVIDER_UNAVAILABLE', undefined]);
    expect(toProviderError(generate(503, undefined), { provider: 'p' }).modelScoped).toBeUndefined();
  });
});

describe('odd inputs', () => {
  it('maps an HTTP error without a body by its status', () => {
    const mapped = toProviderError(generate(400, undefined), { provider: 'p' });
    expect(mapped.code).toBe('INVALID_REQUEST');
    expect(mapped.message).toBe('p request: HTTP 400');
  });

  it('maps a thrown null or undefined as an unexpected failure', () => {
    expect(toProviderError(null, { provider: 'p' }).message).toBe('p request: unexpected failure (object)');
    expect(toProviderError(undefined, { provider: 'p' }).message).toBe(
      'p request: unexpected failure (undefined)',
    );
  });

  it('ignores an empty secret instead of redacting between every character', () => {
    const mapped = toProviderError(generate(400, { error: { message: 'bad value (see docs)' } }), {
      provider: 'p',
      secrets: [''],
    });
    expect(mapped.message).toBe('p request: HTTP 400: bad value (see docs)');
  });

  it('reads no wait from a Retry-After of Infinity, and none from one of 0 whatever the clock says', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': 'Infinity' }), 0)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': '0' }), 0)).toBe(0);
  });
});
