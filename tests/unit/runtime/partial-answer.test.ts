/**
 * What a failed stream had written (docs/runtime.md, "What a failed stream had written"): a
 * streamed session that ends without its answer after text reached its observers keeps that text
 * in `result.partial`, on both engines, whatever ended it; nothing else carries one.
 */
import { describe, expect, it } from 'vitest';
import { providerError, type TroupeError } from '../../../src/core/errors.js';
import type { CallOptions, ChatDelta, ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionEvent, SessionResult } from '../../../src/runtime/types.js';

type Step = ChatDelta | TroupeError | 'hang';

/** A provider whose stream sends the scripted steps of its next call, in order: deltas, an error, or a hang until aborted. */
function scripted(scripts: Step[][]): ChatProvider & { calls: number } {
  const provider = {
    name: 'p',
    calls: 0,
    complete(): never {
      throw providerError('PROVIDER_UNAVAILABLE', 'Expected a stream, got a complete call');
    },
    async *stream(_request: ChatRequest, options: CallOptions): AsyncIterable<ChatDelta> {
      const steps = scripts[provider.calls++] ?? [];
      for (const step of steps) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (step === 'hang') {
          await new Promise((_, reject) =>
            options.signal.addEventListener('abort', () => reject(options.signal.reason)),
          );
        } else if (step instanceof Error) throw step;
        else yield step;
      }
    },
  };
  return provider;
}

const text = (t: string): ChatDelta => ({ type: 'content', text: t });
const reasoning = (t: string): ChatDelta => ({ type: 'reasoning', text: t });
const unavailable = () => providerError('PROVIDER_UNAVAILABLE', 'Expected the stream to go on, got a 503');

function runtimeWith(provider: ChatProvider, engine: 'compiled' | 'xstate'): Runtime {
  return createRuntime({
    engine,
    providers: [provider],
    defaults: { provider: 'p', model: 'm', maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 1 },
  });
}

/** Runs one streamed session; `onDelta` may act on it (cancel) after each delta. */
async function run(
  runtime: Runtime,
  options: { stream?: boolean; idleTimeoutMs?: number; onDelta?: (cancel: () => void) => void } = {},
): Promise<{ result: SessionResult; written: string; reasoned: string }> {
  const handle = runtime.submit(
    { messages: [{ role: 'user', content: 'hi' }], stream: options.stream ?? true },
    { idleTimeoutMs: options.idleTimeoutMs ?? 5000, timeoutMs: 5000 },
  );
  let written = '';
  let reasoned = '';
  for await (const event of handle.events as AsyncIterable<SessionEvent>) {
    if (event.type !== 'session.delta') continue;
    if (event.delta.type === 'content') written += event.delta.text;
    if (event.delta.type === 'reasoning') reasoned += event.delta.text;
    options.onDelta?.(() => handle.cancel('enough'));
  }
  return { result: await handle.result, written, reasoned };
}

