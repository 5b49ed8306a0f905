/**
 * The gate before each provider call (src/runtime/call-gates.ts), from real budgets and breakers
 * over a shared state: budgets first (a call the budget refuses never takes the breaker's probe),
 * then the breaker; a refusal by the breaker gives the reservation back; closing reports the
 * failure to the breaker and settles the reservation with the usage. Synchronous where every part
 * is (a breaker alone on a memory state), a promise otherwise; failures nobody awaits go to onError.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import type { ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import { Breakers } from '../../../src/runtime/breakers.js';
import { Budgets } from '../../../src/runtime/budgets.js';
import { createCallGate } from '../../../src/runtime/call-gates.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import type { ProviderCall } from '../../../src/runtime/provider-call.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';
import { ManualClock } from '../../support/manual-clock.js';

const NOON = Date.parse('2026-12-01T12:00:00Z');
// One unit of money per token: each call reserves a few units.
const prices = { p: { m: { input: 1_000_000, output: 1_000_000, currency: 'USD' } } };
const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 };
const provider = { name: 'p' } as ChatProvider;
const callOf = (owner?: string) =>
  ({
    owner: { caller: owner === undefined ? undefined : { owner } },
  }) as unknown as ProviderCall<SessionRecord>;
const usage = { promptTokens: 2, completionTokens: 1, totalTokens: 3 };

const away = new Error('state away');

/** A state behind the asynchronous port only (no `readNow`/`updateNow`), that can be made to fail. */
class PortState implements SharedState {
  /** Changes that still succeed before every change and read fails. */
  private left = Number.POSITIVE_INFINITY;
  constructor(readonly inner: MemorySharedState) {}
  failAfter(changes: number): void {
    this.left = changes;
  }
  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R> {
    if (this.left <= 0) return Promise.reject(away);
    this.left--;
    return this.inner.update(key, init, change, ttlMs);
  }
  read<S>(key: string): Promise<S | undefined> {
    return this.left <= 0 ? Promise.reject(away) : this.inner.read<S>(key);
  }
}

function setup(parts: { breakers?: boolean; budgets?: boolean; sync?: boolean }) {
  const clock = new ManualClock();
  clock.time = NOON;
  const memory = new MemorySharedState(clock);
  const port = new PortState(memory);
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  const breakers = parts.breakers
    ? new Breakers(parts.sync ? memory : port, { failures: 2, openMs: 1_000 }, clock, onError)
    : undefined;
  const budgets = parts.budgets ? new Budgets({ perCaller: 1 }, prices, port, clock) : undefined;
  const gate = createCallGate({ breakers, budgets, onError });
  return { clock, port, errors, breakers, budgets, gate };
}

