/**
 * Routing at admission (src/runtime/routing.ts) called directly, with a router of our own: the
 * request's target and its fallbacks resolved, each target's adapter found, the prompt estimate
 * plus completion budget checked against each known window (and refused with what to do when it
 * fits nowhere), the session started at the first target that fits; then `workFor`, the call of a
 * later target.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteTargetData } from '../../../machines/routing.js';
import { providerError, runtimeError, TroupeError } from '../../../src/core/errors.js';
import { MAX_FALLBACKS } from '../../../src/core/metadata.js';
import { ownRequest } from '../../../src/core/request-bytes.js';
import { estimatePromptTokens } from '../../../src/providers/estimate.js';
import type { ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import type { RoutedTarget, Router, SessionRequest } from '../../../src/providers/session-request.js';
import { resolveLimits } from '../../../src/runtime/options.js';
import { routeChat, workFor } from '../../../src/runtime/routing.js';
import type { SessionWork } from '../../../src/runtime/session-record.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const P = new ScriptedProvider('p');
const Q = new ScriptedProvider('q');
const PROVIDERS: ReadonlyMap<string, ChatProvider> = new Map([
  ['p', P],
  ['q', Q],
]);

/** Models by id: `small` (window 1000, 100 by default) on p, `big` (100000) and `open` (no window) on q. */
const MODELS: Record<string, RoutedTarget> = {
  small: { provider: 'p', model: 'small', contextWindow: 1000, defaultMaxTokens: 100 },
  big: { provider: 'q', model: 'big', contextWindow: 100_000 },
  open: { provider: 'q', model: 'open' },
  chained: { provider: 'q', model: 'chained', contextWindow: 2000, fallbacks: [{ model: 'big' }] },
  elsewhere: { provider: 'x', model: 'elsewhere' },
  // A model's own fallbacks, the first on a provider whose key is not set (`unkeyed`).
  spare: { provider: 'q', model: 'spare', fallbacks: [{ model: 'unkeyed' }, { model: 'big' }] },
  lonely: { provider: 'q', model: 'lonely', fallbacks: [{ model: 'unkeyed' }] },
  typo: { provider: 'q', model: 'typo', fallbacks: [{ model: 'unkeyed' }, { model: 'nowhere' }] },
};

/** A router that records what it was asked; a request without a model goes to `small`. */
function router(): Router & { asked: SessionRequest[] } {
  const asked: SessionRequest[] = [];
  const route = (request: SessionRequest): RoutedTarget => {
    asked.push(request);
    if (request.model === 'unkeyed')
      throw providerError('NOT_CONFIGURED', 'Expected provider `z` to be configured, got no API key');
    const target = MODELS[request.model ?? 'small'];
    if (target === undefined)
      throw runtimeError('INVALID_REQUEST', `Expected a known model, got ${request.model}`);
    if (request.provider !== undefined && request.provider !== target.provider)
      throw runtimeError(
        'UNKNOWN_PROVIDER',
        `Expected ${request.model} on ${target.provider}, got ${request.provider}`,
      );
    return target;
  };
  return Object.assign(route, { asked });
}

const ask = (content: string, extra: Partial<SessionRequest> = {}): SessionRequest => ({
  messages: [{ role: 'user', content }],
  ...extra,
});
/** The prompt estimate of `content` as routing makes it. */
const promptOf = (content: string, model = 'small') =>
  estimatePromptTokens({ model, messages: [{ role: 'user', content }] } as ChatRequest);
/** A prompt whose estimate is exactly `tokens` (one token per CJK character, plus the message's framing). */
const longText = (tokens: number) => '字'.repeat(tokens - promptOf(''));
const refusal = (fn: () => unknown): TroupeError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('Expected a refusal, got none');
};

