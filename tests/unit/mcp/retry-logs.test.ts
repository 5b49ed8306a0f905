/**
 * Retries reach the waiting call's client log through one runtime subscription (`retry-logs.ts`),
 * and a call's registration ends with its session: nothing is kept per finished call.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createMcpContext } from '../../../src/mcp/context.js';
import { runSession } from '../../../src/mcp/run-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup() {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({ providers: [provider], clock, defaults: { model: 'm' }, random: () => 0 });
  const mcp = createMcpContext({ runtime, log: () => {} });
  return { clock, provider, runtime, mcp };
}

describe('retry logs', () => {
  it('sends each retry of a call’s session to that call’s log, then forgets the call', async () => {
    const { clock, provider, mcp } = setup();
    const logged: { level: string; data: Record<string, unknown> }[] = [];
    const other: unknown[] = [];
    const signal = new AbortController().signal;
    const mine = runSession(
      mcp,
      { signal, log: (level, data) => logged.push({ level, data }) },
      ask,
      'chat',
      {},
    );
    const theirs = runSession(mcp, { signal, log: (_level, data) => other.push(data) }, ask, 'chat', {});
    await flush();
    expect(mcp.retryLogs.size).toBe(2);
    provider.pending()[0]!.settle('retryable');
    await flush();
    clock.increment(1);
    await flush();
    for (const call of provider.pending()) call.settle('ok');
    const [outcome] = await Promise.all([mine, theirs]);
    expect(outcome).toMatchObject({ kind: 'ended', result: { ok: true, metadata: { attempts: 2 } } });
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe('warning');
    expect(logged[0]?.data).toMatchObject({ attempt: 2 });
    expect(String(logged[0]?.data.message)).toMatch(/retrying in \d+ ms as attempt 2/);
    expect(other, 'the other call retried nothing').toEqual([]);
    expect(mcp.retryLogs.size, 'ended calls are forgotten').toBe(0);
    mcp.close();
  });

  it('keeps nothing for a call without a log, nor for one refused at admission', async () => {
    const { provider, runtime, mcp } = setup();
    const signal = new AbortController().signal;
    const plain = runSession(mcp, { signal }, ask, 'chat', {});
    await flush();
    expect(mcp.retryLogs.size).toBe(0);
    provider.pending()[0]!.settle('ok');
    await plain;
    await runtime.shutdown({ deadlineMs: 0 });
    const refused = await runSession(mcp, { signal, log: () => {} }, ask, 'chat', {});
    expect(refused.kind).toBe('refused');
    expect(mcp.retryLogs.size).toBe(0);
    mcp.close();
  });
});
