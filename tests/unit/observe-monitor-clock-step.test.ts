/**
 * The dashboard monitor's once-a-bucket look for ends it never heard (`#reconcile`) when the wall
 * clock steps (NTP, someone setting the date): it is paced on the steady clock. Real timers;
 * `Date.now` is stepped an hour (`tests/support/wall-step.ts`). Until 2026-12-08 it read
 * `Date.now()`: set back an hour, the monitor showed a session whose end the bus lost as live for
 * that hour; set forward, it looked at once, within the bucket.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { RuntimeMonitor } from '../../src/observe/monitor.js';
import type { Runtime, RuntimeEvent } from '../../src/runtime/types.js';
import { HOUR, steppable, wall } from '../support/wall-step.js';

afterEach(() => {
  vi.restoreAllMocks();
  wall.stepMs = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const BUCKET_MS = 300;

/** A monitor on a runtime whose session `a` is queued; `lose()` forgets it, as an end the bus lost. */
/** A runtime the monitor reads: `known` its sessions, `emit` its bus. */
function fakeRuntime(known = new Map<string, { state: string }>()) {
  let listener: ((event: RuntimeEvent) => void) | undefined;
  const runtime = {
    subscribe(fn: (event: RuntimeEvent) => void) {
      listener = fn;
      return () => {
        listener = undefined;
      };
    },
    status: () => ({}),
    sessions: () => [],
    session: (id: string) => known.get(id),
  } as unknown as Runtime;
  return { runtime, emit: (event: RuntimeEvent) => listener?.(event) };
}

function watching() {
  const known = new Map<string, { state: string }>([['a', { state: 'queued' }]]);
  const { runtime, emit } = fakeRuntime(known);
  steppable();
  const monitor = new RuntimeMonitor(runtime, { bucketMs: BUCKET_MS });
  emit({ type: 'session.queued', sessionId: 'a', at: Date.now() } as RuntimeEvent);
  // The first snapshot looks at once; the next look is a bucket later.
  expect(monitor.snapshot().counts.queued).toBe(1);
  return { monitor, lose: () => known.delete('a') };
}

it('still drops a session whose end it never heard a bucket later when the date is set back an hour', async () => {
  const { monitor, lose } = watching();
  lose();
  wall.stepMs = -HOUR;
  await sleep(BUCKET_MS + 100);
  expect(monitor.snapshot().counts.queued).toBe(0);
  monitor.close();
});

it('looks no sooner than a bucket later when the date is set forward an hour', async () => {
  const { monitor, lose } = watching();
  lose();
  wall.stepMs = HOUR;
  expect(monitor.snapshot().counts.queued).toBe(1);
  await sleep(BUCKET_MS + 100);
  expect(monitor.snapshot().counts.queued).toBe(0);
  monitor.close();
});

it('keeps no bucket of a date set back from, so the ends before the step no longer count', () => {
  const { runtime, emit } = fakeRuntime();
  const T = 1_800_000_000_000;
  let now = T;
  const monitor = new RuntimeMonitor(runtime, { bucketMs: 10_000, now: () => now });
  const end = (sessionId: string) =>
    emit({
      type: 'session.ended',
      sessionId,
      at: now,
      result: { ok: true, metadata: { state: 'done', runMs: 5, queuedMs: 1 } },
    } as unknown as RuntimeEvent);
  const endedInSeries = () => monitor.snapshot().series.reduce((sum, p) => sum + p.ended, 0);
  for (const id of ['a', 'b', 'c']) end(id);
  expect(endedInSeries()).toBe(3);
  // Set back an hour, a session ends: its bucket is the newest, and the one an hour ahead goes.
  now = T - HOUR;
  end('d');
  expect(endedInSeries()).toBe(1);
  // Set forward again: had the bucket an hour ahead been kept (it was, for the hour, until
  // 2026-12-08, one more for each bucket of the step), its three ends would show again.
  now = T + 1;
  expect(endedInSeries()).toBe(0);
  monitor.close();
});
