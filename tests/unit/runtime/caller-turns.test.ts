/**
 * Callers keep taking turns while the queue stays busy: depths count from the floor (the lowest
 * depth waiting at a priority), so a caller that keeps one call waiting at a time, sending the next
 * as each starts, alternates with another caller's backlog. Counted from 0, each of its calls went
 * ahead of all of that backlog, which started only on fairness turns: with one slot and
 * `fairnessEvery` at 1,000, 36 of a 40-call backlog timed out in the queue while the other caller
 * started 2,900 calls. One floor for every provider at a priority keeps it so between providers when
 * `maxConcurrent` is the bound (with a floor per provider's queue, each of its calls joined a fresh
 * queue at depth 0). In-memory runtime; a cluster counts depths from 0 (its instances' floors would
 * not compare in the shared queue).
 *
 * A call ends when the test ends it, not after some milliseconds: Bob's next call is always queued
 * before the running call ends (with calls of 40 ms of real time, a loaded machine could end one
 * before Bob had sent his next, and the order came out otherwise).
 */
import { expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

/** Providers that record the order their calls start in and end a call only when told to. */
function gated() {
  const order: string[] = [];
  const running: (() => void)[] = [];
  const waiting: (() => void)[] = [];
  const provider = (name: string): ChatProvider =>
    ({
      name,
      async complete(request: { messages: readonly { content: string | null }[] }) {
        const text = String(request.messages.at(-1)?.content ?? '');
        order.push(text);
        for (const wake of waiting.splice(0)) wake();
        await new Promise<void>((end) => running.push(end));
        return { content: text };
      },
      // biome-ignore lint/correctness/useYield: not streamed here.
      async *stream() {
        throw new Error('not used');
      },
    }) as unknown as ChatProvider;
  /** Waits until `count` calls have started. */
  const started = async (count: number): Promise<void> => {
    while (order.length < count) await new Promise<void>((wake) => waiting.push(wake));
  };
  /** Ends the one running call. */
  const endRunning = (): void => {
    expect(running).toHaveLength(1);
    running.shift()?.();
  };
  return { order, provider, started, endRunning };
}

/**
 * One blocker, then Alice's backlog of four; Bob keeps one call waiting: each time his waiting call
 * starts, he sends the next. `ask(owner, text)` submits one call; every call is ended in turn.
 */
async function drive(g: ReturnType<typeof gated>, ask: (owner: string, text: string) => Promise<unknown>) {
  const calls = [ask('blocker', 'first')];
  await g.started(1);
  calls.push(...['a1', 'a2', 'a3', 'a4'].map((t) => ask('alice', t)));
  calls.push(ask('bob', 'b1'));
  let bobs = 1;
  for (let n = 1; n < 9; n++) {
    g.endRunning();
    await g.started(n + 1);
    if (g.order.at(-1)?.startsWith('b') && bobs < 4) calls.push(ask('bob', `b${++bobs}`));
  }
  g.endRunning();
  return Promise.all(calls);
}

it("alternates a caller that keeps one call waiting with another caller's backlog", async () => {
  const g = gated();
  const runtime = createRuntime({
    providers: [g.provider('p')],
    defaults: { model: 'm' },
    limits: { maxConcurrent: 1, fairnessEvery: 100 }, // no fairness turn here
  });
  const results = await drive(g, async (owner, text) => {
    const handle = runtime.submit({ messages: [{ role: 'user', content: text }] }, { metadata: { owner } });
    return handle.result;
  });
  expect(results.every((r) => (r as { ok: boolean }).ok)).toBe(true);
  // Each of Bob's joins at the floor, beside Alice's next: they alternate. Counted from 0, each of
  // his went first and her backlog waited for all of them (first, a1, b1, b2, b3, b4, a2, a3, a4).
  expect(g.order).toEqual(['first', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
  await runtime.shutdown({ deadlineMs: 1000 });
});

it("alternates a caller's calls in one provider's queue with another caller's backlog in another's", async () => {
  const g = gated();
  const runtime = createRuntime({
    providers: [g.provider('p'), g.provider('q')],
    defaults: { model: 'm' },
    limits: { maxConcurrent: 1, fairnessEvery: 100 }, // no fairness turn here
  });
  const results = await drive(g, async (owner, text) => {
    const provider = owner === 'bob' ? 'q' : 'p';
    const handle = runtime.submit(
      { provider, messages: [{ role: 'user', content: text }] },
      { metadata: { owner } },
    );
    return handle.result;
  });
  expect(results.every((r) => (r as { ok: boolean }).ok)).toBe(true);
  expect(g.order).toEqual(['first', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
  await runtime.shutdown({ deadlineMs: 1000 });
});
