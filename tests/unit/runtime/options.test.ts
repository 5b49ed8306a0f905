/**
 * Option resolution for `createRuntime` and `submit`: the defaults a caller gets, and each refusal's
 * code and message ("Expected X, got Y"), at the edges of every range.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { estimateTokens } from '../../../src/providers/estimate.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { positiveInt, TIMER } from '../../../src/runtime/option-numbers.js';
import {
  callerShares,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  resolveSubmitOptions,
  sessionInput,
  withSharedSlots,
} from '../../../src/runtime/options.js';

/** The refusal `run` throws: a `TroupeError` with `INVALID_REQUEST` and exactly this message. */
function refusal(run: () => unknown): { code: string; family: string; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    const { code, family, message } = error as TroupeError;
    return { code, family, message };
  }
  throw new Error('Expected a refusal, got none');
}

const POSITIVE_SAFE = 'a positive integer of at most 9007199254740991';
const NON_NEGATIVE_SAFE = 'a non-negative integer of at most 9007199254740991';
const HISTORY =
  'at most 1000000 (ended sessions kept: 32 bytes each are taken at the start, and about 0.8 KB each once kept)';
const ATTEMPTS =
  'at most 100 (attempts at one target, the first included: 100 with the default backoff are about 16 minutes of retrying)';
const BACKOFF =
  'at most 2147483647 (milliseconds: the longest timer Node sets, about 24.8 days, and no run deadline is longer)';

function invalid(message: string) {
  return { code: 'INVALID_REQUEST', family: 'runtime', message };
}

const provider = (name: string) =>
  ({ name, complete: async () => ({}), stream: async function* () {} }) as unknown as ChatProvider;

describe('resolveProviders', () => {
  it('names providers from an array by their own name and from an object by its keys', () => {
    const a = provider('a');
    const b = provider('b');
    expect([...resolveProviders([a, b])]).toEqual([
      ['a', a],
      ['b', b],
    ]);
    expect([...resolveProviders({ first: a, second: b })]).toEqual([
      ['first', a],
      ['second', b],
    ]);
  });

  it('refuses what is not providers, by name, without quoting a value that may be a key', () => {
    const notProviders =
      'Expected `providers` to be an array of providers or an object of them by name (`createSimulatedProvider()` answers without a key), got';
    for (const [value, got] of [
      [undefined, '`undefined`'],
      [null, '`null`'],
      ['sk-secret-key-1234', 'a string of 18 characters (not shown)'],
    ] as const) {
      expect(refusal(() => resolveProviders(value as never))).toEqual(invalid(`${notProviders} ${got}`));
    }
    expect(refusal(() => resolveProviders([provider('a'), {} as ChatProvider]))).toEqual(
      invalid('Expected providers[1] to be a provider with a `name`, got an object with no fields'),
    );
    expect(refusal(() => resolveProviders([null as unknown as ChatProvider]))).toEqual(
      invalid('Expected providers[0] to be a provider with a `name`, got `null`'),
    );
    expect(refusal(() => resolveProviders([{ name: 7 } as unknown as ChatProvider]))).toEqual(
      invalid('Expected providers[0] to be a provider with a `name`, got `7` (number)'),
    );
    const settings = { name: 'kimi', apiKey: 'sk-secret-key-1234' } as unknown as ChatProvider;
    const refused = refusal(() => resolveProviders([settings]));
    expect(refused).toEqual(
      invalid(
        'Expected provider `kimi` to have `complete` and `stream` methods (a ChatProvider), got an object with fields name, apiKey',
      ),
    );
    const noStream = { complete: async () => ({}) } as unknown as ChatProvider;
    expect(refusal(() => resolveProviders({ mine: noStream }))).toEqual(
      invalid(
        'Expected provider `mine` to have `complete` and `stream` methods (a ChatProvider), got an object with fields complete',
      ),
    );
    expect(refusal(() => resolveProviders({ x: null } as never))).toEqual(
      invalid('Expected provider `x` to have `complete` and `stream` methods (a ChatProvider), got `null`'),
    );
    const streamOnly = { stream: async function* () {} } as unknown as ChatProvider;
    expect(refusal(() => resolveProviders({ s: streamOnly }))).toEqual(
      invalid(
        'Expected provider `s` to have `complete` and `stream` methods (a ChatProvider), got an object with fields stream',
      ),
    );
    expect(refusal(() => resolveProviders([provider('')]))).toEqual(
      invalid(
        'Expected providers[0] to be a provider with a `name`, got a string of 0 characters (not shown)',
      ),
    );
    expect(refusal(() => resolveProviders([[provider('a')]] as never))).toEqual(
      invalid('Expected providers[0] to be a provider with a `name`, got an array of 1'),
    );
    const wide = Object.fromEntries('abcdefghij'.split('').map((k) => [k, 1]));
    expect(refusal(() => resolveProviders({ w: wide } as never))).toEqual(
      invalid(
        'Expected provider `w` to have `complete` and `stream` methods (a ChatProvider), got an object with fields a, b, c, d, e, f, g, h',
      ),
    );
    expect([...resolveProviders([])]).toEqual([]);
  });

  it('refuses two providers of one name', () => {
    expect(refusal(() => resolveProviders([provider('a'), provider('b'), provider('a')]))).toEqual(
      invalid('Expected provider names to be unique, got "a" twice'),
    );
  });
});

