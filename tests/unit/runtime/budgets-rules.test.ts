/**
 * Budgets (src/runtime/budgets.ts) called directly, beyond the currencies: what a call reserves and
 * on which budgets, the rule `spent + reserved < limit` at its edge, giving back what a refused
 * call held, settling into spend, days (a new day forgets, a reservation from yesterday settles
 * as spend only), the callers' bound, what each state's lifetime is, and the options' checks.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import type { ChatRequest } from '../../../src/providers/port.js';
import {
  type BudgetOptions,
  Budgets,
  OTHER_CALLERS,
  type Reservation,
} from '../../../src/runtime/budgets.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

// Prompts are free: a call's estimate is its completion budget, 10 per million tokens.
const PRICES = { p: { m: { input: 0, output: 10, currency: 'USD' } } };
const ask = (max_tokens?: number): ChatRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...(max_tokens === undefined ? {} : { max_tokens }),
});
const usage = (completionTokens: number) => ({
  promptTokens: 5,
  completionTokens,
  totalTokens: 5 + completionTokens,
});
const NOON = Date.parse('2026-12-01T12:00:00Z');

function setup(options: BudgetOptions, wrap?: (memory: MemorySharedState) => SharedState) {
  const clock = new ManualClock();
  clock.time = NOON;
  const memory = new MemorySharedState(clock);
  const budgets = new Budgets(options, PRICES, wrap ? wrap(memory) : memory, clock);
  const reserve = async (owner: unknown, max?: number) => budgets.reserve(owner, 'p', ask(max));
  return { clock, memory, budgets, reserve };
}

const refusal = (fn: () => unknown): TroupeError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('Expected a refusal, got none');
};

describe('budgets: reserving and settling', () => {
  it("reserves a call's estimate on the caller's budget, then the global one, in the price's currency", async () => {
    const { reserve, budgets } = setup({ perCaller: 1, global: 2 });
    expect(await reserve('token:a', 1000)).toEqual({
      keys: ['caller:token:a', 'global'],
      currency: 'USD',
      day: '2026-12-01',
      amount: 0.01,
      promptAmount: 0,
      provider: 'p',
      model: 'm',
    });
    expect(budgets.spentToday()).toEqual({
      USD: {
        'caller:token:a': { day: '2026-12-01', spent: 0, reserved: 0.01 },
        global: { day: '2026-12-01', spent: 0, reserved: 0.01 },
      },
    });
  });

  it('charges a request without max_tokens the default completion budget (4096, or the option)', async () => {
    expect(((await setup({ global: 1 }).reserve('a')) as Reservation).amount).toBe(0.04096);
    const own = setup({ global: 1, defaultCompletionTokens: 500 });
    expect(((await own.reserve('a')) as Reservation).amount).toBe(0.005);
    expect(((await own.reserve('a', 100)) as Reservation).amount).toBe(0.001);
  });

  it('without a budget in any currency reserves nothing and names no currency', async () => {
    const { reserve } = setup({});
    expect(await reserve('a', 1000)).toEqual({
      keys: [],
      currency: '',
      day: '2026-12-01',
      amount: 0,
      promptAmount: 0,
      provider: 'p',
      model: 'm',
    });
  });

  it('a caller with no name (or an empty one) is the `local` caller', async () => {
    const { reserve } = setup({ perCaller: 1 });
    expect(((await reserve(undefined, 10)) as Reservation).keys).toEqual(['caller:local']);
    expect(((await reserve('', 10)) as Reservation).keys).toEqual(['caller:local']);
    expect(((await reserve(42, 10)) as Reservation).keys).toEqual(['caller:local']);
  });

  it('lets a call through while spent + reserved is below the limit, and refuses at the limit', async () => {
    const { reserve, budgets } = setup({ global: 0.02 });
    const first = (await reserve('a', 1500)) as Reservation;
    // 0.015 held of 0.02: there is room, so the next call goes (and may pass the limit by its estimate).
    const second = (await reserve('b', 1000)) as Reservation;
    expect(second.keys).toEqual(['global']);
    const refused = (await reserve('c', 1)) as TroupeError;
    expect(refused.code).toBe('BUDGET_EXCEEDED');
    expect(refused.message).toContain('got 0 USD spent and 0.025 USD reserved by calls in flight');
    // Settled below the estimate: the room comes back.
    await budgets.settle(first, usage(500));
    await budgets.settle(second, usage(500));
    expect(budgets.spentToday().USD?.global).toEqual({ day: '2026-12-01', spent: 0.01, reserved: 0 });
    expect(await reserve('c', 1)).not.toBeInstanceOf(TroupeError);
  });

  it("a call refused by the global budget gives back what it held on the caller's", async () => {
    const { reserve, budgets } = setup({ perCaller: 1, global: 0.01 });
    await budgets.settle((await reserve('a', 1000)) as Reservation, usage(1000));
    const refused = (await reserve('b', 1000)) as TroupeError;
    expect(refused.message).toMatch(/^Expected the global budget \(0\.01 USD per UTC day\) to have room/);
    expect(budgets.spentToday().USD?.['caller:b']).toEqual({ day: '2026-12-01', spent: 0, reserved: 0 });
  });

  it('settles what the reported usage cost; without usage the reservation is only given back', async () => {
    const { reserve, budgets } = setup({ perCaller: 1 });
    await budgets.settle((await reserve('a', 1000)) as Reservation, usage(300));
    expect(budgets.spentToday().USD?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0.003, reserved: 0 });
    await budgets.settle((await reserve('a', 1000)) as Reservation, undefined);
    expect(budgets.spentToday().USD?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0.003, reserved: 0 });
  });

  it('settling never leaves a negative reservation', async () => {
    const { reserve, budgets } = setup({ perCaller: 1 });
    const r = (await reserve('a', 1000)) as Reservation;
    await budgets.settle({ ...r, amount: 5 }, usage(100));
    expect(budgets.spentToday().USD?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0.001, reserved: 0 });
  });

  it("a model whose price changed currency since the reservation settles nothing into the old currency's spend", async () => {
    const { reserve, budgets } = setup({ perCaller: { USD: 1, CNY: 1 } });
    const r = (await reserve('a', 1000)) as Reservation;
    await budgets.settle({ ...r, currency: 'CNY', keys: ['caller:a'] }, usage(1000));
    expect(budgets.spentToday().CNY?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0, reserved: 0 });
  });
});

describe('budgets: days and bounds', () => {
  it('a new UTC day starts from nothing and forgets what this instance saw', async () => {
    const { clock, reserve, budgets } = setup({ global: 0.01 });
    await budgets.settle((await reserve('a', 1000)) as Reservation, usage(1000));
    expect(() => budgets.precheck('a')).toThrow(TroupeError);
    clock.time = Date.parse('2026-12-02T00:00:00Z');
    expect(budgets.spentToday()).toEqual({});
    expect(() => budgets.precheck('a')).not.toThrow();
    expect(((await reserve('a', 1000)) as Reservation).day).toBe('2026-12-02');
  });

  it("a reservation from yesterday settles as today's spend and leaves today's reservations alone", async () => {
    const { clock, reserve, budgets } = setup({ global: 1 });
    clock.time = Date.parse('2026-12-01T23:59:00Z');
    const late = (await reserve('a', 1000)) as Reservation;
    // Yesterday's state is still stored (until a minute past midnight): today starts from nothing anyway.
    clock.time = Date.parse('2026-12-02T00:00:30Z');
    await reserve('b', 2000);
    await budgets.settle(late, usage(400));
    expect(budgets.spentToday().USD?.global).toEqual({ day: '2026-12-02', spent: 0.004, reserved: 0.02 });
  });

  // The local runtime's default clock is steady (`steadyClock`): after a step of the wall clock its
  // `now()` reads a day the calendar has left. The budget's day, lifetime and reset are the wall's.
  it('counts its UTC day, each state’s lifetime and the reset on the wall clock, not on a steady clock a step left behind', async () => {
    const ttls: (number | undefined)[] = [];
    const clock = Object.assign(new ManualClock(), { wall: () => Date.parse('2026-12-02T23:00:00Z') });
    clock.time = NOON; // a day and 11 hours behind the wall clock
    const memory = new MemorySharedState(clock);
    const budgets = new Budgets(
      { global: 0.01 },
      PRICES,
      {
        read: (k) => memory.read(k),
        update: (k, i, c, ttl) => {
          ttls.push(ttl);
          return memory.update(k, i, c, ttl);
        },
      },
      clock,
    );
    const first = (await budgets.reserve('a', 'p', ask(1000))) as Reservation;
    expect(first.day).toBe('2026-12-02');
    expect(ttls).toEqual([3600_000 + 60_000]);
    await budgets.settle(first, usage(1000));
    const error = refusal(() => budgets.precheck('a'));
    expect(error.message).toContain('it resets at 2026-12-03T00:00:00.000Z (in 60 min)');
    expect(error.retryAfterMs).toBe(3600_000);
  });

  it('each budget state lives until a minute past the end of its day', async () => {
    const ttls: (number | undefined)[] = [];
    const { reserve } = setup({ global: 1 }, (memory) => ({
      read: (k) => memory.read(k),
      update: (k, i, c, ttl) => {
        ttls.push(ttl);
        return memory.update(k, i, c, ttl);
      },
    }));
    await reserve('a', 10);
    expect(ttls).toEqual([12 * 3600_000 + 60_000]);
  });

  it(`past maxCallers in a day, new callers share ${OTHER_CALLERS}; known ones keep theirs; a new day resets`, async () => {
    const { clock, reserve, budgets } = setup({ perCaller: 0.01, maxCallers: 2 });
    const keys = async (owner: string) => ((await reserve(owner, 10)) as Reservation).keys;
    expect(await keys('a')).toEqual(['caller:a']);
    // Admission does not track: it takes no place.
    budgets.precheck('z');
    expect(await keys('b')).toEqual(['caller:b']);
    expect(await keys('c')).toEqual(['caller:(other callers)']);
    expect(await keys('a')).toEqual(['caller:a']);
    clock.time += 86_400_000;
    expect(await keys('c')).toEqual(['caller:c']);
    expect(await keys('z')).toEqual(['caller:z']);
    expect(await keys('a')).toEqual(['caller:(other callers)']);
  });

  // A client of the shared token opened 10,001 MCP sessions (each a caller) and left a named
  // token that came later that day in the shared overflow budget, spent: refused until midnight.
  it(`callers kept by trackAlways never share ${OTHER_CALLERS}, and take no place from others`, async () => {
    const { reserve, budgets } = setup({
      perCaller: 0.01,
      maxCallers: 2,
      trackAlways: (owner) => owner.startsWith('token:'),
    });
    const keys = async (owner: string) => ((await reserve(owner, 10)) as Reservation).keys;
    expect(await keys('mcp:1')).toEqual(['caller:mcp:1']);
    expect(await keys('mcp:2')).toEqual(['caller:mcp:2']);
    expect(await keys('mcp:3')).toEqual(['caller:(other callers)']);
    expect(await keys('token:bob')).toEqual(['caller:token:bob']);
    expect(() => budgets.precheck('token:carol')).not.toThrow();
    expect(await keys('token:carol')).toEqual(['caller:token:carol']);
    expect(await keys('token:bob')).toEqual(['caller:token:bob']);
    expect(await keys('mcp:4')).toEqual(['caller:(other callers)']);
  });

  it('a state changed as its day ended is not shown as today', async () => {
    let release = () => {};
    const { clock, reserve, budgets } = setup({ global: 1 }, (memory) => ({
      read: (k) => memory.read(k),
      update: (k, i, c, ttl) => {
        const done = memory.update(k, i, c, ttl);
        return new Promise((resolve) => {
          release = () => resolve(done);
        });
      },
    }));
    clock.time = Date.parse('2026-12-01T23:59:59Z');
    const out = reserve('a', 1000);
    // The call is still reserving at midnight, when this instance looks at its budgets.
    clock.time = Date.parse('2026-12-02T00:00:00Z');
    expect(budgets.spentToday()).toEqual({});
    release();
    expect(((await out) as Reservation).day).toBe('2026-12-01');
    expect(budgets.spentToday()).toEqual({});
  });

  it('tracks 10000 callers a day by default', async () => {
    // A state that keeps nothing: only the callers' count matters here.
    const { reserve } = setup({ perCaller: 1 }, () => ({
      read: () => Promise.resolve(undefined),
      update: (_k, init, change) => Promise.resolve(change(init()).result),
    }));
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => reserve(`c${i}`, 1)));
    expect(((await reserve('late', 1)) as Reservation).keys).toEqual(['caller:(other callers)']);
  });
});

describe('budgets: admission', () => {
  it('refuses at admission once spent + reserved reaches the limit, held calls included', async () => {
    const { reserve, budgets } = setup({ perCaller: 0.02 });
    await reserve('a', 1000);
    expect(() => budgets.precheck('a', 'p', 'm')).not.toThrow();
    await reserve('a', 1000);
    const refused = refusal(() => budgets.precheck('a', 'p', 'm'));
    expect(refused.code).toBe('BUDGET_EXCEEDED');
    expect(refused.family).toBe('runtime');
    expect(refused.message).toBe(
      'Expected the budget of caller `a` (0.02 USD per UTC day) to have room, got 0 USD spent and 0.02 USD reserved by calls in flight; it resets at 2026-12-02T00:00:00.000Z (in 720 min). Wait for the reset, or ask the operator to raise it.',
    );
    expect(refused.retryAfterMs).toBe(12 * 3600_000);
    // Another caller has its own budget.
    expect(() => budgets.precheck('b', 'p', 'm')).not.toThrow();
  });

  it('without a model, checks every currency; with an unpriced one too', async () => {
    const { reserve, budgets } = setup({ global: { USD: 0.01, CNY: 1 } });
    await reserve('a', 1000);
    expect(() => budgets.precheck('a')).toThrow(/the global budget \(0\.01 USD/);
    expect(() => budgets.precheck('a', 'p')).toThrow(/the global budget \(0\.01 USD/);
    expect(() => budgets.precheck('a', undefined, 'm')).toThrow(/the global budget \(0\.01 USD/);
    expect(() => budgets.precheck('a', 'nowhere', 'm')).toThrow(/the global budget \(0\.01 USD/);
  });

  it('refuses a model with no price, naming every currency that has a budget', async () => {
    const { budgets } = setup({ perCaller: { USD: 1 }, global: { CNY: 1 } });
    const error = (await budgets.reserve('a', 'nowhere', ask(10))) as TroupeError;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toBe(
      'Expected a price for `nowhere`/`m` to check the budgets (CNY, USD) against, got none; add it under `prices` in the providers file (or pick a priced model)',
    );
  });

  it('a budget this instance has not touched, or with no limit, passes admission', () => {
    const { budgets } = setup({ perCaller: { CNY: 0 } });
    expect(() => budgets.precheck('a', 'p', 'm')).not.toThrow();
    expect(() => budgets.precheck('a')).not.toThrow();
  });
});

describe('budgets: options', () => {
  const make = (options: BudgetOptions) => () => setup(options);
  it('reads plain numbers in USD unless `currency` says otherwise, and takes 0', () => {
    expect(setup({ perCaller: 1 }).budgets.currencies()).toEqual(['USD']);
    expect(setup({ perCaller: 1, global: { CNY: 0 }, currency: 'EUR' }).budgets.currencies()).toEqual([
      'CNY',
      'EUR',
    ]);
  });

  it('refuses currency codes that are not ISO 4217 codes in capitals, anywhere in them', () => {
    // Three capitals are not enough: `UDS` for `USD` made a budget that limited nothing.
    for (const currency of ['USDX', 'XUSD', 'US', 'usd', 'UDS', 'XYZ']) {
      const error = refusal(make({ global: 1, currency }));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe(
        `Expected \`budgets.currency\` to be an ISO 4217 currency code such as USD or CNY, got \`"${currency}"\` (string)`,
      );
    }
    expect(refusal(make({ perCaller: { USDX: 1 } })).message).toContain('got `"USDX"`');
    expect(refusal(make({ perCaller: { UDS: 1 } })).message).toContain('got `"UDS"`');
    expect(refusal(make({ global: { XUSD: 1 } })).message).toBe(
      'Expected the currencies of `budgets.global` to be ISO 4217 codes such as USD or CNY, got `"XUSD"` (string)',
    );
  });

  it('refuses amounts that are not finite non-negative numbers, naming the field and the currency when given by one', () => {
    const bad = (options: BudgetOptions) => refusal(make(options)).message;
    expect(bad({ perCaller: -0.5 })).toBe(
      'Expected `budgets.perCaller` to be a non-negative amount, got `-0.5` (number)',
    );
    expect(bad({ global: Number.NaN })).toMatch(
      /^Expected `budgets.global` to be a non-negative amount, got /,
    );
    expect(bad({ global: Number.POSITIVE_INFINITY })).toMatch(/non-negative amount/);
    expect(bad({ global: '5' as unknown as number })).toMatch(/non-negative amount, got `"5"` \(string\)$/);
    expect(bad({ global: [5] as unknown as number })).toMatch(/non-negative amount, got .*\(array\)$/);
    expect(bad({ global: null as unknown as number })).toMatch(/non-negative amount, got .*null/);
    // The currency is named when the amount was given by currency, and is not the plain one.
    expect(bad({ global: { USD: -1 } })).not.toMatch(/ for /);
    expect(bad({ global: { CNY: -1 } })).toMatch(/ for CNY$/);
    expect(bad({ global: { EUR: 1, USD: -1 } })).toMatch(/ for USD$/);
    expect(bad({ global: -1, currency: 'CNY' })).not.toMatch(/ for /);
    expect(refusal(make({ global: -1 })).code).toBe('INVALID_REQUEST');
  });

  // Until 2026-12-07 neither was checked: `NaN` callers tracked every caller without bound, and a
  // completion of `NaN` made every charge `NaN`, which no budget refuses.
  it('refuses a maxCallers or a defaultCompletionTokens that is not a count, naming it', () => {
    const bad = (options: BudgetOptions) => refusal(make({ global: 1, ...options }));
    for (const [field, value, expected, got] of [
      ['maxCallers', Number.NaN, 'a non-negative integer', '`NaN` (number)'],
      ['maxCallers', -1, 'a non-negative integer', '`-1` (number)'],
      ['maxCallers', '5', 'a non-negative integer', '`"5"` (string)'],
      [
        'maxCallers',
        2 ** 53,
        'a non-negative integer of at most 9007199254740991',
        '`9007199254740992` (number)',
      ],
      ['defaultCompletionTokens', 0, 'a positive integer', '`0` (number)'],
      ['defaultCompletionTokens', Number.NaN, 'a positive integer', '`NaN` (number)'],
      [
        'defaultCompletionTokens',
        1e300,
        'a positive integer of at most 9007199254740991',
        '`1e+300` (number)',
      ],
    ] as const)
      expect(bad({ [field]: value } as BudgetOptions), `${field} ${String(value)}`).toMatchObject({
        code: 'INVALID_REQUEST',
        message: `Expected \`budgets.${field}\` to be ${expected}, got ${got}`,
      });
    // 0 callers tracked apart is a choice: every caller shares the overflow's budget.
    expect(() => setup({ global: 1, maxCallers: 0, defaultCompletionTokens: 1 })).not.toThrow();
  });
});