describe('routeChat without fallbacks', () => {
  it('routes to the target with its adapter and the request for its model, and no chain', () => {
    const routed = routeChat(
      ask('hi', { provider: 'p', stream: true, temperature: 0.5 }),
      router(),
      PROVIDERS,
    );
    expect(routed).toStrictEqual({
      provider: 'p',
      model: 'small',
      work: {
        kind: 'chat',
        provider: P,
        request: { model: 'small', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5 },
      },
      targets: undefined,
      bytes: Buffer.byteLength(
        JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5 }),
      ),
    });
  });

  it('counts a budget given in extra against the window as the typed one (it went uncounted)', () => {
    const prompt = promptOf('hi');
    const viaExtra = (extra: Record<string, unknown>) => () =>
      routeChat(ask('hi', { extra }), router(), PROVIDERS);
    expect(viaExtra({ max_completion_tokens: 1000 - prompt })).not.toThrow();
    expect(refusal(viaExtra({ max_completion_tokens: 1001 - prompt })).code).toBe('CONTEXT_TOO_LONG');
    expect(refusal(viaExtra({ max_tokens: 1001 - prompt })).code).toBe('CONTEXT_TOO_LONG');
  });

  it('checks prompt + max_tokens against the window, and refuses what does not fit with what to do', () => {
    const prompt = promptOf('hi');
    expect(() => routeChat(ask('hi', { max_tokens: 1000 - prompt }), router(), PROVIDERS)).not.toThrow();
    const error = refusal(() => routeChat(ask('hi', { max_tokens: 1001 - prompt }), router(), PROVIDERS));
    expect(error.code).toBe('CONTEXT_TOO_LONG');
    expect(error.family).toBe('provider');
    expect(error.message).toBe(
      `Expected at most 1000 tokens for model small, got an estimated ${prompt} prompt + ${1001 - prompt} completion; shorten the prompt, lower \`max_tokens\`, or name a fallback with a larger window`,
    );
  });

  it("counts a fractional max_tokens up, and the model's default for a missing, zero or unusable one", () => {
    const prompt = promptOf('hi');
    const completionOf = (max_tokens: unknown) =>
      refusal(() =>
        routeChat(ask(longText(1000 - 50), { max_tokens } as Partial<SessionRequest>), router(), PROVIDERS),
      ).message.match(/\+ (\d+) completion/)?.[1];
    expect(completionOf(60.2)).toBe('61');
    for (const max of [undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY, '500'])
      expect(completionOf(max)).toBe('100');
    expect(() => routeChat(ask('hi', { max_tokens: 999.5 - prompt }), router(), PROVIDERS)).not.toThrow();
  });

  it('a model without a default completion counts none; one without a window is not checked', () => {
    const full = longText(100_000);
    expect(() => routeChat(ask(full, { model: 'big' }), router(), PROVIDERS)).not.toThrow();
    expect(() => routeChat(ask(full, { model: 'big', max_tokens: 1 }), router(), PROVIDERS)).toThrow(
      'Expected at most 100000 tokens for model big, got an estimated 100000 prompt + 1 completion',
    );
    expect(() =>
      routeChat(ask(longText(200_000), { model: 'open', max_tokens: 1e9 }), router(), PROVIDERS),
    ).not.toThrow();
  });

  it('names the providers it has when the target is on another, and says when it has none', () => {
    const error = refusal(() => routeChat(ask('hi', { model: 'elsewhere' }), router(), PROVIDERS));
    expect(error.code).toBe('UNKNOWN_PROVIDER');
    expect(error.message).toBe('Expected a provider among "p", "q", got "x"');
    expect(refusal(() => routeChat(ask('hi'), router(), new Map())).message).toBe(
      'Expected a chat provider (this runtime has none), got "p"',
    );
  });
});