describe('callerShares', () => {
  it('gives each of several callers three quarters of the slots, at least one, and a quarter of the queue, rounded up', () => {
    expect(callerShares({ maxConcurrent: 64, maxQueued: 10_000 })).toEqual({
      maxRunningPerCaller: 48,
      maxQueuedPerCaller: 2_500,
    });
    expect(callerShares({ maxConcurrent: 5, maxQueued: 9 })).toEqual({
      maxRunningPerCaller: 3,
      maxQueuedPerCaller: 3,
    });
    // One slot or a queue of one: nothing to share, the whole.
    expect(callerShares({ maxConcurrent: 1, maxQueued: 1 })).toEqual({
      maxRunningPerCaller: 1,
      maxQueuedPerCaller: 1,
    });
    expect(callerShares({ maxConcurrent: 2, maxQueued: 0 })).toEqual({
      maxRunningPerCaller: 1,
      maxQueuedPerCaller: 0,
    });
  });
});

describe('withSharedSlots', () => {
  it('leaves limits without `perProvider` as they are', () => {
    const limits = { maxQueued: 3, providers: { a: { requestsPerMinute: 5 } } };
    expect(withSharedSlots(limits)).toBe(limits);
    expect(withSharedSlots()).toEqual({});
  });

  it("makes each provider's concurrency its shared `maxConcurrent`, the lower of the two when both are set", () => {
    const limits = {
      maxQueued: 3,
      perProvider: { a: 4, b: 2, c: 6 },
      providers: {
        b: { maxConcurrent: 5, requestsPerMinute: 7 },
        c: { maxConcurrent: 1 },
        d: { tokensPerDay: 9 },
      },
    };
    expect(withSharedSlots(limits)).toEqual({
      maxQueued: 3,
      perProvider: { a: 4, b: 2, c: 6 },
      providers: {
        a: { maxConcurrent: 4 },
        b: { maxConcurrent: 2, requestsPerMinute: 7 },
        c: { maxConcurrent: 1 },
        d: { tokensPerDay: 9 },
      },
    });
    // The caller's object is not changed.
    expect(limits.providers).toEqual({
      b: { maxConcurrent: 5, requestsPerMinute: 7 },
      c: { maxConcurrent: 1 },
      d: { tokensPerDay: 9 },
    });
  });
});

const BYTES = 'a non-negative integer of bytes up to 9007199254740991';

