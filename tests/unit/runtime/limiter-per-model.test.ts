/**
 * A cooldown per model (`cooldownScope: 'model'`, src/runtime/limiter.ts and limits.ts): Z.ai and
 * Zhipu limit each model apart ("不同模型设有独立的并发限制", docs/providers.md "Limits"), so a
 * 429 for one model pauses that model only: its own cooldown machine, under
 * `cooldown:<provider>:<model>`, while the provider's own never leaves `open`.
 */
import { describe, expect, it } from 'vitest';
import { initialProviderSnapshot, type ProviderSnapshot } from '../../../machines/provider.js';
import { remaining } from '../../../src/core/rate-window.js';
import {
  acquireCooldown,
  type CallOutcome,
  modelCooldownKey,
  type ProviderLimitsConfig,
  type ProviderState,
  providerKey,
  type Start,
} from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

const T0 = 10 * 3_600_000 + 500;
const start = (sessionId: string, model: string, now = T0): Start => ({
  sessionId,
  model,
  now,
  tokens: 10,
  lapsesAt: now + 60_000,
});
const LIMITED: CallOutcome = { kind: 'rateLimited', retryAfterMs: 1000 };

/** A limiter in memory, and the same over the asynchronous port, for each config. */
function setup(config: ProviderLimitsConfig) {
  const clock = new ManualClock();
  clock.time = T0;
  const memory = new MemorySharedState(clock);
  /** The keys the asynchronous port changed, in order. */
  const updates: string[] = [];
  const port: SharedState = {
    update: async (key, init, change, ttlMs) => {
      updates.push(key);
      return memory.updateNow(key, init, change, ttlMs);
    },
    read: async (key) => memory.readNow(key),
  };
  return {
    memory,
    updates,
    sync: new Limiter(new Map([['glm', config]]), memory),
    async: new Limiter(new Map([['glm', config]]), port),
  };
}