const spent = (budgets: Budgets | undefined, owner: string) =>
  budgets?.spentToday().USD?.[`caller:${owner}`] ?? { spent: 0, reserved: 0 };
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('createCallGate', () => {
  it('is no gate without budgets or breakers', () => {
    expect(createCallGate({ onError: () => {} })).toBeUndefined();
  });

  it('a breaker alone on a memory state answers synchronously, and opens on the failures closed calls report', () => {
    const { gate, breakers } = setup({ breakers: true, sync: true });
    const ticket = gate?.open(callOf(), provider, request);
    expect(ticket).not.toBeInstanceOf(Promise);
    expect(ticket).toEqual({ pass: { provider: 'p', probe: null }, reservation: null });
    // An answer and a cancellation count for nothing; two failures open it.
    gate?.close(ticket, { failure: null, aborted: false, silentMs: 60_000 });
    gate?.close(ticket, { failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: 60_000 });
    expect(breakers?.views()[0]?.failures).toBe(1);
    gate?.close(gate?.open(callOf(), provider, request), {
      failure: 'NETWORK',
      aborted: false,
      silentMs: 60_000,
    });
    const refused = gate?.open(callOf(), provider, request);
    expect(refused).toBeInstanceOf(TroupeError);
    expect((refused as TroupeError).code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('a breaker over the asynchronous port answers with a promise', async () => {
    const { gate } = setup({ breakers: true });
    const ticket = gate?.open(callOf(), provider, request);
    expect(ticket).toBeInstanceOf(Promise);
    expect(await ticket).toEqual({ pass: { provider: 'p', probe: null }, reservation: null });
  });

  it('charges a call the session cut before any usage its prompt’s estimate, and a call refused without usage nothing', async () => {
    const { gate, budgets } = setup({ budgets: true });
    const open = async (owner: string) =>
      (await gate?.open(callOf(owner), provider, request)) as { pass: unknown; reservation: unknown };
    // The prompt is estimated at 6 tokens (4 of framing, 1 for the role, 1 for "x") at 1 USD each;
    // the reservation also holds the completion's 1.
    const cut = await open('carol');
    expect(spent(budgets, 'carol').reserved).toBe(7);
    gate?.close(cut, { failure: null, aborted: true, silentMs: 100 });
    await flush();
    expect(spent(budgets, 'carol')).toMatchObject({ spent: 6, reserved: 0 });
    const timedOut = await open('dave');
    gate?.close(timedOut, { failure: 'TIMED_OUT', aborted: true, silentMs: 100 });
    await flush();
    expect(spent(budgets, 'dave')).toMatchObject({ spent: 6, reserved: 0 });
    const refused = await open('erin');
    gate?.close(refused, { failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: 100 });
    await flush();
    expect(spent(budgets, 'erin')).toMatchObject({ spent: 0, reserved: 0 });
    // Usage, when it came, is what is charged, cut or not.
    const reported = await open('fay');
    gate?.close(reported, { failure: null, aborted: true, silentMs: 100, usage });
    await flush();
    expect(spent(budgets, 'fay')).toMatchObject({ spent: 3, reserved: 0 });
  });

  it("budgets alone reserve the caller's estimate and settle it with the usage on close", async () => {
    const { gate, budgets, errors } = setup({ budgets: true });
    const ticket = (await gate?.open(callOf('alice'), provider, request)) as {
      pass: unknown;
      reservation: unknown;
    };
    expect(ticket.pass).toBeNull();
    expect(ticket.reservation).toMatchObject({ keys: ['caller:alice'], provider: 'p', model: 'm' });
    expect(spent(budgets, 'alice').reserved).toBeGreaterThan(0);
    gate?.close(ticket, { failure: null, aborted: false, silentMs: 60_000, usage });
    await flush();
    expect(spent(budgets, 'alice')).toMatchObject({ spent: 3, reserved: 0 });
    // Alice's budget is spent: her next call is refused, Bob's is not.
    const refused = await gate?.open(callOf('alice'), provider, request);
    expect(refused).toBeInstanceOf(TroupeError);
    expect((refused as TroupeError).code).toBe('BUDGET_EXCEEDED');
    expect(await gate?.open(callOf('bob'), provider, request)).toMatchObject({ pass: null });
    // A caller without an owner is the local one.
    expect(await gate?.open(callOf(), provider, request)).toMatchObject({
      reservation: { keys: ['caller:local'] },
    });
    expect(errors).toEqual([]);
  });

  it("budgets come first: a call the budget refuses does not take the breaker's probe", async () => {
    const { gate, clock, breakers } = setup({ breakers: true, budgets: true });
    for (const owner of ['a', 'b']) {
      const ticket = await gate?.open(callOf(owner), provider, request);
      gate?.close(ticket, { failure: 'TIMED_OUT', aborted: false, silentMs: 60_000, usage });
    }
    await flush();
    expect(breakers?.views()[0]?.state).toBe('open');
    clock.time = NOON + 1_000;
    // Refused by its budget: the breaker is not asked, so the probe is still there for the next call.
    expect(await gate?.open(callOf('a'), provider, request)).toBeInstanceOf(TroupeError);
    const probe = await gate?.open(callOf('c'), provider, request);
    expect(probe).toMatchObject({ pass: { provider: 'p', probe: expect.any(Number) } });
    // The probe's answer closes the breaker.
    gate?.close(probe, { failure: null, aborted: false, silentMs: 60_000, usage });
    await flush();
    expect(breakers?.views()[0]?.state).toBe('closed');
  });

  it('a call the breaker refuses gives its reservation back', async () => {
    const { gate, budgets } = setup({ breakers: true, budgets: true });
    for (const owner of ['a', 'b']) {
      const ticket = await gate?.open(callOf(owner), provider, request);
      gate?.close(ticket, { failure: 'NETWORK', aborted: false, silentMs: 60_000 });
    }
    await flush();
    const refused = await gate?.open(callOf('d'), provider, request);
    expect((refused as TroupeError).code).toBe('PROVIDER_UNAVAILABLE');
    await flush();
    expect(spent(budgets, 'd')).toMatchObject({ spent: 0, reserved: 0 });
  });

  it('a failing settle goes to onError, on close and on a refusal alike', async () => {
    const { gate, port, errors } = setup({ breakers: true, budgets: true, sync: true });
    const ticket = await gate?.open(callOf('a'), provider, request);
    port.failAfter(0);
    gate?.close(ticket, { failure: null, aborted: false, silentMs: 60_000, usage });
    await flush();
    expect(errors).toEqual([away]);
    port.failAfter(Number.POSITIVE_INFINITY);
    for (const owner of ['b', 'c'])
      gate?.close(await gate?.open(callOf(owner), provider, request), {
        failure: 'NETWORK',
        aborted: false,
        silentMs: 60_000,
      });
    await flush();
    // The breaker is open: the reservation succeeds, giving it back fails.
    port.failAfter(1);
    expect(await gate?.open(callOf('e'), provider, request)).toBeInstanceOf(TroupeError);
    await flush();
    expect(errors).toEqual([away, away]);
  });

  it('reports a breaker that throws on close and still settles the reservation', async () => {
    const { gate, budgets, breakers, errors } = setup({ breakers: true, budgets: true });
    const ticket = await gate?.open(callOf('gus'), provider, request);
    const broken = new Error('a snapshot the machine cannot step');
    (breakers as Breakers).report = () => {
      throw broken;
    };
    expect(() =>
      gate?.close(ticket, { failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: 60_000, usage }),
    ).not.toThrow();
    await flush();
    expect(errors).toEqual([broken]);
    expect(spent(budgets, 'gus')).toMatchObject({ spent: 3, reserved: 0 });
  });
});