describe('resolveLimits', () => {
  it('has documented defaults', () => {
    expect(resolveLimits()).toEqual({
      maxConcurrent: 64,
      maxRunningPerCaller: 64,
      perProvider: {},
      maxQueued: 10_000,
      maxQueuedPerCaller: 10_000,
      maxQueuedBytes: 268_435_456,
      maxQueuedBytesPerCaller: 268_435_456,
      fairnessEvery: 8,
      historySize: 1000,
      callerMetadataBytes: 4096,
      rates: new Map(),
      defaultCompletionTokens: 1024,
      charge: expect.any(Function),
    });
    // With no provider to ask, a request without max_tokens is charged the default completion.
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'abcd' }] };
    expect(resolveLimits().charge(request, 'p', 'm')).toBe(estimateTokens(request, 1024).total);
  });

  it('keeps what is given, at the lowest values each accepts', () => {
    const limits = resolveLimits({
      maxConcurrent: 1,
      maxRunningPerCaller: 1,
      perProvider: { a: 1 },
      maxQueued: 0,
      maxQueuedPerCaller: 0,
      maxQueuedBytes: 0,
      fairnessEvery: 1,
      historySize: 0,
      callerMetadataBytes: 0,
      defaultCompletionTokens: 1,
    });
    expect(limits).toEqual({
      maxConcurrent: 1,
      maxRunningPerCaller: 1,
      perProvider: { a: 1 },
      maxQueued: 0,
      maxQueuedPerCaller: 0,
      maxQueuedBytes: 0,
      maxQueuedBytesPerCaller: 0,
      fairnessEvery: 1,
      historySize: 0,
      callerMetadataBytes: 0,
      rates: new Map(),
      defaultCompletionTokens: 1,
      charge: expect.any(Function),
    });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'abcd' }] };
    expect(limits.charge(request, 'p', 'm')).toBe(estimateTokens(request, 1).total);
  });

  it.each([
    ['maxConcurrent', 0, 'a positive integer', '`0` (number)'],
    ['maxConcurrent', 1.5, 'a positive integer', '`1.5` (number)'],
    ['maxConcurrent', '2', 'a positive integer', '`"2"` (string)'],
    ['maxRunningPerCaller', 0, 'a positive integer', '`0` (number)'],
    ['maxRunningPerCaller', 2.5, 'a positive integer', '`2.5` (number)'],
    ['fairnessEvery', 0, 'a positive integer', '`0` (number)'],
    ['defaultCompletionTokens', -3, 'a positive integer', '`-3` (number)'],
    ['maxQueued', -1, 'a non-negative integer', '`-1` (number)'],
    ['maxQueued', 0.5, 'a non-negative integer', '`0.5` (number)'],
    ['maxQueued', '0', 'a non-negative integer', '`"0"` (string)'],
    ['maxQueuedPerCaller', -1, 'a non-negative integer', '`-1` (number)'],
    ['maxQueuedPerCaller', 2.5, 'a non-negative integer', '`2.5` (number)'],
    ['maxQueuedBytes', -1, BYTES, '`-1` (number)'],
    ['maxQueuedBytes', 0.5, BYTES, '`0.5` (number)'],
    ['maxQueuedBytes', 2 ** 53, BYTES, '`9007199254740992` (number)'],
    ['maxQueuedBytes', '1024', BYTES, '`"1024"` (string)'],
    ['historySize', -1, 'a non-negative integer', '`-1` (number)'],
    ['callerMetadataBytes', true, 'a non-negative integer', '`true` (boolean)'],
    ['maxConcurrent', Number.POSITIVE_INFINITY, 'a positive integer', '`Infinity` (number)'],
    ['maxQueued', Number.NaN, 'a non-negative integer', '`NaN` (number)'],
    ['maxConcurrent', 2 ** 53, POSITIVE_SAFE, '`9007199254740992` (number)'],
    ['maxRunningPerCaller', 1e300, POSITIVE_SAFE, '`1e+300` (number)'],
    ['fairnessEvery', 1e300, POSITIVE_SAFE, '`1e+300` (number)'],
    ['defaultCompletionTokens', 2 ** 53, POSITIVE_SAFE, '`9007199254740992` (number)'],
    ['maxQueued', 1e300, NON_NEGATIVE_SAFE, '`1e+300` (number)'],
    ['maxQueuedPerCaller', 2 ** 53, NON_NEGATIVE_SAFE, '`9007199254740992` (number)'],
    ['callerMetadataBytes', 1e300, NON_NEGATIVE_SAFE, '`1e+300` (number)'],
    ['historySize', 1_000_001, HISTORY, '`1000001` (number)'],
    ['historySize', 1e300, HISTORY, '`1e+300` (number)'],
  ] as const)('refuses limits.%s = %j', (field, value, expected, got) => {
    expect(refusal(() => resolveLimits({ [field]: value }))).toEqual(
      invalid(`Expected \`limits.${field}\` to be ${expected}, got ${got}`),
    );
  });

  it('keeps each count up to its ceiling exactly, and takes -0 as 0', () => {
    const top = Number.MAX_SAFE_INTEGER;
    const limits = resolveLimits({
      maxConcurrent: top,
      maxRunningPerCaller: top,
      perProvider: { a: top },
      maxQueued: top,
      maxQueuedPerCaller: top,
      fairnessEvery: top,
      historySize: 1_000_000,
      callerMetadataBytes: top,
      defaultCompletionTokens: top,
      providers: { a: { tokensPerDay: top } },
    });
    expect(limits).toMatchObject({
      maxConcurrent: top,
      maxRunningPerCaller: top,
      perProvider: { a: top },
      maxQueued: top,
      maxQueuedPerCaller: top,
      fairnessEvery: top,
      historySize: 1_000_000,
      callerMetadataBytes: top,
      defaultCompletionTokens: top,
    });
    const zero = resolveLimits({
      maxQueued: -0,
      maxQueuedPerCaller: -0,
      maxQueuedBytes: -0,
      historySize: -0,
      callerMetadataBytes: -0,
    });
    for (const field of [
      'maxQueued',
      'maxQueuedPerCaller',
      'maxQueuedBytes',
      'historySize',
      'callerMetadataBytes',
    ] as const)
      expect(Object.is(zero[field], 0), field).toBe(true);
  });

  it('refuses a per-provider or a rate limit past the largest safe integer, naming it', () => {
    expect(refusal(() => resolveLimits({ perProvider: { a: 2 ** 53 } }))).toEqual(
      invalid(`Expected \`limits.perProvider.a\` to be ${POSITIVE_SAFE}, got \`9007199254740992\` (number)`),
    );
    expect(refusal(() => resolveLimits({ providers: { a: { tokensPerDay: 1e300 } } }))).toEqual(
      invalid(`Expected \`limits.providers.a.tokensPerDay\` to be ${POSITIVE_SAFE}, got \`1e+300\` (number)`),
    );
  });

  it('lets one caller run as many as maxConcurrent unless a share is set (a runtime does not know how many callers it serves)', () => {
    expect(resolveLimits({ maxConcurrent: 12 }).maxRunningPerCaller).toBe(12);
    expect(resolveLimits({ maxConcurrent: 12, maxRunningPerCaller: 3 }).maxRunningPerCaller).toBe(3);
  });

  it('gives one caller the whole queue unless a share is set (a runtime does not know how many callers it serves)', () => {
    expect(resolveLimits({ maxQueued: 40 }).maxQueuedPerCaller).toBe(40);
    expect(resolveLimits({ maxQueued: 40, maxQueuedPerCaller: 10 }).maxQueuedPerCaller).toBe(10);
  });

  it('gives a caller the same share of the bytes as of the sessions, rounded down; all of them when its share is the whole queue', () => {
    const bytes = (limits: Parameters<typeof resolveLimits>[0]) =>
      resolveLimits(limits).maxQueuedBytesPerCaller;
    expect(bytes({ maxQueued: 40, maxQueuedBytes: 1000 })).toBe(1000);
    expect(bytes({ maxQueued: 40, maxQueuedPerCaller: 10, maxQueuedBytes: 1000 })).toBe(250);
    expect(bytes({ maxQueued: 3, maxQueuedPerCaller: 1, maxQueuedBytes: 1000 })).toBe(333);
    expect(bytes({ maxQueued: 40, maxQueuedPerCaller: 50, maxQueuedBytes: 1000 })).toBe(1000);
    expect(bytes({ maxQueued: 40, maxQueuedPerCaller: 0, maxQueuedBytes: 1000 })).toBe(0);
    // troupe serve's defaults: a quarter of 10,000 sessions, so a quarter of 256 MiB.
    expect(bytes({ maxQueued: 10_000, maxQueuedPerCaller: 2500 })).toBe(64 * 1024 * 1024);
  });

  it('keeps the largest safe integer of bytes (the way to switch the byte bound off), and refuses Infinity as maxQueued does', () => {
    expect(resolveLimits({ maxQueuedBytes: Number.MAX_SAFE_INTEGER }).maxQueuedBytes).toBe(2 ** 53 - 1);
    for (const field of ['maxQueued', 'maxQueuedBytes'])
      expect(() => resolveLimits({ [field]: Number.POSITIVE_INFINITY })).toThrow(
        new RegExp(`^Expected \`limits\\.${field}\` to be .*, got \`Infinity\` \\(number\\)$`),
      );
  });

  it('refuses a per-provider concurrency that is not a positive integer, naming the provider', () => {
    expect(refusal(() => resolveLimits({ perProvider: { a: 2, kimi: 0 } }))).toEqual(
      invalid('Expected `limits.perProvider.kimi` to be a positive integer, got `0` (number)'),
    );
  });

  it("resolves providers' own limits, per model too, and takes the lower concurrency into perProvider", () => {
    const limits = resolveLimits({
      perProvider: { a: 3, b: 2 },
      providers: {
        a: { maxConcurrent: 5, requestsPerMinute: 60 },
        b: { tokensPerMinute: 1000, tokensPerDay: undefined },
        c: { maxConcurrent: 4, models: { m: { requestsPerMinute: 2 }, n: {} } },
        d: { maxConcurrent: 1 },
      },
    });
    expect(limits.perProvider).toEqual({ a: 3, b: 2, c: 4, d: 1 });
    expect([...limits.rates]).toEqual([
      ['a', { maxConcurrent: 5, requestsPerMinute: 60 }],
      ['b', { tokensPerMinute: 1000 }],
      ['c', { maxConcurrent: 4, models: { m: { requestsPerMinute: 2 }, n: {} } }],
      ['d', { maxConcurrent: 1 }],
    ]);
    // An undefined field is left out, not kept as `undefined`.
    expect(Object.keys(limits.rates.get('b') ?? {})).toEqual(['tokensPerMinute']);
    expect('models' in (limits.rates.get('a') ?? {})).toBe(false);
  });

  it('keeps a provider or a model named `__proto__` as any other, and gives `constructor` no limit it did not set', () => {
    // From JSON (a config file), `__proto__` is an own key; an object literal would need `['__proto__']`.
    const limits = resolveLimits({
      perProvider: JSON.parse('{"__proto__": 3}'),
      providers: { sim: { models: JSON.parse('{"__proto__": {"requestsPerMinute": 1}}') } },
    });
    expect(Object.hasOwn(limits.perProvider, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(limits.perProvider, '__proto__')?.value).toBe(3);
    const models = limits.rates.get('sim')?.models ?? {};
    expect(Object.keys(models)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(models, '__proto__')?.value).toEqual({ requestsPerMinute: 1 });
    // Until 2026-12-07 these read Object.prototype's, and the `__proto__` model's limits by inheritance.
    expect(limits.perProvider.constructor).toBeUndefined();
    expect(models.constructor).toBeUndefined();
    expect((models as Record<string, unknown>).requestsPerMinute).toBeUndefined();
  });

  it("refuses a provider's limits that are not an object, an unknown field, or a bad number", () => {
    expect(refusal(() => resolveLimits({ providers: { kimi: 5 as never } }))).toEqual(
      invalid('Expected `limits.providers.kimi` to be an object of limits, got `5` (number)'),
    );
    expect(refusal(() => resolveLimits({ providers: { kimi: null as never } }))).toEqual(
      invalid('Expected `limits.providers.kimi` to be an object of limits, got `null`'),
    );
    expect(refusal(() => resolveLimits({ providers: { kimi: { rpm: 5 } as never } }))).toEqual(
      invalid(
        'Expected `limits.providers.kimi` to have only maxConcurrent, requestsPerMinute, tokensPerMinute, tokensPerDay, got `rpm`',
      ),
    );
    expect(refusal(() => resolveLimits({ providers: { kimi: { tokensPerDay: 0 } } }))).toEqual(
      invalid('Expected `limits.providers.kimi.tokensPerDay` to be a positive integer, got `0` (number)'),
    );
  });

  it("refuses a model's limits the same way, naming the model", () => {
    expect(refusal(() => resolveLimits({ providers: { kimi: { models: { k2: 'x' as never } } } }))).toEqual(
      invalid('Expected `limits.providers.kimi.models.k2` to be an object of limits, got `"x"` (string)'),
    );
    expect(refusal(() => resolveLimits({ providers: { kimi: { models: { k2: null as never } } } }))).toEqual(
      invalid('Expected `limits.providers.kimi.models.k2` to be an object of limits, got `null`'),
    );
    expect(
      refusal(() => resolveLimits({ providers: { kimi: { models: { k2: { requestsPerMinute: -1 } } } } })),
    ).toEqual(
      invalid(
        'Expected `limits.providers.kimi.models.k2.requestsPerMinute` to be a positive integer, got `-1` (number)',
      ),
    );
  });
});

