/**
 * `limitsHold` and lent slots (`SubmitOptions.parent`): a session whose `session.started` names its
 * lender (`lentBy`) runs on that session's slot, not on one of `maxConcurrent`'s (docs/runtime.md,
 * "A session within a session"). First the observer alone, on event sequences a runtime with a
 * planted lending bug would emit; then a real runtime under random nested workloads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { providerError } from '../../../src/core/errors.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionHandle } from '../../../src/runtime/types.js';
import type { ObservedLimits } from '../../../src/testing/invariants.js';
import { RuntimeObserver } from '../../../src/testing/invariants.js';
import { fedObserver } from '../../support/fed-observer.js';

/**
 * An observer (`maxConcurrent: 1` unless given), fed events by `ev`, with each session's caller in
 * `owners`; `broken()` lists the breaches' details so far.
 */
function observed(limits: Partial<ObservedLimits> = {}, owners: Readonly<Record<string, string>> = {}) {
  const { observer, ev } = fedObserver(
    { maxConcurrent: 1, fairnessEvery: 1000, perProvider: {}, historySize: 0, ...limits },
    owners,
  );
  const queue = (...ids: string[]) => {
    for (const id of ids) ev({ type: 'session.queued', sessionId: id, provider: 'p', position: 0 });
  };
  const start = (id: string, lentBy?: string, attempt = 1) =>
    ev({ type: 'session.started', sessionId: id, attempt, ...(lentBy === undefined ? {} : { lentBy }) });
  const end = (id: string) =>
    ev({
      type: 'session.ended',
      sessionId: id,
      result: { ok: true, content: '', metadata: { state: 'done', runMs: 0, provider: 'p', model: 'm' } },
    });
  const broken = () => observer.violations.map((v) => `${v.invariant}: ${v.detail}`);
  return { queue, start, end, broken };
}

