/**
 * A session cancelled several times ends with the first cancel's reason on every backend, as on one
 * process. On Redis the cancel mark was overwritten by each later cancel, so a queued session ended
 * with the last reason ("found by an audit"); the mark is now set only if none is (`NX`), and the
 * in-memory cluster's the same way. One instance, a memory cluster and Redis (a real `redis-server`).
 */
import { expect, it } from 'vitest';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { EVERY_BACKEND, everyBackend } from '../support/every-backend.js';

const runtimeOn = everyBackend('cr');

it.each(EVERY_BACKEND)(
  'a queued and a running session cancelled three times end with the first reason (%s)',
  async (backend) => {
    const runtime = await runtimeOn(backend, {
      providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 3000, max: 3000 } })],
      defaults: { provider: 'sim', model: 'sim-fast' },
      limits: { perProvider: { sim: 1 } },
    });
    const ask = (content: string) => runtime.submit({ messages: [{ role: 'user', content }] });
    const running = ask('runs');
    await expect.poll(() => runtime.session(running.id)?.state, { timeout: 3000 }).toBe('running');
    const queued = ask('waits');
    await expect.poll(() => runtime.session(queued.id)?.state, { timeout: 3000 }).toBe('queued');
    for (const handle of [queued, running]) {
      runtime.cancel(handle.id, 'first');
      runtime.cancel(handle.id, 'second');
      handle.cancel('third');
    }
    for (const handle of [queued, running]) {
      const result = await handle.result;
      expect(result.ok ? 'done' : result.error.code).toBe('CANCELLED');
      if (!result.ok) expect(result.error.message).toContain('first');
      if (!result.ok) expect(result.error.message).not.toMatch(/second|third/);
    }
  },
);
