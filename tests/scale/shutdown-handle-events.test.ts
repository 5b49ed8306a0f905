/**
 * A handle's `events` end with `session.ended` however the caller's wait ends. On a cluster, a
 * session still running at a shutdown's drain deadline had its caller answered (`SHUTTING_DOWN`)
 * while the handle's stream closed after `session.started`, with no end ("found by an audit"); one
 * process always sent it. One instance and an instance of a memory cluster, each mode of `unfinished`.
 */
import { afterEach, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionEvent } from '../../src/runtime/types.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { IN_MEMORY_BACKENDS } from '../support/in-memory-backends.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.allSettled(runtimes.splice(0).map((r) => r.shutdown({ deadlineMs: 50 })));
});

const cases = IN_MEMORY_BACKENDS.flatMap(([name, backend]) =>
  (['leave', 'cancel'] as const).map((unfinished) => [name, unfinished, backend] as const),
);

it.each(cases)(
  '%s, unfinished: %s: the events of a session running at the drain deadline end with its end',
  async (_, unfinished, backend) => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 5000, max: 5000 } })],
      defaults: { provider: 'sim', model: 'sim-fast' },
      ...backend(),
    });
    runtimes.push(runtime);
    await runtime.ready;
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'long' }] });
    const seen: SessionEvent[] = [];
    const reading = (async () => {
      for await (const event of handle.events) seen.push(event);
    })();
    await expect.poll(() => runtime.session(handle.id)?.state, { timeout: 3000 }).toBe('running');
    await runtime.shutdown({ deadlineMs: 200, unfinished });
    const result = await handle.result;
    await reading;
    expect(result.ok).toBe(false);
    const types = seen.map((e) => e.type);
    expect(types.at(-1)).toBe('session.ended');
    expect(types.filter((t) => t === 'session.ended')).toHaveLength(1);
    const ended = seen.at(-1) as Extract<SessionEvent, { type: 'session.ended' }>;
    expect(ended.result.ok ? 'ok' : ended.result.error.code).toBe(result.ok ? 'ok' : result.error.code);
  },
);
