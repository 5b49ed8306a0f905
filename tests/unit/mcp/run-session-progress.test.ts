/**
 * A call's progress ends with its sessions: `runSession` and `runSessions` stop their reporter when
 * the result is in, so no heartbeat follows the answer. Over HTTP one would find no stream to go on
 * (the SDK's transport refuses it), so no client could tell: this is where it shows.
 */
import { describe, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { runSession, runSessions } from '../../../src/mcp/run-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup() {
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({ providers: [provider], defaults: { model: 'm' } });
  // A heartbeat every 20 ms: one that outlived its call would come within the wait below.
  const mcp = createMcpContext({ runtime, log: () => {}, progressIntervalMs: 20 });
  return { provider, runtime, mcp };
}

describe('progress after the result', () => {
  it('stops with one session’s end: no heartbeat after the answer', async () => {
    const { provider, runtime, mcp } = setup();
    const sent: string[] = [];
    const progress = async (_: number, message: string) => void sent.push(message);
    const call = runSession(mcp, { signal: new AbortController().signal, progress }, ask, 'chat', {});
    await flush();
    await sleep(60);
    for (const pending of provider.pending()) pending.settle('ok');
    expect(await call).toMatchObject({ kind: 'ended', result: { ok: true } });
    const atAnswer = sent.length;
    expect(atAnswer, 'heartbeats came while it ran').toBeGreaterThanOrEqual(2);
    await sleep(100);
    expect(sent).toHaveLength(atAnswer);
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('stops with the last of several sessions’ ends (consensus)', async () => {
    const { provider, runtime, mcp } = setup();
    const sent: string[] = [];
    const progress = async (_: number, message: string) => void sent.push(message);
    const call = runSessions(
      mcp,
      { signal: new AbortController().signal, progress },
      [ask, ask],
      'consensus',
      {},
    );
    await flush();
    await sleep(60);
    for (const pending of provider.pending()) pending.settle('ok');
    const outcomes = await call;
    expect(outcomes.map((o) => o.kind)).toEqual(['ended', 'ended']);
    const atAnswer = sent.length;
    expect(atAnswer).toBeGreaterThanOrEqual(2);
    await sleep(100);
    expect(sent).toHaveLength(atAnswer);
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