describe('resolveDefaults', () => {
  it('has documented defaults', () => {
    expect(resolveDefaults()).toEqual({
      provider: undefined,
      model: undefined,
      priority: 5,
      timeoutMs: 120_000,
      queueTimeoutMs: 60_000,
      idleTimeoutMs: 30_000,
      maxAttempts: 3,
      backoffBaseMs: 250,
      backoffMaxMs: 10_000,
    });
  });

  it('keeps what is given, at both ends of each range', () => {
    const low = {
      provider: 'kimi',
      model: 'k2',
      priority: 0,
      timeoutMs: 1,
      queueTimeoutMs: 0.5,
      idleTimeoutMs: 1,
      maxAttempts: 1,
      backoffBaseMs: 0,
      backoffMaxMs: 0,
    };
    expect(resolveDefaults(low)).toEqual(low);
    const high = {
      ...low,
      priority: 9,
      timeoutMs: 2_147_483_647,
      queueTimeoutMs: 2_147_483_647,
      idleTimeoutMs: 2_147_483_647,
      maxAttempts: 100,
      backoffBaseMs: 2_147_483_647,
      backoffMaxMs: 2_147_483_647,
    };
    expect(resolveDefaults(high)).toEqual(high);
    const zero = resolveDefaults({ backoffBaseMs: -0, backoffMaxMs: -0 });
    expect(Object.is(zero.backoffBaseMs, 0) && Object.is(zero.backoffMaxMs, 0)).toBe(true);
  });

  const ms = 'a number of milliseconds from 1 to 2147483647';
  it.each([
    ['priority', -1, 'an integer from 0 to 9', '`-1` (number)'],
    ['priority', 10, 'an integer from 0 to 9', '`10` (number)'],
    ['priority', 4.5, 'an integer from 0 to 9', '`4.5` (number)'],
    ['priority', '5', 'an integer from 0 to 9', '`"5"` (string)'],
    ['timeoutMs', 0, ms, '`0` (number)'],
    ['timeoutMs', -5, ms, '`-5` (number)'],
    ['timeoutMs', 2_147_483_648, ms, '`2147483648` (number)'],
    ['timeoutMs', Number.POSITIVE_INFINITY, ms, '`Infinity` (number)'],
    ['timeoutMs', Number.NaN, ms, '`NaN` (number)'],
    ['timeoutMs', '100', ms, '`"100"` (string)'],
    ['queueTimeoutMs', 0, ms, '`0` (number)'],
    ['idleTimeoutMs', 0, ms, '`0` (number)'],
    ['maxAttempts', 0, 'a positive integer', '`0` (number)'],
    ['backoffBaseMs', -1, 'a non-negative integer', '`-1` (number)'],
    ['backoffMaxMs', 1.5, 'a non-negative integer', '`1.5` (number)'],
    ['maxAttempts', 101, ATTEMPTS, '`101` (number)'],
    ['maxAttempts', 1e9, ATTEMPTS, '`1000000000` (number)'],
    ['maxAttempts', 1e300, ATTEMPTS, '`1e+300` (number)'],
    ['maxAttempts', Number.POSITIVE_INFINITY, 'a positive integer', '`Infinity` (number)'],
    ['maxAttempts', Number.NaN, 'a positive integer', '`NaN` (number)'],
    ['maxAttempts', -0, 'a positive integer', '`0` (number)'],
    ['backoffBaseMs', 2_147_483_648, BACKOFF, '`2147483648` (number)'],
    ['backoffMaxMs', 1e300, BACKOFF, '`1e+300` (number)'],
    ['backoffMaxMs', Number.POSITIVE_INFINITY, 'a non-negative integer', '`Infinity` (number)'],
  ] as const)('refuses defaults.%s = %s', (field, value, expected, got) => {
    expect(refusal(() => resolveDefaults({ [field]: value }))).toEqual(
      invalid(`Expected \`defaults.${field}\` to be ${expected}, got ${got}`),
    );
  });
});