describe('routeChat with fallbacks', () => {
  it('resolves each fallback through the router, with or without a provider, and keeps the chain', () => {
    const route = router();
    const routed = routeChat(
      ask('hi', { fallbacks: [{ model: 'big' }, { provider: 'q', model: 'open' }], max_tokens: 10 }),
      route,
      PROVIDERS,
    );
    expect(route.asked.slice(1)).toStrictEqual([
      { messages: [{ role: 'user', content: 'hi' }], model: 'big' },
      { messages: [{ role: 'user', content: 'hi' }], provider: 'q', model: 'open' },
    ]);
    expect(routed.provider).toBe('p');
    expect(routed.model).toBe('small');
    expect(routed.targets).toStrictEqual([
      { provider: 'p', model: 'small', contextWindow: 1000, fits: true },
      { provider: 'q', model: 'big', contextWindow: 100_000, fits: true },
      { provider: 'q', model: 'open', contextWindow: null, fits: true },
    ]);
    expect(routed.work).toMatchObject({
      kind: 'chat',
      provider: P,
      request: { model: 'small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 },
      providers: PROVIDERS,
    });
  });

  it("takes the model's own fallbacks when the request names none; an empty list means none", () => {
    expect(routeChat(ask('hi', { model: 'chained' }), router(), PROVIDERS).targets).toHaveLength(2);
    expect(
      routeChat(ask('hi', { model: 'chained', fallbacks: [] }), router(), PROVIDERS).targets,
    ).toBeUndefined();
  });

  it('starts at the first target that fits, the ones before it marked as not fitting', () => {
    const text = longText(1500);
    const routed = routeChat(ask(text, { fallbacks: [{ model: 'big' }] }), router(), PROVIDERS);
    expect(routed.provider).toBe('q');
    expect(routed.model).toBe('big');
    expect(routed.targets?.map((t) => t.fits)).toEqual([false, true]);
    expect(routed.work).toMatchObject({
      kind: 'chat',
      provider: Q,
      request: { model: 'big', messages: [{ role: 'user', content: text }] },
      providers: PROVIDERS,
    });
  });

  it('checks windows with the prompt estimate even when only a fallback has a window', () => {
    const routed = routeChat(
      ask(longText(2500), { model: 'open', fallbacks: [{ model: 'chained' }] }),
      router(),
      PROVIDERS,
    );
    expect(routed.targets?.map((t) => t.fits)).toEqual([true, false]);
  });

  it('refuses what fits no target, measured against its own target, saying how many fallbacks it tried', () => {
    const text = longText(200_000);
    const prompt = promptOf(text);
    const one = refusal(() => routeChat(ask(text, { fallbacks: [{ model: 'big' }] }), router(), PROVIDERS));
    expect(one.code).toBe('CONTEXT_TOO_LONG');
    expect(one.message).toBe(
      `Expected at most 1000 tokens for model small, got an estimated ${prompt} prompt + 100 completion, and no larger window in its fallback; shorten the prompt or lower \`max_tokens\``,
    );
    const two = refusal(() =>
      routeChat(ask(text, { fallbacks: [{ model: 'big' }, { model: 'chained' }] }), router(), PROVIDERS),
    );
    expect(two.message).toContain(', and no larger window in any of its 2 fallbacks;');
  });

  it(`takes at most ${MAX_FALLBACKS} fallbacks`, () => {
    const many = (n: number) => Array.from({ length: n }, () => ({ model: 'big' }));
    expect(
      routeChat(ask('hi', { fallbacks: many(MAX_FALLBACKS) }), router(), PROVIDERS).targets,
    ).toHaveLength(MAX_FALLBACKS + 1);
    const error = refusal(() =>
      routeChat(ask('hi', { fallbacks: many(MAX_FALLBACKS + 1) }), router(), PROVIDERS),
    );
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toBe(
      `Expected at most ${MAX_FALLBACKS} fallbacks, got ${MAX_FALLBACKS + 1}; keep the likeliest`,
    );
  });

  it('refuses fallbacks that are not an array of { provider?, model }, naming the bad one', () => {
    const bad = (fallbacks: unknown) =>
      refusal(() => routeChat(ask('hi', { fallbacks } as Partial<SessionRequest>), router(), PROVIDERS));
    const notArray = bad({ model: 'big' });
    expect(notArray.code).toBe('INVALID_REQUEST');
    expect(notArray.message).toBe(
      'Expected `fallbacks` to be an array of { provider?, model }, got `{"model":"big"}` (object)',
    );
    for (const [entry, shown] of [
      ['big', '`"big"` (string)'],
      [null, '`null`'],
      [undefined, '`undefined`'],
      [{}, '`{}` (object)'],
      [{ model: 5 }, '`{"model":5}` (object)'],
      [{ model: '' }, '`{"model":""}` (object)'],
      [{ provider: 7, model: 'big' }, '`{"provider":7,"model":"big"}` (object)'],
      // Names as long as the request's own may be, 256 (a megabyte model id was kept: review).
      [{ model: 'm'.repeat(257) }, `\`{"model":"${'m'.repeat(69)}…\` (object)`],
      [{ provider: 'p'.repeat(257), model: 'big' }, `\`{"provider":"${'p'.repeat(66)}…\` (object)`],
      [{ provider: ['p'], model: 'big' }, '`{"provider":["p"],"model":"big"}` (object)'],
    ] as const) {
      const error = bad([{ model: 'big' }, entry as never]);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe(
        `Expected \`fallbacks[1]\` to be { provider?: string, model: string } of names up to 256 characters, got ${shown}`,
      );
    }
  });

  it('takes fallback names of 256 characters: the router judges them, not the shape check', () => {
    let message = 'taken';
    try {
      const fallbacks = [{ provider: 'p'.repeat(256), model: 'm'.repeat(256) }];
      routeChat(ask('hi', { fallbacks } as Partial<SessionRequest>), router(), PROVIDERS);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toMatch(/of names up to 256 characters/);
  });

  it("says which fallback the router refused, keeping the router's error as the cause", () => {
    const error = refusal(() =>
      routeChat(
        ask('hi', { fallbacks: [{ model: 'big' }, { provider: 'p', model: 'big' }] }),
        router(),
        PROVIDERS,
      ),
    );
    expect(error.code).toBe('UNKNOWN_PROVIDER');
    expect(error.family).toBe('runtime');
    expect(error.message).toBe('fallbacks[1]: Expected big on q, got p');
    expect((error.cause as TroupeError).message).toBe('Expected big on q, got p');
    const boom = new RangeError('router bug');
    const throwing: Router = (request) => {
      if (request.model === 'big') throw boom;
      return MODELS.small as RoutedTarget;
    };
    expect(() => routeChat(ask('hi', { fallbacks: [{ model: 'big' }] }), throwing, PROVIDERS)).toThrow(boom);
  });

  it("passes over a model's own fallback whose provider has no key, and refuses one the request names", () => {
    const spare = routeChat(ask('hi', { model: 'spare' }), router(), PROVIDERS);
    expect(spare.targets?.map((t) => t.model)).toEqual(['spare', 'big']);
    // Its only fallback passed over, the model is served as one without any.
    const lonely = routeChat(ask('hi', { model: 'lonely' }), router(), PROVIDERS);
    expect(lonely).toMatchObject({ provider: 'q', model: 'lonely', targets: undefined });
    // Any other refusal of a model's own fallback still refuses the call.
    expect(refusal(() => routeChat(ask('hi', { model: 'typo' }), router(), PROVIDERS)).message).toBe(
      'fallbacks[1]: Expected a known model, got nowhere',
    );
    const named = refusal(() =>
      routeChat(ask('hi', { model: 'big', fallbacks: [{ model: 'unkeyed' }] }), router(), PROVIDERS),
    );
    expect(named.code).toBe('NOT_CONFIGURED');
    expect(named.message).toBe('fallbacks[0]: Expected provider `z` to be configured, got no API key');
  });

  it('refuses a fallback on a provider this runtime does not have', () => {
    const error = refusal(() =>
      routeChat(ask('hi', { fallbacks: [{ model: 'elsewhere' }] }), router(), PROVIDERS),
    );
    expect(error.code).toBe('UNKNOWN_PROVIDER');
    expect(error.message).toBe('Expected a provider among "p", "q", got "x"');
  });
});

describe('workFor', () => {
  const target = (provider: string, model: string): RouteTargetData => ({
    provider,
    model,
    contextWindow: null,
    fits: true,
  });
  const request: ChatRequest = { model: 'small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };
  const chained: SessionWork = { kind: 'chat', provider: P, request, providers: PROVIDERS };

  it("calls a later target's own adapter with its model, the rest of the request unchanged", () => {
    expect(workFor(chained, target('q', 'big'))).toStrictEqual({
      kind: 'chat',
      provider: Q,
      request: { ...request, model: 'big' },
      providers: PROVIDERS,
    });
    expect(workFor(chained, target('p', 'other'))).toStrictEqual({
      kind: 'chat',
      provider: P,
      request: { ...request, model: 'other' },
      providers: PROVIDERS,
    });
    expect((workFor(chained, target('q', 'small')) as { provider: ChatProvider }).provider).toBe(Q);
  });

  it('keeps the work as it is for its own target, without a target, a chain, or for a task', () => {
    expect(workFor(chained, target('p', 'small'))).toBe(chained);
    expect(workFor(chained, undefined)).toBe(chained);
    const plain: SessionWork = { kind: 'chat', provider: P, request };
    expect(workFor(plain, target('q', 'big'))).toBe(plain);
    const task: SessionWork = { kind: 'task', task: async () => 1 };
    expect(workFor(task, target('q', 'big'))).toBe(task);
  });
});

describe('routeChat against the token windows of the limits', () => {
  // p: 500 tokens a minute, its model `small` 300; q: 10,000 a day. The default completion: 100.
  const limits = resolveLimits(
    {
      defaultCompletionTokens: 100,
      providers: {
        p: { tokensPerMinute: 500, models: { small: { tokensPerMinute: 300 } } },
        q: { tokensPerDay: 10_000 },
      },
    },
    PROVIDERS,
  );
  const prompt = promptOf('hi');

  it('counts a budget given in extra against the token limits as the typed one', () => {
    const over = refusal(() =>
      routeChat(ask('hi', { extra: { max_completion_tokens: 301 - prompt } }), router(), PROVIDERS, limits),
    );
    expect(over.message).toContain('got an estimated 301 for model small');
    expect(() =>
      routeChat(ask('hi', { extra: { max_tokens: 300 - prompt } }), router(), PROVIDERS, limits),
    ).not.toThrow();
  });

  it('refuses a call larger than its provider’s or its model’s window, naming the setting', () => {
    expect(() =>
      routeChat(ask('hi', { max_tokens: 300 - prompt }), router(), PROVIDERS, limits),
    ).not.toThrow();
    const model = refusal(() =>
      routeChat(ask('hi', { max_tokens: 301 - prompt }), router(), PROVIDERS, limits),
    );
    expect(model.code).toBe('INVALID_REQUEST');
    expect(model.message).toContain('limits.providers.p.models["small"].tokensPerMinute (300 tokens)');
    expect(model.message).toContain(`got an estimated 301 for model small`);
    expect(model.message).toContain('it could never start; lower `max_tokens`');
    // Without a model window of its own, a model meets its provider's.
    const other = { ...MODELS, small: { ...(MODELS.small as RoutedTarget), model: 'other' } };
    const route: Router = () => other.small as RoutedTarget;
    const own = refusal(() => routeChat(ask('hi', { max_tokens: 501 - prompt }), route, PROVIDERS, limits));
    expect(own.message).toContain('limits.providers.p.tokensPerMinute (500 tokens)');
    expect(() => routeChat(ask('hi', { max_tokens: 500 - prompt }), route, PROVIDERS, limits)).not.toThrow();
    const day = refusal(() =>
      routeChat(ask('hi', { model: 'big', max_tokens: 10_001 - prompt }), router(), PROVIDERS, limits),
    );
    expect(day.message).toContain('limits.providers.q.tokensPerDay (10000 tokens)');
  });

  it('without a max_tokens, counts the completion the limits would charge', () => {
    // 100 by default: a prompt of 201 tokens is 301 for `small`.
    const error = refusal(() => routeChat(ask(longText(201)), router(), PROVIDERS, limits));
    expect(error.message).toContain('got an estimated 301');
    expect(() => routeChat(ask(longText(200)), router(), PROVIDERS, limits)).not.toThrow();
  });

  it('passes over a target it could never start at, and refuses when no target is left', () => {
    const routed = routeChat(
      ask('hi', { model: 'small', max_tokens: 400, fallbacks: [{ provider: 'q', model: 'big' }] }),
      router(),
      PROVIDERS,
      limits,
    );
    expect(routed.model).toBe('big');
    expect(routed.targets?.map((t) => t.fits)).toEqual([false, true]);
    const none = refusal(() =>
      routeChat(
        ask('hi', { model: 'small', max_tokens: 20_000, fallbacks: [{ provider: 'q', model: 'big' }] }),
        router(),
        PROVIDERS,
        limits,
      ),
    );
    expect(none.code).toBe('INVALID_REQUEST');
    // `small`'s window (1000) is too small for it; `big` fits its window but not q's day.
    expect(none.message).toContain('limits.providers.q.tokensPerDay (10000 tokens)');
    expect(none.message).toContain('for model big');
    expect(none.message).toContain('it could never start, nor could its fallback;');
  });

  it('checks a model’s own token window when its provider has none', () => {
    const byModel = resolveLimits(
      {
        defaultCompletionTokens: 100,
        providers: { p: { requestsPerMinute: 5, models: { small: { tokensPerDay: 300 } } } },
      },
      PROVIDERS,
    );
    expect(() =>
      routeChat(ask('hi', { max_tokens: 300 - prompt }), router(), PROVIDERS, byModel),
    ).not.toThrow();
    const error = refusal(() =>
      routeChat(ask('hi', { max_tokens: 301 - prompt }), router(), PROVIDERS, byModel),
    );
    expect(error.message).toContain('limits.providers.p.models["small"].tokensPerDay (300 tokens)');
  });

  it('estimates nothing for a provider whose limits have no token window', () => {
    let charged = 0;
    const counting = {
      maxQueuedBytes: 1e6,
      rates: new Map([['p', { requestsPerMinute: 5, models: { small: { requestsPerMinute: 1 } } }]]),
      charge: () => {
        charged++;
        return 1e9;
      },
    };
    expect(() => routeChat(ask('hi'), router(), PROVIDERS, counting)).not.toThrow();
    expect(charged).toBe(0);
    const withTokens = { ...counting, rates: new Map([['p', { tokensPerMinute: 5 }]]) };
    expect(() => routeChat(ask('hi'), router(), PROVIDERS, withTokens)).toThrow(/could never start/);
    expect(charged).toBe(1);
  });

  it('a provider without limits, or no limits at all, refuses nothing', () => {
    expect(() => routeChat(ask('hi', { model: 'open', max_tokens: 1e9 }), router(), PROVIDERS)).not.toThrow();
    const noQ = resolveLimits({ providers: { p: { tokensPerMinute: 10 } } }, PROVIDERS);
    expect(() =>
      routeChat(ask('hi', { model: 'open', max_tokens: 1e9 }), router(), PROVIDERS, noQ),
    ).not.toThrow();
  });
});

describe('routeChat under limits.maxQueuedBytes', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A tool whose schema's `enum` holds `values`: an argument of the tool, as a caller may give it. */
  const tool = (values: unknown) => ({
    type: 'function' as const,
    function: { name: 'pick', parameters: { type: 'string', enum: values } },
  });
  /** Windows and token limits on every target: each reads the prompt (the tools' JSON among it). */
  const limits = (maxQueuedBytes: number) =>
    resolveLimits(
      { maxQueuedBytes, providers: { p: { tokensPerMinute: 1e9 }, q: { tokensPerMinute: 1e9 } } },
      PROVIDERS,
    );
  const TOO_LARGE =
    /^Expected a request of at most 1000 bytes of JSON \(limits\.maxQueuedBytes\), got at least \d+ bytes; send a smaller request/;

  it('refuses a request over the bound before its token estimate stringifies its tools', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    const values = Array.from({ length: 2000 }, (_, i) => `v${i}`);
    for (const model of ['small', 'chained'])
      expect(
        refusal(() =>
          routeChat(ask('hi', { model, tools: [tool(values)] }), router(), PROVIDERS, limits(1000)),
        ),
      ).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(TOO_LARGE) });
    expect(stringify).not.toHaveBeenCalled();
  });

  it('reads no entry of a tool’s array past the bound, however long it says it is', () => {
    let reads = 0;
    const values = new Proxy(['v'], {
      get(target, key, receiver) {
        if (key === 'length') return 1e7;
        // Past a thousand, a walk of all 1e7: stopped here (it would take seconds).
        if (typeof key === 'string' && /^\d+$/.test(key) && ++reads > 1000) throw new Error('walked');
        return Reflect.get(target, key, receiver);
      },
    });
    const error = refusal(() =>
      routeChat(ask('hi', { tools: [tool(values)] }), router(), PROVIDERS, limits(1000)),
    );
    expect(error.message).toMatch(TOO_LARGE);
    expect(reads).toBe(0);
  });

  it('refuses a request JSON cannot carry before the estimate, and measures what fits exactly', () => {
    expect(
      refusal(() => routeChat(ask('hi', { extra: { seed: 1n } }), router(), PROVIDERS, limits(1000))),
    ).toMatchObject({
      code: 'INVALID_REQUEST',
      message:
        'Expected a request that is JSON data, got one JSON cannot carry (Do not know how to serialize a BigInt); send plain data',
    });
    const request = ask('hi', { tools: [tool(['a', 'b'])] });
    const routed = routeChat(request, router(), PROVIDERS, limits(1000));
    const bytes = Buffer.byteLength(JSON.stringify((routed.work as { request: unknown }).request));
    expect(routed.bytes).toBe(bytes);
    // Up to the bound exactly it fits; a byte under, it is refused.
    expect(routeChat(request, router(), PROVIDERS, limits(bytes)).bytes).toBe(bytes);
    expect(refusal(() => routeChat(request, router(), PROVIDERS, limits(bytes - 1))).message).toBe(
      `Expected a request of at most ${bytes - 1} bytes of JSON (limits.maxQueuedBytes), got at least ${bytes} bytes; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`,
    );
  });

  it('counts only what the provider gets: a request whose fallbacks alone would pass the bound fits', () => {
    // Fallbacks are JSON the provider never gets. Until 2026-12-07 they were counted (and held in
    // the queued request), and a request near the bound was refused for bytes never sent.
    const fallbacks = Array.from({ length: MAX_FALLBACKS }, () => ({ provider: 'q', model: 'big' }));
    const request = ask('hi', { fallbacks });
    const routed = routeChat(request, router(), PROVIDERS, limits(1e6));
    const sent = (routed.work as { request: ChatRequest }).request;
    expect(sent).not.toHaveProperty('fallbacks');
    expect(routed.bytes).toBe(Buffer.byteLength(JSON.stringify(sent)));
    // At the bound of what is sent, with the fallbacks' bytes over it: it fits.
    const withFallbacks = Buffer.byteLength(JSON.stringify({ ...sent, fallbacks }));
    expect(withFallbacks).toBeGreaterThan(routed.bytes);
    expect(routeChat(request, router(), PROVIDERS, limits(routed.bytes)).bytes).toBe(routed.bytes);
    // A byte under what is sent, refused, fallbacks or not.
    expect(refusal(() => routeChat(request, router(), PROVIDERS, limits(routed.bytes - 1))).message).toMatch(
      /^Expected a request of at most \d+ bytes of JSON/,
    );
    // The fallbacks array itself stays bounded, refused by its length unread.
    let reads = 0;
    const endless = new Proxy([{ model: 'big' }], {
      get(target, key, receiver) {
        if (key === 'length') return 1e9;
        if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(
      refusal(() => routeChat(ask('hi', { fallbacks: endless }), router(), PROVIDERS, limits(1e6))).message,
    ).toBe(`Expected at most ${MAX_FALLBACKS} fallbacks, got 1000000000; keep the likeliest`);
    expect(reads).toBe(0);
  });

  it('counts a fallback start by its model’s name, without measuring the request again', () => {
    // `small`'s window is too small for the prompt: the call starts at `chained`, a longer name.
    const text = longText(1500);
    let reads = 0;
    const messages = new Proxy([{ role: 'user' as const, content: text }], {
      get(target, key, receiver) {
        if (key === '0') reads += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    const asked = { messages, fallbacks: [{ model: 'chained' }] } as SessionRequest;
    const routed = routeChat(asked, router(), PROVIDERS, limits(1e6));
    expect(routed.model).toBe('chained');
    const started = (routed.work as { request: ChatRequest }).request;
    expect(routed.bytes).toBe(Buffer.byteLength(JSON.stringify(started)));
    // Read as often as a request routed straight to it: until 2026-12-07 a fallback start was
    // measured again, message by message.
    const viaFallback = reads;
    reads = 0;
    routeChat({ messages, model: 'chained' } as SessionRequest, router(), PROVIDERS, limits(1e6));
    expect(viaFallback).toBe(reads);
    // Its own target's request fits the bound exactly; the start's, two bytes longer, does not.
    const own = Buffer.byteLength(JSON.stringify({ ...started, model: 'small' }));
    expect(routed.bytes).toBe(own + 2);
    expect(refusal(() => routeChat(asked, router(), PROVIDERS, limits(own))).message).toBe(
      `Expected a request of at most ${own} bytes of JSON (limits.maxQueuedBytes), got at least ${own + 2} bytes; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`,
    );
  });

  it('takes the size of admission’s copy (`ownRequest`) with the routed model’s name, without measuring again', () => {
    const request = ask('hi', { temperature: 0.5, fallbacks: [{ model: 'big' }] });
    const own = ownRequest(request, 1e6);
    const routed = routeChat(request, router(), PROVIDERS, limits(1e6), own);
    const sent = (routed.work as { request: ChatRequest }).request;
    expect(routed.bytes).toBe(Buffer.byteLength(JSON.stringify(sent)));
    // No field but the model: no comma before the copy's fields.
    const bare = { model: 'open' } as SessionRequest;
    const sizeOnly = resolveLimits({ maxQueuedBytes: 1e6 }, PROVIDERS);
    expect(routeChat(bare, router(), PROVIDERS, sizeOnly, ownRequest(bare, 1e6)).bytes).toBe(
      Buffer.byteLength(JSON.stringify({ model: 'open' })),
    );
    // At the bound exactly it fits; a byte under, refused by the whole size (without fallbacks too).
    const alone = ask('hi', { temperature: 0.5 });
    const size = Buffer.byteLength(JSON.stringify({ model: 'small', ...alone }));
    expect(routeChat(alone, router(), PROVIDERS, limits(size), ownRequest(alone, size)).bytes).toBe(size);
    const under = () => routeChat(alone, router(), PROVIDERS, limits(size - 1), ownRequest(alone, size - 1));
    expect(refusal(under).message).toBe(
      `Expected a request of at most ${size - 1} bytes of JSON (limits.maxQueuedBytes), got at least ${size} bytes; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`,
    );
    // What JSON cannot carry, kept in the copy for the checks: refused here, as measuring would.
    const unjsonable = ownRequest(ask('hi', { extra: { seed: 1n } }), 1e6);
    expect(refusal(() => routeChat(ask('hi'), router(), PROVIDERS, limits(1e6), unjsonable))).toMatchObject({
      code: 'INVALID_REQUEST',
      message:
        'Expected a request that is JSON data, got one JSON cannot carry (Do not know how to serialize a BigInt); send plain data',
    });
  });

  it('measures the request of the model it starts at when that is not the first', () => {
    // `small`'s window is too small for the prompt: the call starts at `big`, a shorter name.
    const text = longText(1500);
    const routed = routeChat(ask(text, { fallbacks: [{ model: 'big' }] }), router(), PROVIDERS, limits(1e6));
    expect(routed.model).toBe('big');
    const started = (routed.work as { request: ChatRequest }).request;
    expect(started.model).toBe('big');
    expect(routed.bytes).toBe(Buffer.byteLength(JSON.stringify(started)));
  });
});
