/**
 * Callers keep taking turns while the queue stays busy: depths count from the floor (the lowest
 * depth waiting at a priority), so a caller that keeps one call waiting at a time, sending the next
 * as each starts, alternates with another caller's backlog. Counted from 0, each of its calls went
 * ahead of all of that backlog, which started only on fairness turns: with one slot and
 * `fairnessEvery` at 1,000, 36 of a 40-call backlog timed out in the queue while the other caller
 * started 2,900 calls. One floor for every provider at a priority keeps it so between providers when
 * `maxConcurrent` is the bound (with a floor per provider's queue, each of its calls joined a fresh
 * queue at depth 0). In-memory runtime, real timers; a cluster counts depths from 0 (its instances'
 * floors would not compare in the shared queue).
 */
import { expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

/** A provider that records the order its calls start in (`wait:N` in the prompt: it takes N ms). */
function recording(name: string, order: string[]): ChatProvider {
  return {
    name,
    async complete(request: { messages: readonly { content: string | null }[] }) {
      const text = String(request.messages.at(-1)?.content ?? '');
      order.push(text.split(' ')[0] as string);
      await new Promise((r) => setTimeout(r, Number(/wait:(\d+)/.exec(text)?.[1] ?? 0)));
      return { content: text };
    },
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  } as unknown as ChatProvider;
}

it("alternates a caller that keeps one call waiting with another caller's backlog", async () => {
  const order: string[] = [];
  const runtime = createRuntime({
    providers: [recording('p', order)],
    defaults: { model: 'm' },
    limits: { maxConcurrent: 1, fairnessEvery: 100 }, // no fairness turn here
  });
  const ask = (owner: string, text: string) =>
    runtime.submit({ messages: [{ role: 'user', content: `${text} wait:40` }] }, { metadata: { owner } });
  const first = ask('blocker', 'first');
  await new Promise((r) => setTimeout(r, 10));
  const alice = ['a1', 'a2', 'a3', 'a4'].map((t) => ask('alice', t));
  // Bob keeps one call waiting: each time his waiting call starts, he sends the next.
  const bob = [ask('bob', 'b1')];
  for (let i = 2; i <= 4; i++) {
    for await (const event of bob.at(-1)!.events) if (event.type === 'session.started') break;
    bob.push(ask('bob', `b${i}`));
  }
  const results = await Promise.all([first, ...alice, ...bob].map((h) => h.result));
  expect(results.every((r) => r.ok)).toBe(true);
  // Each of Bob's joins at the floor, beside Alice's next: they alternate. Counted from 0, each of
  // his went first and her backlog waited for all of them (first, a1, b1, b2, b3, b4, a2, a3, a4).
  expect(order).toEqual(['first', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
  await runtime.shutdown({ deadlineMs: 1000 });
});

it("alternates a caller's calls in one provider's queue with another caller's backlog in another's", async () => {
  const order: string[] = [];
  const runtime = createRuntime({
    providers: [recording('p', order), recording('q', order)],
    defaults: { model: 'm' },
    limits: { maxConcurrent: 1, fairnessEvery: 100 }, // no fairness turn here
  });
  const ask = (provider: string, owner: string, text: string) =>
    runtime.submit(
      { provider, messages: [{ role: 'user', content: `${text} wait:40` }] },
      { metadata: { owner } },
    );
  const first = ask('p', 'blocker', 'first');
  await new Promise((r) => setTimeout(r, 10));
  const alice = ['a1', 'a2', 'a3', 'a4'].map((t) => ask('p', 'alice', t));
  const bob = [ask('q', 'bob', 'b1')];
  for (let i = 2; i <= 4; i++) {
    for await (const event of bob.at(-1)!.events) if (event.type === 'session.started') break;
    bob.push(ask('q', 'bob', `b${i}`));
  }
  const results = await Promise.all([first, ...alice, ...bob].map((h) => h.result));
  expect(results.every((r) => r.ok)).toBe(true);
  expect(order).toEqual(['first', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
  await runtime.shutdown({ deadlineMs: 1000 });
});