describe('limitsHold on lent slots, the observer alone', () => {
  it('lets a child run on its running parent’s slot, one after another, and counts none of them', () => {
    const { queue, start, end, broken } = observed();
    queue('p', 'c1', 'c2');
    start('p');
    start('c1', 'p');
    start('c1', 'p', 2);
    end('c1');
    start('c2', 'p');
    end('c2');
    end('p');
    expect(broken()).toEqual([]);
  });

  it('counts the same starts without `lentBy` as two sessions on one slot', () => {
    const { queue, start, broken } = observed();
    queue('p', 'c1');
    start('p');
    start('c1');
    expect(broken()).toEqual([expect.stringMatching(/^limitsHold: 2 sessions ran at once, limit 1/)]);
  });

  it('flags a second child on a slot already lent', () => {
    const { queue, start, broken } = observed();
    queue('p', 'c1', 'c2');
    start('p');
    start('c1', 'p');
    start('c2', 'p');
    expect(broken()).toEqual([
      'limitsHold: session c2 started on the slot of p, which c1 ran on already',
      expect.stringMatching(/^limitsHold: 2 sessions ran at once, limit 1/),
    ]);
  });

  it('flags a slot lent by a session that holds none: still queued, ended, or unknown', () => {
    const { queue, start, end, broken } = observed();
    queue('p', 'c1', 'q', 'c2', 'c3');
    start('c1', 'p');
    end('c1');
    start('q');
    end('q');
    end('p');
    start('c2', 'p');
    end('c2');
    start('c3', 'nobody');
    expect(broken()).toEqual([
      'limitsHold: session c1 started on the slot of p, which held none',
      'limitsHold: session c2 started on the slot of p, which held none',
      'limitsHold: session c3 started on the slot of nobody, which held none',
    ]);
  });

  it('leaves the slot to the child on it when its lender ends first: the child counts, and names no lender again', () => {
    const { queue, start, end, broken } = observed();
    queue('p', 'c', 'q');
    start('p');
    start('c', 'p');
    end('p');
    start('c', undefined, 2);
    expect(broken()).toEqual([]);
    start('q');
    expect(broken()).toEqual([
      expect.stringMatching(/^limitsHold: 2 sessions ran at once, limit 1 \(c on p/),
    ]);
  });

  it('flags a later start that names a lender other than the one it runs on', () => {
    const { queue, start, end, broken } = observed();
    queue('p', 'c');
    start('p');
    start('c', 'p');
    end('p');
    start('c', 'p', 2);
    expect(broken()).toEqual([
      'limitsHold: session c started again on the slot of p, running on a slot of its own',
    ]);
  });

  it('passes a lent slot on to the grandchild on it when the child between them ends first', () => {
    const { queue, start, end, broken } = observed();
    queue('p', 'c', 'g', 'd');
    start('p');
    start('c', 'p');
    start('g', 'c');
    end('c');
    // g runs on p's slot now, from p.
    start('g', 'p', 2);
    expect(broken()).toEqual([]);
    start('d', 'p');
    expect(broken()).toEqual([
      'limitsHold: session d started on the slot of p, which g ran on already',
      expect.any(String),
    ]);
  });
});

describe('runningShare on lent slots, the observer alone', () => {
  /** Three slots, a share of one; p, c and q are alice's, b and d bob's. */
  function shared() {
    const owners = { p: 'alice', c: 'alice', q: 'alice', b: 'bob', d: 'bob' };
    const fed = observed({ maxConcurrent: 3, maxRunningPerCaller: 1 }, owners);
    fed.queue(...Object.keys(owners));
    return fed;
  }

  it('runs a child of its lender’s caller in its lender’s place, and gives the place back once', () => {
    const { start, end, broken } = shared();
    start('p');
    start('c', 'p');
    end('c');
    end('p');
    start('q');
    expect(broken()).toEqual([]);
  });

  it('counts a session once in its caller’s share, however many attempts it starts', () => {
    const { start, end, broken } = shared();
    start('p');
    start('p', undefined, 2);
    end('p');
    start('q');
    expect(broken()).toEqual([]);
  });

  it('leaves its lender’s place to the child on its slot when the lender ends first', () => {
    const { start, end, broken } = shared();
    start('p');
    start('c', 'p');
    end('p');
    // c holds alice's one place now: another of hers may not start.
    start('q');
    expect(broken()).toEqual([
      expect.stringMatching(/^runningShare: 2 sessions of alice running at once \(q /),
    ]);
  });

  it('gives a child of another caller a place of its own', () => {
    const { start, broken } = shared();
    start('p');
    start('b', 'p');
    start('d');
    expect(broken()).toEqual([
      expect.stringMatching(/^runningShare: 2 sessions of bob running at once \(d /),
    ]);
  });
});

/** The cooldown a `429` asks for: past a model call's run deadline (`CHAT`), so it hops at once. */
const COOLDOWN_MS = 300;
/** A model call's deadlines: queued ones a cooldown holds past theirs move on (`reroutes`), on a lent slot too. */
const CHAT = { queueTimeoutMs: 150, timeoutMs: 250 } as const;

/**
 * A provider that answers each call after 0 to 3 ms, or when its signal aborts; `failing`: a call
 * whose message says `503` or `429` fails so (the 429 asks for `COOLDOWN_MS`).
 */
const quick = (name: string, failing = false): ChatProvider =>
  ({
    name,
    complete: (request: { messages: readonly { content: string }[] }, { signal }: { signal: AbortSignal }) =>
      new Promise((resolve, reject) => {
        const says = request.messages[0]?.content;
        const answer = () => {
          if (failing && says === '503')
            reject(providerError('PROVIDER_UNAVAILABLE', 'Expected a completion, got 503', { status: 503 }));
          else if (failing && says === '429')
            reject(
              providerError('RATE_LIMITED', 'Expected a completion, got 429', {
                status: 429,
                retryAfterMs: COOLDOWN_MS,
              }),
            );
          else resolve({ content: 'ok' } as never);
        };
        const timer = setTimeout(answer, Math.floor(Math.random() * 4));
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      }),
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  }) as unknown as ChatProvider;

/** A task's work: model calls and tasks within it, each awaited or left running when it returns. */
interface Work {
  /** Its caller (`metadata.owner`), and its model calls'; the tasks within it have their own. */
  readonly owner: string | undefined;
  readonly calls: number;
  /** How its model calls' first target answers, in runs whose calls name a fallback: a 503 or a 429 makes them hop. */
  readonly fails: '503' | '429' | undefined;
  readonly within: readonly Work[];
  readonly awaits: boolean;
  readonly runMs: number | undefined;
  /** Cancelled after this many ms (a parent that ends first by its caller's hand). */
  readonly cancelMs: number | undefined;
}
const work: fc.Arbitrary<Work> = fc.letrec<{ work: Work }>((tie) => ({
  work: fc.record({
    owner: fc.constantFrom(undefined, 'alice', 'bob'),
    calls: fc.integer({ min: 0, max: 3 }),
    fails: fc.constantFrom(undefined, '503', '429'),
    within: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant([]),
      fc.array(tie('work'), { maxLength: 2 }),
    ),
    awaits: fc.boolean(),
    // Some tasks time out while their children run, some are cancelled.
    runMs: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    cancelMs: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  }),
})).work;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How many of `count` tasks that wait for their cancel start at once (of `owner`, or of none): a
 * slot or a caller's place lent, kept or given back twice or never shows here.
 */
async function startAtOnce(runtime: Runtime, count: number, owner?: string): Promise<number> {
  let running = 0;
  const held = Array.from({ length: count }, () =>
    runtime.run(
      ({ signal }) => {
        running++;
        return new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      },
      { lane: 'probe', ...(owner === undefined ? {} : { metadata: { owner } }) },
    ),
  );
  for (let waited = 0; running < count - 1 && waited < 200; waited += 5) await sleep(5);
  await sleep(10);
  const seen = running;
  for (const handle of held) handle.cancel();
  await Promise.all(held.map((handle) => handle.result));
  return seen;
}

describe('limitsHold on lent slots, a runtime under random nested work', () => {
  it('holds for tasks that ask models and run tasks within themselves, of several callers, awaited, left, timed out or cancelled', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
        // The model calls' own lane limit in some runs: a child on a lent slot stays within it.
        fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
        // A small queue in some runs: a refused child is never started, one its parent's slot takes is not refused.
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        // In some runs the model calls name a fallback (`q`), which they hop to on a lent slot too.
        fc.boolean(),
        // A window of requests a minute on `p` in some runs: a child waits for it, and times out.
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        fc.array(work, { minLength: 1, maxLength: 4 }),
        async (maxConcurrent, perCaller, callsAtOnce, maxQueued, hops, perMinute, tasks) => {
          // A share below `maxConcurrent` (one of it is none).
          const share = perCaller !== undefined && perCaller < maxConcurrent ? perCaller : undefined;
          const perProvider: Record<string, number> =
            callsAtOnce === undefined ? {} : { p: callsAtOnce, q: callsAtOnce };
          const providers = perMinute === undefined ? undefined : { p: { requestsPerMinute: perMinute } };
          const runtime = createRuntime({
            providers: [quick('p', true), quick('q')],
            defaults: { model: 'm', queueTimeoutMs: 1_000 },
            limits: {
              maxConcurrent,
              perProvider,
              ...(maxQueued === undefined ? {} : { maxQueued }),
              ...(share === undefined ? {} : { maxRunningPerCaller: share }),
              ...(providers === undefined ? {} : { providers }),
            },
          });
          const observer = new RuntimeObserver(runtime, {
            maxConcurrent,
            fairnessEvery: 1_000_000,
            perProvider,
            historySize: 1000,
            ...(providers === undefined ? {} : { providers }),
            ...(share === undefined ? {} : { maxRunningPerCaller: share }),
            ...(share === undefined
              ? {}
              : { heldByShare: (id) => runtime.session(id)?.waitingFor === 'maxRunningPerCaller' }),
          });
          const handles: SessionHandle<unknown>[] = [];
          /** `start()`, or nothing when the queue refuses it (`QUEUE_FULL`). */
          const unlessFull = (start: () => SessionHandle<unknown>): SessionHandle<unknown>[] => {
            try {
              return [start()];
            } catch (error) {
              if ((error as { code?: string }).code !== 'QUEUE_FULL') throw error;
              return [];
            }
          };
          const submit = (w: Work, parent?: string): SessionHandle<unknown> => {
            const metadata = w.owner === undefined ? {} : { metadata: { owner: w.owner } };
            const handle = runtime.run(
              async ({ sessionId }) => {
                await sleep(1);
                const children: SessionHandle<unknown>[] = [];
                for (let i = 0; i < w.calls; i++)
                  children.push(
                    ...unlessFull(() =>
                      runtime.submit(
                        {
                          messages: [{ role: 'user', content: hops ? (w.fails ?? 'x') : 'x' }],
                          provider: 'p',
                          ...(hops ? { fallbacks: [{ provider: 'q', model: 'm' }] } : {}),
                        },
                        { parent: sessionId, ...metadata, ...CHAT },
                      ),
                    ),
                  );
                for (const inner of w.within) children.push(...unlessFull(() => submit(inner, sessionId)));
                handles.push(...children);
                if (w.awaits) await Promise.all(children.map((child) => child.result));
                return 'ok';
              },
              {
                lane: 'tools',
                ...metadata,
                ...(parent === undefined ? {} : { parent }),
                ...(w.runMs === undefined ? {} : { timeoutMs: w.runMs }),
              },
            );
            if (w.cancelMs !== undefined) setTimeout(() => handle.cancel('by its caller'), w.cancelMs);
            return handle;
          };
          for (const w of tasks) handles.push(...unlessFull(() => submit(w)));
          // Every session ends: children left running end on their own, their parents' or not.
          for (let settled = 0; settled < handles.length; ) {
            const batch = handles.slice(settled);
            settled = handles.length;
            await Promise.all(batch.map((handle) => handle.result));
          }
          expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
          // Every slot and every place is back: as many start as the limits allow, no more, no fewer.
          expect(await startAtOnce(runtime, maxConcurrent + 1)).toBe(maxConcurrent);
          if (share !== undefined) expect(await startAtOnce(runtime, share + 1, 'alice')).toBe(share);
          await runtime.shutdown({ deadlineMs: 1000 });
          observer.unsubscribe();
          expect(observer.checkEnd([])).toEqual([]);
        },
      ),
      // A leak holds sessions until their queue deadlines: shrinking it stops in time to report it.
      { numRuns: 40, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true },
    );
  });
});
