/**
 * Drives a load plan through a runtime in this process: submits every session (at once, or at
 * `ratePerSec`), cancels the ones planned to be cancelled, and records each result and each
 * `session.ended` the runtime reports, so the report can check that every session ended once.
 */
import type { Runtime, SessionHandle } from '../runtime/types.js';
import type { LoadItem } from './load-plan.js';
import { LoadRecorder } from './load-report.js';

export interface RunLoadOptions {
  /** Sessions submitted per second; 0 submits all at once. @default 0 */
  readonly ratePerSec?: number;
  /** Label on every session (the dashboard's "tool" column). @default 'demo' */
  readonly label?: string;
}

export interface LoadRun {
  readonly recorder: LoadRecorder;
  /** Resolves when every session has ended. */
  readonly finished: Promise<void>;
  /** Submits no more sessions (an interrupted run); those already submitted run on. */
  stop(): void;
}

export function runLoad(runtime: Runtime, plan: readonly LoadItem[], options: RunLoadOptions = {}): LoadRun {
  const recorder = new LoadRecorder(plan.length);
  const label = options.label ?? 'demo';
  const ours = new Set<string>();
  const unsubscribe = runtime.subscribe((event) => {
    if (event.type === 'session.ended' && ours.has(event.sessionId)) recorder.ended(event.sessionId);
  });
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const results: Promise<void>[] = [];

  const submit = (item: LoadItem): void => {
    let handle: SessionHandle;
    try {
      handle = runtime.submit(
        {
          model: item.model,
          stream: item.stream,
          messages: [{ role: 'user', content: `${item.kind} request #${item.index}` }],
          extra: item.extra,
        },
        {
          priority: item.priority,
          label,
          ...(item.timeoutMs === undefined ? {} : { timeoutMs: item.timeoutMs }),
        },
      );
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      recorder.record({
        index: item.index,
        state: 'failed',
        code: typeof code === 'string' ? code : 'REJECTED',
        kind: item.kind,
        expected: item.expected,
      });
      return;
    }
    ours.add(handle.id);
    if (item.cancelAfterMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        handle.cancel('cancelled by the load driver');
      }, item.cancelAfterMs);
      timers.add(timer);
    }
    results.push(
      handle.result.then((result) => {
        const m = result.metadata;
        recorder.record({
          index: item.index,
          state: m.state,
          sessionId: m.sessionId,
          queuedMs: m.queuedMs,
          runMs: m.runMs,
          kind: item.kind,
          expected: item.expected,
          ...(m.code === undefined ? {} : { code: m.code }),
        });
      }),
    );
  };

  let stopped = false;
  const rate = options.ratePerSec ?? 0;
  const submitted =
    rate <= 0
      ? Promise.resolve(plan.forEach(submit))
      : new Promise<void>((resolve) => {
          let next = 0;
          const startedAt = performance.now();
          const tick = (): void => {
            const due = Math.min(
              plan.length,
              Math.floor(((performance.now() - startedAt) / 1000) * rate) + 1,
            );
            while (next < due && !stopped) submit(plan[next++]!);
            if (next >= plan.length || stopped) resolve();
            else setTimeout(tick, Math.max(5, Math.min(100, 1000 / rate)));
          };
          tick();
        });
  const finished = submitted
    .then(() => Promise.all(results))
    .then(() => {
      for (const timer of timers) clearTimeout(timer);
      unsubscribe();
    });
  return {
    recorder,
    finished,
    stop: () => {
      stopped = true;
    },
  };
}
