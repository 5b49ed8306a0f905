/**
 * Every row of both vendor error tables through the mapping itself (`toProviderError` with the
 * vendor's table), without HTTP: the same documented bodies and the same expectations as the
 * end-to-end test (tests/integration/providers/vendor-errors.test.ts), plus the retry hints that
 * depend on the time and what a stream's error and an unknown body become.
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { toProviderError } from '../../../src/providers/http-errors.js';
import { GLM_ERRORS, KIMI_ERRORS, type VendorErrorTable } from '../../../src/providers/vendor-errors.js';
import { VENDOR_ERROR_CASES, type VendorErrorCase } from '../../../src/testing/vendor-modes.js';
import { EXPECTED, type Expected } from '../../fixtures/vendor-error-expectations.js';

const KEY = 'sk-vendor-errors-0123456789abcdef';
const NOW = Date.parse('2026-12-01T09:00:00Z');
const VENDORS = {
  kimi: { table: KIMI_ERRORS, model: 'kimi-k2.6', contextWindow: 262144 },
  glm: { table: GLM_ERRORS, model: 'glm-4.6', contextWindow: 204800 },
} as const;

const errorOf = (c: Pick<VendorErrorCase, 'status' | 'body' | 'headers'>) =>
  APIError.generate(c.status, c.body as object, undefined, new Headers({ ...(c.headers ?? {}) }));
const contextOf = (vendor: keyof typeof VENDORS, table: VendorErrorTable = VENDORS[vendor].table) => ({
  provider: vendor,
  secrets: [KEY],
  operation: 'chat completion',
  errorTable: table,
  model: VENDORS[vendor].model,
  contextWindow: VENDORS[vendor].contextWindow,
  now: () => NOW,
});

describe('every row of each vendor error table has a documented case', () => {
  it.each([
    ['kimi', KIMI_ERRORS.rows],
    ['glm', GLM_ERRORS.rows],
  ] as const)('%s', (vendor, rows) => {
    const cases = VENDOR_ERROR_CASES[vendor].map((c) => c.name.split('#')[0]);
    for (const row of rows) expect(cases, row.id).toContain(row.id);
    for (const c of VENDOR_ERROR_CASES[vendor]) expect(EXPECTED[c.name], c.name).toBeDefined();
  });
});

for (const vendor of ['kimi', 'glm'] as const) {
  describe(`${vendor}: each documented error becomes its troupe code`, () => {
    it.each(VENDOR_ERROR_CASES[vendor].map((c) => [c.name, c] as const))('%s', (name, c) => {
      const expected = EXPECTED[name] as Expected;
      const mapped = toProviderError(errorOf(c), contextOf(vendor));
      expect(mapped.code).toBe(expected.code);
      expect(mapped.retryable).toBe(expected.retryable);
      expect(mapped.status).toBe(c.status);
      if (expected.retryAfterMs !== undefined) expect(mapped.retryAfterMs).toBe(expected.retryAfterMs);
      if (expected.says !== undefined) expect(mapped.message).toMatch(expected.says);
      expect(mapped.message).toMatch(new RegExp(`^${vendor} chat completion: HTTP ${c.status}: `));
    });

    it('without its table, the same bodies get the generic status mapping', () => {
      for (const c of VENDOR_ERROR_CASES[vendor]) {
        const mapped = toProviderError(errorOf(c), { provider: vendor });
        expect([
          'AUTH_FAILED',
          'INVALID_REQUEST',
          'MODEL_NOT_FOUND',
          'RATE_LIMITED',
          'PROVIDER_UNAVAILABLE',
        ]).toContain(mapped.code);
      }
    });
  });
}

describe('hints and advice that depend on the row', () => {
  const glmCase = (name: string) => VENDOR_ERROR_CASES.glm.find((c) => c.name === name) as VendorErrorCase;

  it('a zoned reset time is a retry hint in ms from now; a zoneless one is quoted, never guessed', () => {
    const zoned = toProviderError(errorOf(glmCase('glm.window#zoned')), contextOf('glm'));
    expect(zoned.retryAfterMs).toBe(Date.parse('2099-01-01T00:00:00Z') - NOW);
    expect(zoned.message).toContain('(the vendor says it resets at 2099-01-01T00:00:00Z)');
    const zoneless = toProviderError(errorOf(glmCase('glm.window')), contextOf('glm'));
    expect(zoneless.retryAfterMs).toBeUndefined();
    expect(zoneless.message).toContain('Top up or wait for the quota to reset (the vendor says it resets at');
  });

  it('a quota without a reset time says so without one; troupe does not retry it', () => {
    const daily = toProviderError(errorOf(glmCase('glm.daily')), contextOf('glm'));
    expect(daily.message).toMatch(/Top up or wait for the quota to reset; troupe does not retry this\.$/);
  });

  it('a Kimi rate limit takes the header first, else the seconds the message names', () => {
    const kimi = VENDOR_ERROR_CASES.kimi;
    const rate = kimi.find((c) => c.name === 'kimi.rate') as VendorErrorCase;
    expect(toProviderError(errorOf(rate), contextOf('kimi')).retryAfterMs).toBe(7000);
    const header = toProviderError(errorOf({ ...rate, headers: { 'retry-after': '3' } }), contextOf('kimi'));
    expect(header.retryAfterMs).toBe(3000);
  });

  it('a Kimi rate limit takes the seconds its message names before an X-RateLimit-Reset', () => {
    const rate = VENDOR_ERROR_CASES.kimi.find((c) => c.name === 'kimi.rate') as VendorErrorCase;
    const hint = (headers: Record<string, string>, body: object = rate.body as object) =>
      toProviderError(errorOf({ ...rate, body, headers }), contextOf('kimi')).retryAfterMs;
    // The reset an hour away may be the day's window; the message names the limit that tripped.
    const inAnHour = String(NOW / 1000 + 3600);
    expect(hint({ 'x-ratelimit-reset': inAnHour })).toBe(7000);
    expect(hint({ 'x-ratelimit-reset': '45' })).toBe(7000);
    expect(hint({ 'x-ratelimit-reset': inAnHour, 'retry-after': '2' })).toBe(2000);
    expect(hint({ 'x-ratelimit-reset': inAnHour, 'retry-after-ms': '1500' })).toBe(1500);
    // Without seconds in the message, the reset is the only hint there is.
    const plain = { error: { type: 'rate_limit_reached_error', message: 'rate limited' } };
    expect(hint({ 'x-ratelimit-reset': '45' }, plain)).toBe(45_000);
    // An hour away is read as an hour, and held to the cooldown's 10 minutes (since 2026-12-04): the
    // provider is asked again then, where a day's window would have paused it for every caller.
    expect(hint({ 'x-ratelimit-reset': inAnHour }, plain)).toBe(600_000);
    expect(hint({}, plain)).toBeUndefined();
  });

  it('a 404 is a missing model only to a chat: to a file upload or a model list it is a bad request', () => {
    const notFound = VENDOR_ERROR_CASES.kimi.find((c) => c.name === 'kimi.not-found') as VendorErrorCase;
    const codeOf = (operation: string | undefined, table?: VendorErrorTable) =>
      toProviderError(errorOf(notFound), {
        provider: 'kimi',
        ...(operation === undefined ? {} : { operation }),
        ...(table === undefined ? {} : { errorTable: table }),
      }).code;
    expect(codeOf('chat completion', KIMI_ERRORS)).toBe('MODEL_NOT_FOUND');
    expect(codeOf('chat stream', KIMI_ERRORS)).toBe('MODEL_NOT_FOUND');
    expect(codeOf(undefined, KIMI_ERRORS)).toBe('MODEL_NOT_FOUND');
    expect(codeOf('file upload', KIMI_ERRORS)).toBe('INVALID_REQUEST');
    expect(codeOf('model list', KIMI_ERRORS)).toBe('INVALID_REQUEST');
    // The generic table (an OpenAI-compatible server) the same way.
    expect(codeOf('chat completion')).toBe('MODEL_NOT_FOUND');
    expect(codeOf('model list')).toBe('INVALID_REQUEST');
    // Any other error of those operations keeps its code.
    const rate = VENDOR_ERROR_CASES.kimi.find((c) => c.name === 'kimi.rate') as VendorErrorCase;
    const upload = { provider: 'kimi', operation: 'file upload', errorTable: KIMI_ERRORS };
    expect(toProviderError(errorOf(rate), upload).code).toBe('RATE_LIMITED');
  });

  it('an error that came with no headers still reads the hint its message gives, and no other', () => {
    const bare = (name: string, vendor: keyof typeof VENDORS) => {
      const found = VENDOR_ERROR_CASES[vendor].find((c) => c.name === name) as VendorErrorCase;
      return toProviderError(
        new APIError(found.status, found.body as object, undefined, undefined),
        contextOf(vendor),
      );
    };
    expect(bare('kimi.rate', 'kimi')).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 7000 });
    expect(bare('kimi.server', 'kimi')).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      retryAfterMs: undefined,
    });
    expect(bare('glm.concurrency', 'glm')).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: undefined });
  });

  it('a context overflow names the window and the model, or says it does not know them', () => {
    // A body whose figure is no window (12 tokens): nothing to name but "its context window".
    const tooLong = VENDOR_ERROR_CASES.kimi.find(
      (c) => c.name === 'kimi.too-long#implausible',
    ) as VendorErrorCase;
    const plain = toProviderError(errorOf(tooLong), { provider: 'kimi', errorTable: KIMI_ERRORS });
    expect(plain.message).toMatch(
      /\. The prompt plus the completion budget exceed its context window \(the model\): shorten the conversation or lower max_tokens\.$/,
    );
  });

  it('a content filter says to rephrase and that troupe does not retry', () => {
    const filtered = VENDOR_ERROR_CASES.glm.find((c) => c.name === 'glm.sensitive') as VendorErrorCase;
    expect(toProviderError(errorOf(filtered), contextOf('glm')).message).toMatch(
      /Rephrase; troupe does not retry this\.$/,
    );
  });

  it("a row's error inside a 200 stream maps by its body; an unknown one is the provider failing", () => {
    const inStream = (body: object) => new APIError(undefined, body, undefined, undefined);
    const sensitive = toProviderError(
      inStream({ code: '1301', message: 'System detected potentially unsafe content' }),
      contextOf('glm'),
    );
    expect(sensitive.code).toBe('CONTENT_FILTERED');
    expect(sensitive.message).toMatch(
      /^glm chat completion: the stream carried an error: System detected potentially unsafe content\. .* Rephrase; troupe does not retry this\.$/,
    );
    const unknown = toProviderError(inStream({ message: `broke ${KEY}` }), contextOf('glm'));
    expect(unknown.code).toBe('PROVIDER_UNAVAILABLE');
    expect(unknown.message).toBe('glm chat completion: the stream carried an error: broke [redacted]');
    const noTable = toProviderError(inStream({ code: '1301', message: 'x' }), { provider: 'glm' });
    expect(noTable.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('a Kimi error inside a 200 stream maps by its type; a row that names only a status does not match', () => {
    const inStream = (body: object) => new APIError(undefined, body, undefined, undefined);
    const filtered = toProviderError(
      inStream({
        type: 'content_filter',
        message: 'The request was rejected because it was considered high risk',
      }),
      contextOf('kimi'),
    );
    expect(filtered.code).toBe('CONTENT_FILTERED');
    expect(filtered.retryable).toBe(false);
    expect(filtered.message).toMatch(
      /^kimi chat completion: the stream carried an error: .* Rephrase; troupe does not retry this\.$/,
    );
    const quota = toProviderError(
      inStream({ type: 'exceeded_current_quota_error', message: 'no balance' }),
      contextOf('kimi'),
    );
    expect(quota.code).toBe('QUOTA_EXHAUSTED');
    const tpd = toProviderError(
      inStream({ type: 'rate_limit_reached_error', message: 'request reached organization TPD rate limit' }),
      contextOf('kimi'),
    );
    expect(tpd.code).toBe('QUOTA_EXHAUSTED');
    // kimi.auth names only its status (401): without one, a body is not matched by it.
    const auth = toProviderError(
      inStream({ type: 'invalid_authentication_error', message: 'Invalid Authentication' }),
      contextOf('kimi'),
    );
    expect(auth.code).toBe('PROVIDER_UNAVAILABLE');
  });
});
