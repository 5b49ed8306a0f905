/**
 * Failures the transport raises before or while reading a body, mapped without HTTP (the same
 * cases over real sockets are in tests/integration/providers/hostile-provider.test.ts): a body that
 * does not decode, a redirect fetch refuses to follow. Each is BAD_RESPONSE, not retried (sending
 * it again meets the same bytes or redirects), with a message naming the reason and no secret.
 */
import { describe, expect, it } from 'vitest';
import { toProviderError } from '../../../src/providers/http-errors.js';
import {
  BadEncodingError,
  CrossOriginRedirectError,
  StalledAnswerError,
} from '../../../src/providers/response-cap.js';

const KEY = 'sk-transport-0123456789';
const ctx = { provider: 'glm', secrets: [KEY], operation: 'chat completion' };

const zlibError = (code: string, message: string) => Object.assign(new Error(message), { code });
/** How undici's fetch ends a streamed body whose decoding failed: `terminated`, zlib's error its cause. */
const terminated = (cause: unknown) => new TypeError('terminated', { cause });
/** How undici's fetch fails a request: `fetch failed`, its reason the cause. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });

describe('a body that does not decode', () => {
  it('fetchWhole’s BadEncodingError, anywhere in the chain, is BAD_RESPONSE with its message and no key', () => {
    const bad = new BadEncodingError(
      `Expected a gzip body, got bytes that do not decode (incorrect header check) ${KEY}`,
    );
    for (const thrown of [bad, fetchFailed(bad)]) {
      const mapped = toProviderError(thrown, ctx);
      expect(mapped.code).toBe('BAD_RESPONSE');
      expect(mapped.retryable).toBe(false);
      expect(mapped.message).toMatch(
        /^glm chat completion: Expected a gzip body, got bytes that do not decode/,
      );
      expect(mapped.message).not.toContain(KEY);
    }
  });

  it('a streamed body fetch could not decode (zlib or brotli code under `terminated`) is BAD_RESPONSE naming the reason', () => {
    for (const code of ['Z_DATA_ERROR', 'Z_BUF_ERROR', 'ERR__ERROR_FORMAT_PADDING_1']) {
      const mapped = toProviderError(terminated(zlibError(code, `bad bytes near ${KEY}`)), ctx);
      expect(mapped.code, code).toBe('BAD_RESPONSE');
      expect(mapped.retryable).toBe(false);
      expect(mapped.message).toBe(
        'glm chat completion: Expected a body that decodes as its Content-Encoding, got bytes that do not (bad bytes near [redacted])',
      );
      // zlib's error kept as the cause, for logs, with the key cut.
      expect(mapped.cause).toEqual({ name: 'Error', message: 'bad bytes near [redacted]', code });
    }
  });

  it('an error without a code under `terminated` is no decoding failure', () => {
    expect(toProviderError(terminated(new Error('Z_DATA_ERROR')), ctx).message).not.toContain('decodes');
  });

  it('a socket error under `terminated` is still a network failure, retried: only zlib and brotli codes are decoding', () => {
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'XZ_DATA_ERROR', 'ERR_STREAM_PREMATURE_CLOSE']) {
      const mapped = toProviderError(terminated(zlibError(code, 'other side closed')), ctx);
      expect(mapped.code, code).toBe('NETWORK');
      expect(mapped.retryable).toBe(true);
    }
  });
});

describe('a redirect fetch refuses to follow', () => {
  it('a loop past 20 or a Location that is not http(s) is BAD_RESPONSE naming the reason, not retried', () => {
    for (const reason of ['redirect count exceeded', 'URL scheme must be a HTTP(S) scheme']) {
      const mapped = toProviderError(fetchFailed(new TypeError(reason)), ctx);
      expect(mapped.code, reason).toBe('BAD_RESPONSE');
      expect(mapped.retryable).toBe(false);
      expect(mapped.message).toBe(
        `glm chat completion: Expected an answer, got a redirect fetch refuses to follow (${reason}); point baseURL at where the provider answers`,
      );
      expect(mapped.cause).toEqual({ name: 'TypeError', message: reason });
    }
  });

  it('a redirect to another origin, refused before anything is sent there, is BAD_RESPONSE saying where to point baseURL', () => {
    const refused = new CrossOriginRedirectError('https://api.moonshot.cn', 'https://elsewhere.example');
    const mapped = toProviderError(fetchFailed(refused), ctx);
    expect(mapped.code).toBe('BAD_RESPONSE');
    expect(mapped.retryable).toBe(false);
    expect(mapped.message).toBe(
      "glm chat completion: Expected the provider to answer at https://api.moonshot.cn, got a redirect to https://elsewhere.example, which troupe does not follow: if that is the provider's address, set baseURL to it",
    );
  });

  it('another fetch failure with a similar message is not taken for a redirect', () => {
    for (const reason of [
      'redirect count',
      'Redirect count exceeded',
      'URL scheme must be a HTTP(S) scheme!',
    ]) {
      const mapped = toProviderError(fetchFailed(new TypeError(reason)), ctx);
      expect(mapped.message, reason).not.toContain('redirect fetch refuses');
    }
  });
});

describe('an answer read whole whose body stalled', () => {
  const bodyTimeout = () => Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });

  it('fetchWhole’s StalledAnswerError, anywhere in the chain, is the runtime’s idle TIMED_OUT, not retried', () => {
    const stalled = new StalledAnswerError(300, { cause: bodyTimeout() });
    for (const thrown of [stalled, new TypeError('terminated', { cause: stalled })]) {
      const mapped = toProviderError(thrown, ctx);
      expect(mapped).toMatchObject({
        family: 'runtime',
        code: 'TIMED_OUT',
        timeout: 'idle',
        stalled: 'body',
        retryable: false,
      });
      // The marker travels with the error's data (events, results), as the observer reads it.
      expect(mapped.toData()).toMatchObject({ timeout: 'idle', stalled: 'body' });
      expect(mapped.message).toBe(
        "glm chat completion: Expected the answer's body to keep coming, no byte of it came for 300 ms (idleTimeoutMs)",
      );
      expect(mapped.cause).toMatchObject({ name: 'StalledAnswerError' });
    }
  });

  it('undici’s own body timeout, with no bound of troupe’s, stays a network failure; an abort stays a cancel', () => {
    expect(toProviderError(bodyTimeout(), ctx).code).toBe('NETWORK');
    const aborted = AbortSignal.abort();
    expect(toProviderError(new StalledAnswerError(300), { ...ctx, signal: aborted }).code).toBe('CANCELLED');
  });
});
