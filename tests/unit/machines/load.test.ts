/**
 * The machine definitions load, and start where their charts say. Imported dynamically, inside
 * the tests, on purpose: XState checks a definition when it is built, at import, and throws for a
 * target or `initial` that names no state. A test file that imports a broken definition
 * statically fails before any of its tests exist, which Stryker's vitest runner (9.6) does not
 * count as a failing test; here the broken definition fails the test (docs/testing.md, "Mutation
 * testing").
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { INPUT } from './fixtures.js';

describe('the machine definitions', () => {
  it('the session machine loads, starts queued, and each of its targets resolves', async () => {
    const { sessionMachine } = await import('../../../machines/session.js');
    const actor = createActor(sessionMachine, { input: INPUT }).start();
    expect(actor.getSnapshot().value).toBe('queued');
    actor.send({ type: 'session.admit', now: INPUT.createdAt });
    // `running` and `attempt` enter their initial children.
    expect(actor.getSnapshot().value).toEqual({ running: { attempt: 'calling' } });
    actor.send({ type: 'provider.done', now: INPUT.createdAt + 1, output: { content: 'ok' } });
    // `#session.done`: the machine's id is the one its targets name.
    expect(actor.getSnapshot().value).toBe('done');
    expect(sessionMachine.id).toBe('session');
  });

  it('the supervisor machine loads and starts where its chart says', async () => {
    const { supervisorMachine } = await import('../../../machines/supervisor.js');
    const actor = createActor(supervisorMachine).start();
    expect(actor.getSnapshot().status).toBe('active');
    expect(supervisorMachine.id).toBe('supervisor');
    expect(actor.getSnapshot().value).toBe('accepting');
  });

  it('the provider cooldown machine loads and starts open, with nothing cooling down', async () => {
    const { providerMachine, initialProviderSnapshot } = await import('../../../machines/provider.js');
    const actor = createActor(providerMachine).start();
    expect(providerMachine.id).toBe('provider');
    expect({ value: actor.getSnapshot().value, context: actor.getSnapshot().context }).toEqual(
      initialProviderSnapshot(),
    );
    actor.send({ type: 'provider.rateLimited', now: 0, retryAfterMs: 10 });
    expect(actor.getSnapshot().value).toBe('coolingDown');
  });

  it('the breaker machine loads and starts closed with its settings', async () => {
    const { breakerMachine, initialBreaker } = await import('../../../machines/breaker.js');
    const settings = { failures: 1, windowMs: 10, openMs: 10, probeTimeoutMs: 10 };
    const actor = createActor(breakerMachine, { input: settings }).start();
    expect(breakerMachine.id).toBe('breaker');
    expect({ value: actor.getSnapshot().value, context: actor.getSnapshot().context }).toEqual(
      initialBreaker(settings),
    );
    actor.send({ type: 'breaker.failure', now: 0, code: 'NETWORK', probe: null });
    expect(actor.getSnapshot().value).toBe('open');
  });
});
