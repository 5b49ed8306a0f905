/**
 * Where a provider's `cooldownScope` comes from (`resolveLimits`, src/runtime/options.ts): its
 * adapter's own (the GLM preset says `'model'`), unless `limits.providers.<name>.cooldownScope`
 * says otherwise; any other value is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { resolveLimits } from '../../../src/runtime/options.js';

describe('where the scope comes from', () => {
  const glmLike = { ...createSimulatedProvider({ name: 'glm' }), cooldownScope: 'model' as const };
  const plain = createSimulatedProvider({ name: 'other' });
  const providers = new Map([
    ['glm', glmLike],
    ['other', plain],
  ]);

  it("the adapter's own scope applies; `limits.providers.<name>.cooldownScope` overrides it", () => {
    expect(resolveLimits({}, providers).rates.get('glm')).toEqual({ cooldownScope: 'model' });
    expect(resolveLimits({}, providers).rates.has('other')).toBe(false);
    const overridden = resolveLimits(
      {
        providers: {
          glm: { cooldownScope: 'provider', maxConcurrent: 2 },
          other: { cooldownScope: 'model' },
        },
      },
      providers,
    );
    expect(overridden.rates.get('glm')).toEqual({ cooldownScope: 'provider', maxConcurrent: 2 });
    expect(overridden.rates.get('other')).toEqual({ cooldownScope: 'model' });
    // Limits of its own stay beside the adapter's scope.
    expect(
      resolveLimits({ providers: { glm: { requestsPerMinute: 5 } } }, providers).rates.get('glm'),
    ).toEqual({
      requestsPerMinute: 5,
      cooldownScope: 'model',
    });
  });

  it('any other value is refused by name', () => {
    expect(() => resolveLimits({ providers: { glm: { cooldownScope: 'account' as 'model' } } })).toThrow(
      /Expected `limits.providers.glm.cooldownScope` to be "provider" or "model", got `"account"`/,
    );
    const odd = new Map([['glm', { ...plain, cooldownScope: 'per-model' as 'model' }]]);
    expect(() => resolveLimits({}, odd)).toThrow(/cooldownScope/);
  });
});
