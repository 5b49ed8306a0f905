import { describe, expect, it } from 'vitest';
import { type InspectionEvent, SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { sampler } from '../../../src/runtime/session-inspection.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

type Seen = { type: string; sessionId: string; event?: string; value?: unknown; status?: string };

/** A success, a retried failure, a cancel and a queued session admitted later; what `inspect` saw. */
async function scenario(engine: 'compiled' | 'xstate', inspectSampleRate?: number) {
  const provider = new ScriptedProvider('p');
  const clock = new SimulatedClock();
  const seen: InspectionEvent[] = [];
  const runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { model: 'm', backoffBaseMs: 100, queueTimeoutMs: 500 },
    limits: { maxConcurrent: 2 },
    random: () => 0.5,
    engine,
    inspect: (event) => seen.push(event),
    ...(inspectSampleRate === undefined ? {} : { inspectSampleRate }),
  });
  const handles = [runtime.submit(ask), runtime.submit(ask), runtime.submit(ask), runtime.submit(ask)];
  const [first, second] = provider.pending();
  first!.settle('ok');
  second!.settle('retryable');
  await flush();
  handles[2]!.cancel('changed my mind');
  clock.increment(60);
  await flush();
  for (const call of provider.pending()) call.settle('ok');
  await flush();
  clock.increment(1_000);
  await Promise.all(handles.map((h) => h.result));
  await runtime.shutdown();
  return { seen, ids: handles.map((h) => h.id) };
}

/** The snapshots each session went through, in order, keyed by position of the session. */
function snapshotsBySession(seen: readonly InspectionEvent[], key: (e: InspectionEvent) => string) {
  const bySession = new Map<string, string[]>();
  for (const event of seen) {
    if (event.type !== '@xstate.snapshot') continue;
    const snapshot = event.snapshot as unknown as { value: unknown; status: string };
    const id = key(event);
    bySession.set(id, [
      ...(bySession.get(id) ?? []),
      `${event.event.type}->${JSON.stringify(snapshot.value)}:${snapshot.status}`,
    ]);
  }
  return bySession;
}

describe('session inspection', () => {
  it('the compiled engine reports each session as XState inspection events: actor, events, snapshots', async () => {
    const { seen, ids } = await scenario('compiled');
    const actors = seen.filter((e) => e.type === '@xstate.actor');
    // One registration per session, under the session's own id, with the machine to draw.
    expect(actors.map((e) => e.actorRef.sessionId).sort()).toEqual([...ids].sort());
    for (const actor of actors)
      expect((actor.actorRef as unknown as { logic: { id: string } }).logic.id).toBe('session');
    const first = seen.filter((e) => e.actorRef.sessionId === ids[0]).map((e) => summary(e));
    expect(first[0]).toEqual({ type: '@xstate.actor', sessionId: ids[0] });
    expect(first[1]).toEqual({ type: '@xstate.event', sessionId: ids[0], event: 'xstate.init' });
    expect(first[2]).toMatchObject({
      type: '@xstate.snapshot',
      event: 'xstate.init',
      value: 'queued',
      status: 'active',
    });
    expect(first.at(-1)).toMatchObject({ type: '@xstate.snapshot', value: 'done', status: 'done' });
    // Every event is followed by the snapshot after it.
    const kinds = first.slice(1).map((e) => e.type);
    for (let i = 0; i < kinds.length; i += 2)
      expect(kinds.slice(i, i + 2)).toEqual(['@xstate.event', '@xstate.snapshot']);
  });

  it('the compiled engine reports the same snapshots, in the same order, as XState actors', async () => {
    const compiled = await scenario('compiled');
    const xstate = await scenario('xstate');
    // XState names its actors itself; the session behind an actor is in its context.
    const bySessionInput = (e: InspectionEvent) =>
      (e.actorRef.getSnapshot() as { context: { input: { sessionId: string } } }).context.input.sessionId;
    const a = snapshotsBySession(compiled.seen, (e) => e.actorRef.sessionId);
    const b = snapshotsBySession(xstate.seen, bySessionInput);
    expect(compiled.ids.map((id) => a.get(id))).toEqual(xstate.ids.map((id) => b.get(id)));
    expect(a.get(compiled.ids[1] as string)).toContain('provider.error->{"running":"backingOff"}:active');
  });

  it.each(['compiled', 'xstate'] as const)(
    'inspectSampleRate picks that share of sessions, each one whole (%s)',
    async (engine) => {
      const { seen, ids } = await scenario(engine, 0.5);
      const actors = seen.filter((e) => e.type === '@xstate.actor');
      expect(actors).toHaveLength(2);
      const sessionOf = (e: InspectionEvent) =>
        (e.actorRef.getSnapshot() as { context: { input: { sessionId: string } } }).context.input.sessionId;
      // Every second session, from its start to its end.
      expect([...new Set(seen.map(sessionOf))]).toEqual([ids[1], ids[3]]);
      const finals = seen.filter(
        (e) => e.type === '@xstate.snapshot' && (e.snapshot as { status: string }).status === 'done',
      );
      expect(finals.map(sessionOf)).toEqual([ids[1], ids[3]]);
    },
  );

  it('an observer that throws goes to onError; the session does not notice', async () => {
    const provider = new ScriptedProvider('p');
    const errors: unknown[] = [];
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      inspect: () => {
        throw new Error('observer broke');
      },
      onError: (error) => errors.push(error),
    });
    const handle = runtime.submit(ask);
    await flush();
    provider.pending()[0]!.settle('ok');
    const result = await handle.result;
    expect(result.metadata.state).toBe('done');
    expect(errors.length).toBeGreaterThan(3);
    expect((errors[0] as Error).message).toBe('observer broke');
    await runtime.shutdown();
  });

  it('sampler spreads a rate evenly', () => {
    const pick = (rate: number, n: number) => {
      const next = sampler(rate);
      return Array.from({ length: n }, () => next());
    };
    expect(pick(0.25, 8)).toEqual([false, false, false, true, false, false, false, true]);
    expect(pick(1, 3)).toEqual([true, true, true]);
    expect(pick(0.1, 100).filter(Boolean)).toHaveLength(10);
  });
});

function summary(e: InspectionEvent): Seen {
  const base = { type: e.type, sessionId: e.actorRef.sessionId };
  if (e.type === '@xstate.event') return { ...base, event: e.event.type };
  if (e.type === '@xstate.snapshot') {
    const s = e.snapshot as unknown as { value: unknown; status: string };
    return { ...base, event: e.event.type, value: s.value, status: s.status };
  }
  return base;
}
