/**
 * What odd servers send, mapped without HTTP: a negative Retry-After, a message that is a list, an
 * error field that is `null`. Each still gives a caller a closed code, a message built here, and
 * no negative wait.
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterMs, toProviderError } from '../../../src/providers/http-errors.js';

const ctx = { provider: 'kimi', secrets: ['sk-odd-0123456789'], operation: 'chat completion' };

describe('odd servers', () => {
  it('a negative Retry-After is never a negative wait', () => {
    for (const value of ['-5', '-1.5', '-0.001']) {
      const ms = retryAfterMs(new Headers({ 'retry-after': value }), 1_700_000_000_000);
      expect(ms === undefined || ms >= 0, `${value} gave ${ms}`).toBe(true);
    }
  });

  it('a message that is a list is not read as a sentence about the model: a 400 stays a bad request', () => {
    const listed = new APIError(400, { message: ['The model `x` does not exist'] }, undefined, new Headers());
    const mapped = toProviderError(listed, ctx);
    expect(mapped.code).toBe('INVALID_REQUEST');
    expect(mapped.message).toBe('kimi chat completion: HTTP 400');
  });

  it('an error field of `null` maps by its status alone, and fails a stream as an error', () => {
    const mapped = toProviderError(new APIError(502, null as never, undefined, new Headers()), ctx);
    expect(mapped.code).toBe('PROVIDER_UNAVAILABLE');
    expect(mapped.message).toBe('kimi chat completion: HTTP 502');
    expect(mapped.status).toBe(502);
    // Inside a 200 stream: the field is there, empty; the call still failed.
    const streamed = toProviderError(new APIError(undefined, null as never, undefined, undefined), ctx);
    expect(streamed.code).toBe('PROVIDER_UNAVAILABLE');
    expect(streamed.message).toBe('kimi chat completion: the stream carried an error');
  });
});
