/**
 * isolation: many calls at once, each with its own nonce and latency, started in an order
 * fast-check's scheduler picks; every answer must be its own call's. Catches state shared between
 * calls (a last-answer field, a shared buffer, a reused controller). Answers are multi-byte text,
 * and most streams come a few bytes a read (`split`), so events and characters of calls at once are
 * cut across interleaved reads: until 2026-12-07 every read held whole events of ASCII text, and an
 * adapter whose SSE line buffer or `TextDecoder` was one for all its calls passed every property.
 */
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  requestFor,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase, needsServer } from './property.js';

/** What a garbled answer of calls at once most often comes from. */
const SHARED_HINT =
  ': is anything of one call kept where another reads it (a field of the adapter, an SSE line buffer, a `TextDecoder`)?';

/** Text of an answer that is neither its own nor another call's: not none, no failure, no timeout. */
const garbled = (answer: string, other: number): boolean =>
  other === -1 && answer !== '' && !answer.startsWith('(');

interface Call {
  readonly kind: CallKind;
  readonly latencyMs: number;
  /** A stream's bytes this many at a time, each a read of its own; 0: as the server writes them. */
  readonly splitBytes: number;
}

export const isolation: ContractProperty = {
  name: 'isolation',
  title: 'concurrent calls each get their own answer, whatever order they start and finish in',
  skip: needsServer,
  build(fc, context) {
    const arbitrary = fc.record({
      calls: fc.array(
        fc.record({
          kind: fc.constantFrom(...callKinds(context)),
          latencyMs: fc.integer({ min: 0, max: 40 }),
          splitBytes: fc.constantFrom(0, 1, 3, 5, 7, 11),
        }),
        {
          minLength: 2,
          maxLength: 6,
        },
      ),
      scheduler: fc.scheduler(),
    });
    return erase(
      fc.asyncProperty(arbitrary, async ({ calls, scheduler }) => {
        const answers = calls.map(
          (_, i) => `isolated answer ${i} ${Math.random().toString(36).slice(2, 10)} ünïcödé 多字节 🙂`,
        );
        const nonces = answers.map((content) => context.script({ content }));
        const outcomes: Promise<string>[] = [];
        // The scheduler decides the order the calls start in; the server's latencies and the
        // calls' kinds decide the order they finish in.
        const started = calls.map((call, i) =>
          scheduler
            .schedule(
              Promise.resolve(i),
              `start #${i} (${call.kind}, ${call.latencyMs} ms${call.splitBytes > 0 ? `, split ${call.splitBytes}` : ''})`,
            )
            .then(() => {
              outcomes[i] = answerOf(context, call, nonces[i] as string);
            }),
        );
        await scheduler.waitIdle();
        await Promise.all(started);
        const got = await Promise.all(outcomes);
        for (const [i, answer] of got.entries()) {
          if (answer === answers[i]) continue;
          const other = answers.indexOf(answer);
          throw new Error(
            `Expected call #${i} to get its own answer ${JSON.stringify(answers[i])}, got ${other === -1 ? JSON.stringify(answer) : `call #${other}'s`} (${calls.length} calls at once)${garbled(answer, other) ? SHARED_HINT : ''}`,
          );
        }
      }),
    );
  },
};

async function answerOf(context: ContractContext, call: Call, nonce: string): Promise<string> {
  const split = call.splitBytes > 0 ? `:split=${call.splitBytes}` : '';
  const request = requestFor(context, nonce, `fault:ok:latency=${call.latencyMs}${split}`);
  const signal = new AbortController().signal;
  if (call.kind === 'complete') {
    const result = await completeOf(context, request, signal).within(5000);
    if (result.state === 'resolved')
      return String((result.value as { content?: unknown } | undefined)?.content);
    return result.state === 'pending' ? '(no answer in 5 s)' : `(failed: ${brief(result.error)})`;
  }
  const reader = streamOf(context, request, signal, call.kind);
  reader.until = Date.now() + 5000;
  await reader.read();
  if (reader.end?.kind === 'threw') return `(failed: ${brief(reader.end.error)})`;
  return reader.deltas.flatMap((d) => (d.type === 'content' ? [d.text] : [])).join('');
}