describe.each(['compiled', 'xstate'] as const)('a failed stream’s partial answer (engine %s)', (engine) => {
  it('a stream that fails after text keeps that text and its reasoning, exactly as observers got them', async () => {
    const runtime = runtimeWith(
      scripted([[reasoning('think '), reasoning('more'), text('Hel'), text('lo'), unavailable()]]),
      engine,
    );
    const { result, written, reasoned } = await run(runtime);
    expect([result.ok, result.metadata.state, result.metadata.code]).toEqual([
      false,
      'failed',
      'PROVIDER_UNAVAILABLE',
    ]);
    expect(result.ok ? undefined : result.partial).toStrictEqual({
      content: 'Hello',
      reasoning: 'think more',
    });
    expect([written, reasoned]).toEqual(['Hello', 'think more']);
    await runtime.shutdown();
  });

  it('an idle timeout mid-answer keeps the text so far', async () => {
    const runtime = runtimeWith(scripted([[text('a'), text('b'), 'hang']]), engine);
    const { result } = await run(runtime, { idleTimeoutMs: 50 });
    expect([result.metadata.state, result.metadata.code]).toEqual(['timedOut', 'TIMED_OUT']);
    expect(result.ok ? undefined : result.partial).toStrictEqual({ content: 'ab' });
    await runtime.shutdown();
  });

  it('a cancel mid-answer keeps the text so far', async () => {
    const runtime = runtimeWith(scripted([[text('one '), text('two '), 'hang']]), engine);
    let deltas = 0;
    const { result } = await run(runtime, {
      onDelta: (cancel) => {
        deltas += 1;
        if (deltas === 2) cancel();
      },
    });
    expect(result.metadata.state).toBe('cancelled');
    expect(result.ok ? undefined : result.partial).toStrictEqual({ content: 'one two ' });
    await runtime.shutdown();
  });

  it('only the attempt that wrote counts: one that failed before any text was retried and left none', async () => {
    const provider = scripted([[unavailable()], [text('second'), unavailable()]]);
    const runtime = runtimeWith(provider, engine);
    const { result } = await run(runtime);
    expect([result.metadata.attempts, provider.calls]).toEqual([2, 2]);
    expect(result.ok ? undefined : result.partial).toStrictEqual({ content: 'second' });
    await runtime.shutdown();
  });

  it('no partial when no text arrived, when the answer was not streamed, or when it finished', async () => {
    const failedEarly = runtimeWith(scripted([[unavailable()], [unavailable()], [unavailable()]]), engine);
    const early = await run(failedEarly);
    expect(early.result.ok).toBe(false);
    expect(early.result).not.toHaveProperty('partial');
    await failedEarly.shutdown();

    const whole = runtimeWith(scripted([]), engine);
    const notStreamed = await run(whole, { stream: false });
    expect([notStreamed.result.metadata.state, notStreamed.result.metadata.attempts]).toEqual(['failed', 3]);
    expect(notStreamed.result).not.toHaveProperty('partial');
    await whole.shutdown();

    // Tool-call deltas only: nothing a reader could use as text.
    const toolsOnly = runtimeWith(
      scripted([
        [{ type: 'tool_call', index: 0, id: 'c1', name: 'f', arguments: '{"a"' } as ChatDelta, unavailable()],
      ]),
      engine,
    );
    const tools = await run(toolsOnly);
    expect(tools.result.metadata.state).toBe('failed');
    expect(tools.result).not.toHaveProperty('partial');
    await toolsOnly.shutdown();

    const done = runtimeWith(scripted([[text('whole')]]), engine);
    const answered = await run(done);
    expect(answered.result.ok ? answered.result.content : undefined).toBe('whole');
    expect(answered.result).not.toHaveProperty('partial');
    await done.shutdown();
  });

  it('no partial when the provider’s safety review stopped the answer (CONTENT_FILTERED): the text is withdrawn', async () => {
    const runtime = runtimeWith(
      scripted([
        [
          text('something the review '),
          providerError('CONTENT_FILTERED', 'Expected an answer, got a content filter'),
        ],
      ]),
      engine,
    );
    const { result, written } = await run(runtime);
    expect(written).toBe('something the review ');
    expect(result.metadata.code).toBe('CONTENT_FILTERED');
    expect(result).not.toHaveProperty('partial');
    expect(result).toHaveProperty('withdrawn', true);
    await runtime.shutdown();
  });

  it('withdraws nothing when the review stopped it before any text, nor on another failure', async () => {
    const before = runtimeWith(
      scripted([[providerError('CONTENT_FILTERED', 'Expected an answer, got a content filter')]]),
      engine,
    );
    const stopped = await run(before);
    expect(stopped.result.metadata.code).toBe('CONTENT_FILTERED');
    expect(stopped.result).not.toHaveProperty('withdrawn');
    expect(stopped.result).not.toHaveProperty('partial');
    await before.shutdown();
    const cut = runtimeWith(scripted([[text('half'), unavailable()]]), engine);
    const failed = await run(cut);
    expect(failed.result).toHaveProperty('partial');
    expect(failed.result).not.toHaveProperty('withdrawn');
    await cut.shutdown();
  });
});
