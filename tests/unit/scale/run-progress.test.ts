/**
 * What a session run at an instance of a cluster writes when its wait at its gate changes
 * (`RunProgress`, src/scale/run-progress.ts), driven directly with a fake local runtime and store.
 * The local runtime tells of each change as it happens (`LocalRuntime.onWaiting`); the summary is
 * read a microtask later, once what the change set off has run. Told twice in one turn (a retry
 * refused past its run deadline: held, then moved on to its fallback at once, `markHeldReroute`),
 * or told after a write that already carried the wait (its attempt's `session.started`), the summary
 * it reads is the one last written: nothing more is written. Without that check each such change
 * was a write of a summary every instance already had (found when a plant of it stayed green in
 * tests/scale/held-retry-waiting.test.ts, whose sessions never take that path). And what a hop
 * writes before it moves to its target's queue (`moving`): held by `maxConcurrent` when the cluster
 * shows that target's `perProvider` slots all taken by other running sessions, else nothing
 * (through every backend: tests/scale/moved-hop-waiting.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import type { Lease } from '../../../src/runtime/ports.js';
import type { RuntimeEvent, SessionSummary, WaitingFor } from '../../../src/runtime/types.js';
import { type Leased, type LeaseRunnerSettings, leasedEntry } from '../../../src/scale/lease-settings.js';
import { RunProgress } from '../../../src/scale/run-progress.js';

const ID = 's1';

function progress(
  live: SessionSummary[] = [],
  perProvider: Record<string, number> = {},
  /** The bus's publish; given, failures are collected in `errors` rather than thrown. */
  publish?: () => Promise<void>,
) {
  let summary: SessionSummary = {
    sessionId: ID,
    state: 'running',
    provider: 'p',
    model: 'm',
    attempts: 1,
  } as SessionSummary;
  const writes: string[] = [];
  const errors: string[] = [];
  const reportErrors = publish !== undefined;
  let onEvent = (_event: RuntimeEvent) => {};
  let onWaiting = (_id: string) => {};
  const run = { attempts: 1, startedAt: 0, runDeadlineAt: 60_000 };
  const settings = {
    local: {
      subscribe: (listener: (event: RuntimeEvent) => void) => {
        onEvent = listener;
      },
      onWaiting: (listener: (id: string) => void) => {
        onWaiting = listener;
      },
      session: () => summary,
      runRecord: () => run,
    },
    store: {
      putSummary: (s: SessionSummary) => {
        writes.push(`summary ${s.waitingFor ?? '-'}`);
        return Promise.resolve();
      },
      putRunning: (s: SessionSummary, event: RuntimeEvent) => {
        writes.push(`${event.type} ${s.waitingFor ?? '-'}`);
        return Promise.resolve();
      },
      liveSessions: () => live,
    },
    limits: { perProvider },
    bus: { publish: publish ?? (() => Promise.resolve()) },
    clock: systemClock,
    onError: (error: unknown) => {
      if (!reportErrors) throw error;
      errors.push(error instanceof Error ? error.message : String(error));
    },
  } as unknown as LeaseRunnerSettings;
  const lease = {
    provider: 'p',
    session: { input: { sessionId: ID, timeoutMs: 60_000 } },
  } as unknown as Lease;
  const leased = new Map<string, Leased>([[ID, leasedEntry(lease, Promise.resolve())]]);
  const runProgress = new RunProgress(leased, settings, () => {});
  return {
    writes,
    progress: runProgress,
    /** The local runtime's summary now says `waitingFor` (none: `undefined`). */
    waits(waitingFor: WaitingFor | undefined) {
      const { waitingFor: _was, ...rest } = summary;
      summary = waitingFor === undefined ? rest : { ...rest, waitingFor };
    },
    tell: () => onWaiting(ID),
    started: () => onEvent({ type: 'session.started', sessionId: ID, attempt: 1, at: 0, provider: 'p' }),
    delta: () =>
      onEvent({
        type: 'session.delta',
        sessionId: ID,
        delta: { type: 'content', text: 'x' },
        chars: 1,
        at: 0,
        provider: 'p',
      }),
    errors,
    settled: () => new Promise<void>((resolve) => setImmediate(resolve)),
    summary: () => summary,
  };
}