describe('resolveSubmitOptions', () => {
  // Built in each test, not at collection: code run outside a test counts as static for Stryker.
  const defaults = () =>
    resolveDefaults({
      priority: 2,
      timeoutMs: 10,
      queueTimeoutMs: 20,
      idleTimeoutMs: 30,
      maxAttempts: 4,
    });

  it("takes the runtime's defaults for what a submission leaves out", () => {
    expect(resolveSubmitOptions({}, defaults())).toEqual({
      priority: 2,
      timeoutMs: 10,
      queueTimeoutMs: 20,
      idleTimeoutMs: 30,
      maxAttempts: 4,
    });
  });

  it("takes a submission's own options over the defaults", () => {
    const own = { priority: 9, timeoutMs: 100, queueTimeoutMs: 200, idleTimeoutMs: 300, maxAttempts: 1 };
    expect(resolveSubmitOptions(own, defaults())).toEqual(own);
    expect(resolveSubmitOptions({ priority: 0 }, defaults()).priority).toBe(0);
    expect(resolveSubmitOptions({ maxAttempts: 100 }, defaults()).maxAttempts).toBe(100);
  });

  it.each([
    ['priority', 10, 'an integer from 0 to 9'],
    ['timeoutMs', 0, 'a number of milliseconds from 1 to 2147483647'],
    ['queueTimeoutMs', 0, 'a number of milliseconds from 1 to 2147483647'],
    ['idleTimeoutMs', -1, 'a number of milliseconds from 1 to 2147483647'],
    ['maxAttempts', 0, 'a positive integer'],
    ['maxAttempts', 1e9, ATTEMPTS],
  ] as const)('refuses %s = %s under its own name', (field, value, expected) => {
    expect(refusal(() => resolveSubmitOptions({ [field]: value }, defaults()))).toEqual(
      invalid(`Expected \`${field}\` to be ${expected}, got \`${value}\` (number)`),
    );
  });

  it('takes the options it keeps as given when they are of their type: a signal by its shape', () => {
    const signal = new AbortController().signal;
    const polyfill = { aborted: false, addEventListener: () => {}, removeEventListener: () => {} };
    for (const kept of [
      { signal, metadata: { owner: 'alice', n: 1 }, label: 'chat', requestId: 'r-1', parent: 'p-1' },
      { signal: polyfill as unknown as AbortSignal },
    ]) {
      expect(resolveSubmitOptions(kept, defaults()).priority).toBe(2);
    }
  });

  it.each([
    ['signal', 'x', 'an AbortSignal', '`"x"` (string)'],
    ['signal', null, 'an AbortSignal', '`null`'],
    ['signal', { aborted: false }, 'an AbortSignal', '`{"aborted":false}` (object)'],
    [
      'signal',
      { addEventListener: () => {}, removeEventListener: () => {}, aborted: 'no' },
      'an AbortSignal',
      '`{"aborted":"no"}` (object)',
    ],
    [
      'signal',
      { addEventListener: 1, removeEventListener: () => {}, aborted: false },
      'an AbortSignal',
      '`{"addEventListener":1,"aborted":false}` (object)',
    ],
    // A polyfill whose listener cannot be taken off at the session's end.
    [
      'signal',
      { addEventListener: () => {}, aborted: false },
      'an AbortSignal',
      '`{"aborted":false}` (object)',
    ],
    ['metadata', 'alice', 'an object', '`"alice"` (string)'],
    ['metadata', null, 'an object', '`null`'],
    ['metadata', ['alice'], 'an object', '`["alice"]` (array)'],
    ['label', 5, 'a string of at most 256 characters', '`5` (number)'],
    ['requestId', {}, 'a string of at most 256 characters', '`{}` (object)'],
    ['requestId', 7, 'a string of at most 256 characters', '`7` (number)'],
    // Each is kept in the history: a megabyte each was, past its documented bound.
    // An array has a length too: refused all the same.
    ['label', ['x'], 'a string of at most 256 characters', '`["x"]` (array)'],
    ['label', 'l'.repeat(257), 'a string of at most 256 characters', `\`"${'l'.repeat(78)}…\` (string)`],
    ['requestId', 'r'.repeat(257), 'a string of at most 256 characters', `\`"${'r'.repeat(78)}…\` (string)`],
    ['parent', 5, "a session's id", '`5` (number)'],
    ['parent', '', "a session's id", '`""` (string)'],
  ] as const)('refuses %s = %o, naming it', (field, value, expected, got) => {
    expect(refusal(() => resolveSubmitOptions({ [field]: value } as never, defaults()))).toEqual(
      invalid(`Expected \`${field}\` to be ${expected}, got ${got}`),
    );
  });

  it('takes a label and a request id of 256 characters, and an empty one', () => {
    for (const text of ['', 'x'.repeat(256)]) {
      expect(() => resolveSubmitOptions({ label: text, requestId: text }, defaults())).not.toThrow();
    }
  });

  it.each([
    ['', '`""` (string)'],
    [7, '`7` (number)'],
    [['a'], '`["a"]` (array)'],
    ['o'.repeat(257), `\`"${'o'.repeat(78)}…\` (string)`],
  ])('refuses metadata.owner = %o: the caller budgets and the history count by', (owner, got) => {
    // Before, a non-string or empty owner was no caller, and its sessions went to nobody's budget.
    expect(refusal(() => resolveSubmitOptions({ metadata: { owner } }, defaults()))).toEqual(
      invalid(
        `Expected \`metadata.owner\` to be the caller's name, a string of 1 to 256 characters, got ${got}`,
      ),
    );
    expect(() =>
      resolveSubmitOptions({ metadata: { owner: 'o'.repeat(256), other: 7 } }, defaults()),
    ).not.toThrow();
    expect(() => resolveSubmitOptions({ metadata: { other: 7 } }, defaults())).not.toThrow();
  });
});

