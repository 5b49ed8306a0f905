/**
 * A secret of any length is redacted, never thrown back. Until 2026-12-07 a long secret became a
 * case-insensitive RegExp, which V8 refuses at some 40,000 characters ("Regular expression too
 * large") with a SyntaxError that quotes the pattern: a 50 kB value pasted into MOONSHOT_API_KEY
 * came back from `troupe ask` as an `INTERNAL` error whose message began with the key.
 */
import { describe, expect, it } from 'vitest';
import { scrubSecrets, toProviderError } from '../../../src/providers/http-errors.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';

const HUGE = `sk-${'Ab1'.repeat(20_000)}`; // 60,003 characters

describe('scrubSecrets with a long secret', () => {
  it('redacts a 60,000-character secret in any case, every time it appears, and throws nothing', () => {
    const text = `${HUGE}, then ${HUGE.toLowerCase()}${HUGE.toUpperCase()} end`;
    expect(scrubSecrets(text, [HUGE])).toBe('[redacted], then [redacted][redacted] end');
  });

  it('keeps the text around it as it was, case included', () => {
    expect(scrubSecrets('Before KEY-abcdefgh After', ['key-ABCDEFGH'])).toBe('Before [redacted] After');
    expect(scrubSecrets('no secret Here', ['key-abcdefgh'])).toBe('no secret Here');
    // Lower case, as a RegExp's `i` matched: `ſ` (long s) upper-cases to `S` but is not an `s`.
    expect(scrubSecrets('ſk-abcdefgh', ['sk-abcdefgh'])).toBe('ſk-abcdefgh');
  });

  it('finds the secret where a character before it lowercases to two (İ), and keeps that character', () => {
    expect(scrubSecrets('İİ key-abcdefgh İ', ['KEY-ABCDEFGH'])).toBe('İİ [redacted] İ');
    // The secret itself holds one: it is found as written, and in the other case of its other letters.
    expect(scrubSecrets('x İkey-abcdefgh y', ['İKEY-ABCDEFGH'])).toBe('x [redacted] y');
  });
});

describe('a provider given a secret longer than any vendor’s key', () => {
  it('maps a failure to its code, with the key nowhere in the error', () => {
    const mapped = toProviderError(new Error(`refused ${HUGE}`), { provider: 'kimi', secrets: [HUGE] });
    expect(mapped.code).toBe('BAD_RESPONSE');
    expect(JSON.stringify(mapped.toData())).not.toContain('Ab1Ab1Ab1');
    expect(String((mapped.cause as { message: string }).message)).toBe('refused [redacted]');
  });

  // Since 2026-12-07 such a key is refused where the provider is built (api-key-shape.test.ts), and
  // since 2026-12-08 a credential header of the same length too.
  it('refuses the key where the provider is built, not showing it', () => {
    expect(() =>
      createOpenAICompatibleProvider({ name: 'local', baseURL: 'http://127.0.0.1:1/v1', apiKey: HUGE }),
    ).toThrow(/^local apiKey: Expected an API key of at most 16,384 characters, got one of 60,003;/);
    expect(() =>
      createOpenAICompatibleProvider({
        name: 'local',
        baseURL: 'http://127.0.0.1:1/v1',
        apiKey: 'sk-short0123456789',
        defaultHeaders: { 'x-api-key': HUGE },
      }),
    ).toThrow(/^local headers\["x-api-key"\]: Expected a credential of at most 16,384 characters/);
  });

  it('fails a call to a closed port as NETWORK, not INTERNAL with a long credential header in its message', async () => {
    const provider = createOpenAICompatibleProvider({
      name: 'local',
      baseURL: 'http://127.0.0.1:1/v1',
      apiKey: 'sk-short0123456789',
      defaultHeaders: { 'x-api-key': HUGE.slice(0, 16_384) },
    });
    const failure = await provider
      .complete(
        { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        { signal: AbortSignal.timeout(10_000) },
      )
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
    await provider.close?.();
    expect(failure?.code).toBe('NETWORK');
    expect(failure?.message).not.toContain('Ab1Ab1Ab1');
  });
});