describe('a cooldown per model', () => {
  it("a 429 pauses only its model: the provider's other models start; its own wait for the hint, then one probe", () => {
    const { sync, memory } = setup({ cooldownScope: 'model' });
    expect(sync.coolsPerModel('glm')).toBe(true);
    expect(sync.tryStartNow('glm', start('a', 'glm-4.6'))).toEqual({ ok: true, probe: false });
    expect(sync.settleNow('glm', start('a', 'glm-4.6'), T0, LIMITED)).toBe(true);
    // Another model of the same account goes on at once.
    expect(sync.tryStartNow('glm', start('b', 'glm-4.5-flash'))).toEqual({ ok: true, probe: false });
    // The model that answered 429 waits for its hint, and only its sessions wait (`model: true`).
    expect(sync.tryStartNow('glm', start('c', 'glm-4.6', T0 + 999))).toEqual({
      ok: false,
      limit: 'cooldown',
      at: T0 + 1000,
      model: true,
    });
    // The provider's own machine never cooled: its status stays open.
    expect(sync.budgetsNow(['glm'], T0 + 1).glm?.cooldown).toBe('open');
    expect(memory.readNow<ProviderSnapshot>(modelCooldownKey('glm', 'glm-4.6'))?.value).toBe('coolingDown');
    // A model that never cooled down has no state of its own.
    expect(memory.readNow(modelCooldownKey('glm', 'glm-4.5-flash'))).toBeUndefined();
    // After it: one probe, the next waits for it; its answer opens the model.
    expect(sync.tryStartNow('glm', start('d', 'glm-4.6', T0 + 1000))).toEqual({ ok: true, probe: true });
    expect(sync.tryStartNow('glm', start('e', 'glm-4.6', T0 + 1001))).toMatchObject({
      ok: false,
      limit: 'cooldown',
      probe: 'd',
      model: true,
    });
    expect(
      sync.settleNow('glm', start('d', 'glm-4.6', T0 + 1000), T0 + 1002, { kind: 'answered', delta: 0 }),
    ).toBe(false);
    expect(sync.tryStartNow('glm', start('e', 'glm-4.6', T0 + 1003))).toEqual({ ok: true, probe: false });
  });

  it("status names each model cooling down and until when, on the provider's own budget", async () => {
    const { sync, async, memory } = setup({ cooldownScope: 'model' });
    // An answer notes nothing on the provider's state.
    sync.tryStartNow('glm', start('z', 'glm-4.6', T0 - 5));
    sync.settleNow('glm', start('z', 'glm-4.6', T0 - 5), T0 - 1, { kind: 'answered', delta: 0 });
    expect(memory.readNow<ProviderState>(providerKey('glm'))).not.toHaveProperty('m');
    sync.settleNow('glm', start('a', 'glm-4.6'), T0, LIMITED);
    sync.settleNow('glm', start('b', 'glm-5'), T0 + 10, { kind: 'rateLimited', retryAfterMs: 5000 });
    expect(sync.budgetsNow(['glm'], T0 + 20).glm?.models).toEqual({
      'glm-4.6': T0 + 1000,
      'glm-5': T0 + 5010,
    });
    expect((await async.budgets(['glm'], T0 + 20)).glm?.models).toEqual({
      'glm-4.6': T0 + 1000,
      'glm-5': T0 + 5010,
    });
    // Past its end a model is no longer named; with none cooling, no field.
    expect(sync.budgetsNow(['glm'], T0 + 1000).glm?.models).toEqual({ 'glm-5': T0 + 5010 });
    expect(sync.budgetsNow(['glm'], T0 + 5010).glm).not.toHaveProperty('models');
    // A 429 during a model's cooldown begins none but extends it to its own hint: the end shown follows.
    expect(
      sync.settleNow('glm', start('c', 'glm-4.6'), T0 + 20, { kind: 'rateLimited', retryAfterMs: 9000 }),
    ).toBe(false);
    expect(sync.budgetsNow(['glm'], T0 + 20).glm?.models?.['glm-4.6']).toBe(T0 + 9020);
    // A later cooldown replaces the model's end and drops the ended ones.
    sync.settleNow('glm', start('d', 'glm-4.6'), T0 + 9100, { kind: 'rateLimited', retryAfterMs: 2000 });
    expect(sync.budgetsNow(['glm'], T0 + 9100).glm?.models).toEqual({ 'glm-4.6': T0 + 11_100 });
    // The stored note keeps only the models still cooling down (glm-5's ended at T0 + 5010).
    expect(memory.readNow<ProviderState>(providerKey('glm'))?.m).toEqual({ 'glm-4.6': T0 + 11_100 });
    // A model whose cooldown ends at the very time of the next note is dropped too.
    sync.settleNow('glm', start('f', 'glm-5'), T0 + 11_100, { kind: 'rateLimited', retryAfterMs: 100 });
    expect(memory.readNow<ProviderState>(providerKey('glm'))?.m).toEqual({ 'glm-5': T0 + 11_200 });
  });

  it('model ids that never answered 429 leave no state: a client naming a thousand models makes no key', async () => {
    const { sync, async, memory } = setup({ cooldownScope: 'model' });
    const before = memory.size;
    for (let i = 0; i < 1000; i++) {
      const s = start(`s${i}`, `made-up-${i}`);
      expect(i % 2 === 0 ? sync.tryStartNow('glm', s) : await async.tryStart('glm', s)).toEqual({
        ok: true,
        probe: false,
      });
      const outcome: CallOutcome = i % 3 === 0 ? { kind: 'ended' } : { kind: 'answered', delta: 0 };
      if (i % 2 === 0) sync.settleNow('glm', s, T0 + 1, outcome);
      else await async.settle('glm', s, T0 + 1, outcome);
    }
    // The provider's own state only.
    expect(memory.size - before).toBe(1);
    // A 429 makes the model's state; its probe's answer after the cooldown opens it, and the next
    // answers of the open model write nothing more to it.
    sync.settleNow('glm', start('x', 'glm-4.6'), T0, LIMITED);
    expect(memory.size - before).toBe(2);
    const probe = start('p', 'glm-4.6', T0 + 1000);
    expect(sync.tryStartNow('glm', probe)).toEqual({ ok: true, probe: true });
    sync.settleNow('glm', probe, T0 + 1001, { kind: 'answered', delta: 0 });
    expect(memory.readNow<ProviderSnapshot>(modelCooldownKey('glm', 'glm-4.6'))?.value).toBe('open');
  });

  it("a model's state is changed only while it cools down or probes: an open model's starts and answers read it and write nothing", async () => {
    const { async, updates } = setup({ cooldownScope: 'model' });
    const key = modelCooldownKey('glm', 'glm-4.6');
    await async.settle('glm', start('x', 'glm-4.6'), T0, LIMITED);
    // Probing: the probe's start and its answer change the model's state.
    const probe = start('p', 'glm-4.6', T0 + 1000);
    updates.length = 0;
    expect(await async.tryStart('glm', probe)).toEqual({ ok: true, probe: true });
    await async.settle('glm', probe, T0 + 1001, { kind: 'answered', delta: 0 });
    expect(updates.filter((k) => k === key)).toHaveLength(2);
    // Open again: a start and an answer change the provider's state only.
    updates.length = 0;
    const next = start('n', 'glm-4.6', T0 + 1002);
    expect(await async.tryStart('glm', next)).toEqual({ ok: true, probe: false });
    await async.settle('glm', next, T0 + 1003, { kind: 'answered', delta: 0 });
    expect(updates).toEqual([providerKey('glm'), providerKey('glm')]);
  });

  it('acquireCooldown on an open model lets the start go, as no probe', () => {
    expect(acquireCooldown(start('a', 'glm-4.6'))(initialProviderSnapshot()).result).toEqual({
      ok: true,
      probe: false,
    });
  });

  it('the same over the asynchronous port (Redis)', async () => {
    const { async } = setup({ cooldownScope: 'model' });
    expect(await async.settle('glm', start('a', 'glm-4.6'), T0, LIMITED)).toBe(true);
    expect(await async.settle('glm', start('x', 'glm-4.6'), T0 + 1, LIMITED)).toBe(false);
    expect(await async.tryStart('glm', start('b', 'glm-4.5-flash'))).toEqual({ ok: true, probe: false });
    expect(await async.tryStart('glm', start('c', 'glm-4.6'))).toMatchObject({ ok: false, model: true });
    expect((await async.budgets(['glm'], T0)).glm?.cooldown).toBe('open');
  });

  it("a probe the provider's windows refuse is given back: the next start of the model probes", () => {
    const { sync, memory } = setup({ cooldownScope: 'model', requestsPerMinute: 1 });
    sync.settleNow('glm', start('a', 'glm-4.6', T0 - 2000), T0 - 2000, LIMITED);
    // The minute's one request goes to another model.
    expect(sync.tryStartNow('glm', start('b', 'glm-4.5-flash'))).toMatchObject({ ok: true });
    expect(sync.tryStartNow('glm', start('c', 'glm-4.6'))).toMatchObject({
      ok: false,
      limit: 'requestsPerMinute',
    });
    const model = memory.readNow<ProviderSnapshot>(modelCooldownKey('glm', 'glm-4.6'));
    expect(model?.context.probe).toBeNull();
    const provider = memory.readNow<ProviderState>(providerKey('glm')) as ProviderState;
    expect(remaining(provider.w, { requestsPerMinute: 1 }, T0).requestsPerMinute).toBe(0);
    expect(sync.tryStartNow('glm', start('d', 'glm-4.6', T0 + 61_000))).toEqual({ ok: true, probe: true });
  });

  it('a start given back by tryStartFresh hands its probe to its next ask', async () => {
    const { async } = setup({ cooldownScope: 'model' });
    await async.settle('glm', start('a', 'glm-4.6', T0 - 2000), T0 - 2000, LIMITED);
    let answers = 0;
    let asked = 0;
    // A RATE_LIMITED answer of another model came in during the first ask only.
    const got = await async.tryStartFresh('glm', start('y', 'glm-4.6'), () =>
      asked++ === 1 ? ++answers : answers,
    );
    expect(got).toEqual({ ok: true, probe: true });
    expect(await async.tryStart('glm', start('z', 'glm-4.6'))).toMatchObject({
      limit: 'cooldown',
      probe: 'y',
    });
  });

  it('with the default scope a 429 pauses every model of the provider, as Moonshot counts per account', async () => {
    const { sync, async, memory } = setup({});
    expect(sync.coolsPerModel('glm')).toBe(false);
    expect(sync.coolsPerModel('unknown')).toBe(false);
    expect(sync.settleNow('glm', start('a', 'kimi-k2.6'), T0, LIMITED)).toBe(true);
    expect(sync.tryStartNow('glm', start('b', 'moonshot-v1-8k'))).toEqual({
      ok: false,
      limit: 'cooldown',
      at: T0 + 1000,
    });
    expect(sync.budgetsNow(['glm'], T0).glm?.cooldown).toBe('coolingDown');
    // A start asked again (a 429 came in meanwhile) gives back the provider's probe, not a model's.
    let answers = 0;
    let asked = 0;
    const fresh = await async.tryStartFresh('glm', start('y', 'kimi-k2.6', T0 + 5000), () =>
      asked++ === 1 ? ++answers : answers,
    );
    expect(fresh).toEqual({ ok: true, probe: true });
    expect(memory.readNow(modelCooldownKey('glm', 'kimi-k2.6'))).toBeUndefined();
  });
});