const on = (sessionId: string, provider: string, state: SessionSummary['state'] = 'running') =>
  ({ sessionId, provider, model: 'm', state, attempts: 1 }) as SessionSummary;

describe('what a session run at an instance writes when its wait at its gate changes', () => {
  it('writes its summary once when held and once when let go', async () => {
    const run = progress();
    run.started();
    await run.settled();
    run.waits('cooldown');
    run.tell();
    await run.settled();
    run.waits(undefined);
    run.tell();
    await run.settled();
    expect(run.writes).toEqual(['session.started -', 'summary cooldown', 'summary -']);
  });

  it('writes nothing when held and let go in one turn, its summary the one last written', async () => {
    const run = progress();
    run.started();
    await run.settled();
    // A retry refused past its run deadline: held, then moved on at once; both read the summary after.
    run.waits('cooldown');
    run.tell();
    run.waits(undefined);
    run.tell();
    await run.settled();
    expect(run.writes).toEqual(['session.started -']);
  });

  it('writes nothing more when told of a wait its last write already carried', async () => {
    const run = progress();
    run.waits('cooldown');
    run.started();
    run.tell();
    await run.settled();
    expect(run.writes).toEqual(['session.started cooldown']);
    // Told twice of one change, the second read finds it written.
    run.waits('requestsPerMinute');
    run.tell();
    run.tell();
    await run.settled();
    expect(run.writes).toEqual(['session.started cooldown', 'summary requestsPerMinute']);
  });
});

describe('what a hop that moves to another provider’s queue writes before it moves', () => {
  it('its summary held by maxConcurrent when the cluster shows that provider’s perProvider slots all taken by others', async () => {
    const run = progress([on('a', 'q'), on('b', 'q'), on(ID, 'q')], { q: 2 });
    await run.progress.moving({ ...run.summary(), provider: 'q' }, 'q');
    expect(run.writes).toEqual(['summary maxConcurrent']);
  });

  it('nothing while a slot is free (itself, queued sessions and other providers’ not counted), nor without a perProvider', async () => {
    const live = [on('a', 'q'), on(ID, 'q'), on('c', 'q', 'queued'), on('d', 'p')];
    const room = progress(live, { q: 2, p: 1 });
    await room.progress.moving({ ...room.summary(), provider: 'q' }, 'q');
    const unbounded = progress([on('a', 'q'), on('b', 'q')], { p: 1 });
    await unbounded.progress.moving({ ...unbounded.summary(), provider: 'q' }, 'q');
    expect([...room.writes, ...unbounded.writes]).toEqual([]);
  });
});

describe('the deltas of a session run here while Redis is away', () => {
  // Each delta is one publish: a task's answer streamed while Redis was down logged one error line
  // per delta, 46 lines in 85 ms for a short simulated answer, each saying only "Stream isn't
  // writeable" (found by the two-instance attack pass of 2026-12-07).
  it('are reported once, naming what failed, until one goes out again', async () => {
    let up = false;
    const down = () => (up ? Promise.resolve() : Promise.reject(new Error("Stream isn't writeable")));
    const run = progress([], {}, down);
    run.started();
    await run.settled();
    for (let i = 0; i < 50; i++) run.delta();
    await run.settled();
    expect(run.errors).toEqual([
      "Expected Redis to carry the deltas of sessions run here to the other instances, got Stream isn't writeable; said once until one goes out",
    ]);
    up = true;
    run.delta();
    await run.settled();
    up = false;
    run.delta();
    run.delta();
    await run.settled();
    expect(run.errors).toHaveLength(2);
  });
});