describe('sessionInput', () => {
  const defaults = () => resolveDefaults({ backoffBaseMs: 7, backoffMaxMs: 70 });
  const resolved = { priority: 3, timeoutMs: 100, queueTimeoutMs: 50, idleTimeoutMs: 20, maxAttempts: 2 };

  it('counts every deadline from now and echoes the caller request id', () => {
    const input = sessionInput(
      { sessionId: 's1', requestId: 'r1' },
      { lane: 'kimi', model: 'k2', stream: true },
      1000,
      resolved,
      defaults(),
    );
    expect(input).toEqual({
      sessionId: 's1',
      requestId: 'r1',
      provider: 'kimi',
      model: 'k2',
      priority: 3,
      stream: true,
      createdAt: 1000,
      queueDeadlineAt: 1050,
      timeoutMs: 100,
      idleTimeoutMs: 20,
      maxAttempts: 2,
      backoffBaseMs: 7,
      backoffMaxMs: 70,
    });
  });

  it('uses the session id as request id when the caller gave none', () => {
    const input = sessionInput(
      { sessionId: 's1', requestId: undefined },
      { lane: 'kimi', model: 'k2', stream: false },
      0,
      resolved,
      defaults(),
    );
    expect(input.requestId).toBe('s1');
  });
});

describe('the timer ceiling', () => {
  it('takes Node’s longest timer and refuses one more, saying why', () => {
    expect(positiveInt('breakers.openMs', 2_147_483_647, TIMER)).toBe(2_147_483_647);
    expect(() => positiveInt('breakers.openMs', 2_147_483_648, TIMER)).toThrow(
      'Expected `breakers.openMs` to be at most 2147483647 (milliseconds: the longest timer Node sets, about 24.8 days; a longer one fires at once), got `2147483648` (number)',
    );
  });
});
