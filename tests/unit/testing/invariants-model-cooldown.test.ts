/**
 * `priorityOrder` for a provider that cools down per model (`cooldownPerModel`): a session of
 * another model may go past a higher-priority one that its own model's cooldown holds; judged per
 * provider (Moonshot's kind of limit), the same events are a breach. Driven by a real in-memory
 * runtime: its own admissions are judged.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { RuntimeObserver } from '../../../src/testing/invariants.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: model }] });

async function run(cooldownPerModel: boolean) {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [provider],
    clock,
    limits: { maxConcurrent: 4, providers: { p: { cooldownScope: 'model' } } },
    defaults: { maxAttempts: 1, timeoutMs: 60_000, queueTimeoutMs: 60_000 },
  });
  const observer = new RuntimeObserver(runtime, {
    maxConcurrent: 4,
    fairnessEvery: 8,
    perProvider: {},
    historySize: 1000,
    ...(cooldownPerModel ? { cooldownPerModel: ['p'] } : {}),
  });
  const first = runtime.submit(ask('m1'));
  await flush();
  provider.calls[0]?.settle('rateLimited', 5000);
  await first.result;
  // m1 cools down: its high-priority session waits, a low-priority m2 session goes past it.
  const held = runtime.submit(ask('m1'), { priority: 9 });
  const other = runtime.submit(ask('m2'), { priority: 1 });
  await flush();
  expect(provider.calls.map((c) => c.request.model)).toEqual(['m1', 'm2']);
  provider.calls[1]?.settle('ok');
  await other.result;
  clock.increment(5000);
  for (let i = 0; i < 5 && provider.calls.length < 3; i++) await flush();
  provider.calls[2]?.settle('ok');
  await held.result;
  await runtime.shutdown({ deadlineMs: 0 });
  observer.unsubscribe();
  return observer.checkEnd(provider.calls).map((v) => `${v.invariant}: ${v.detail}`);
}

describe('priorityOrder past a session its own model holds', () => {
  it('is kept when the observer knows the provider cools down per model', async () => {
    expect(await run(true)).toEqual([]);
  });

  it('is a breach when the provider is judged whole', async () => {
    const broken = await run(false);
    expect(broken.some((b) => b.startsWith('priorityOrder: session '))).toBe(true);
  });
});
