/**
 * A breaker that throws as a call ends (`createCallGate`'s `close`, src/runtime/call-gates.ts):
 * reported, and the call's own outcome still reaches its session. Until 2026-12-06 the throw went up
 * through the call's end: a failed call's session heard nothing and waited for its run deadline,
 * and the throw was an unhandled rejection (docs/runtime.md, "A throw at a session's end").
 */
import { expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, MemorySharedState } from '../../../src/index.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { flush } from './session-fixtures.js';

it('a breaker that cannot step its stored snapshot as a failed call ends: the session ends with the provider’s error, onError hears it', async () => {
  const clock = new SimulatedClock();
  const state = new MemorySharedState(clock);
  const provider = new ScriptedProvider('p');
  const errors: unknown[] = [];
  const runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'p', model: 'm', maxAttempts: 1 },
    clock,
    sharedState: state,
    breakers: true,
    onError: (error) => errors.push(error),
  });
  const handle = runtime.submit({ messages: [{ role: 'user', content: 'hello' }] });
  await flush();
  expect(provider.calls).toHaveLength(1);
  // Another writer's snapshot of a shape this machine has no state for (an older build's, say).
  await state.update(
    'breaker:p',
    () => null,
    () => ({ state: { value: 'tripped', context: {} }, result: null }),
  );
  provider.pending()[0]?.settle('retryable');
  await flush();
  expect(await handle.result).toMatchObject({ ok: false, error: { code: 'PROVIDER_UNAVAILABLE' } });
  expect(errors).toHaveLength(1);
  expect(String(errors[0])).toMatch(/tripped/);
  expect(await runtime.shutdown({ deadlineMs: 0 })).toEqual({ finished: 0, cancelled: [] });
});
