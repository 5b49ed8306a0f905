/**
 * A provider call runs as a promise nobody awaits (`ProviderCall.start`). When telling the session
 * its answer throws (the sink's `deliver`: a bug in the runtime, or a clock of the embedder's that
 * throws) and telling it the failure throws too, until 2026-12-07 that promise rejected unhandled,
 * and Node ends a process on an unhandled rejection: one session's bad moment stopped the server.
 * Now the throw goes to the runtime's `onError` (the sink's `report`), and the session, told
 * nothing, ends at its run deadline.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatDelta, ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import { type CallGate, type CallSink, ProviderCall } from '../../../src/runtime/provider-call.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionWork } from '../../../src/runtime/session-record.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** A sink whose `deliver` always throws, and what it reported. */
function brokenSink(gate?: CallGate<string>) {
  const reported: unknown[] = [];
  const sink: CallSink<string> = {
    gate,
    now: () => 1,
    random: () => 0.5,
    deliver: (_call, event) => {
      throw new Error(`deliver broke on ${event.type}`);
    },
    value: () => {},
    progress: () => {},
    report: (error) => reported.push(error),
  };
  return { call: new ProviderCall('owner', 's1', 1, sink), reported };
}

const provider = {
  name: 'p',
  complete: async () => ({ content: 'ok' }),
  async *stream() {
    yield { type: 'content', text: 'ok' } as ChatDelta;
  },
} as ChatProvider;
const pushing = {
  ...provider,
  streamTo: async (_r: ChatRequest, _o: unknown, onDelta: (delta: ChatDelta) => void) => {
    onDelta({ type: 'content', text: 'ok' });
  },
} as ChatProvider;

const chat = (p: ChatProvider): SessionWork => ({ kind: 'chat', provider: p, request });
const messages = (errors: unknown[]) => errors.map((e) => (e as Error).message);

describe('a provider call whose session cannot be told', () => {
  it.each([
    ['an answer', chat(provider), false],
    ['a stream', chat(provider), true],
    ['a pushed stream', chat(pushing), true],
    ['a task', { kind: 'task', task: async () => 'value' } as SessionWork, false],
  ] as const)(
    'reports the throw of telling the failure of %s, and leaves no rejection unhandled',
    async (_name, work, stream) => {
      const { call, reported } = brokenSink();
      call.start(work, stream);
      await flush();
      await flush();
      // The first throw is told as the call's failure; telling that throws too, and is reported.
      expect(messages(reported)).toEqual(['deliver broke on provider.error']);
      expect(unhandled).toEqual([]);
    },
  );

  it('reports the throw of telling the refusal of a gate that answers later', async () => {
    const gate: CallGate<string> = {
      open: () => Promise.resolve(new Error('breaker open')),
      close: () => {},
    };
    const { call, reported } = brokenSink(gate);
    call.start(chat(provider), false);
    await flush();
    await flush();
    expect(messages(reported)).toEqual(['deliver broke on provider.error']);
    expect(unhandled).toEqual([]);
  });
});

describe('a runtime whose clock throws as an answer arrives', () => {
  it('hears the throw on onError, keeps running, and ends the session at its run deadline', async () => {
    let throws = 0;
    const clock = {
      now: () => {
        if (throws > 0) {
          throws--;
          throw new Error('clock broke');
        }
        return Date.now();
      },
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
    };
    const errors: unknown[] = [];
    const answering = {
      name: 'p',
      // The clock fails for the answer's time and again for the failure's.
      complete: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        throws = 2;
        return { content: 'ok' };
      },
      stream: () => {
        throw new Error('Expected complete, got stream');
      },
    } as unknown as ChatProvider;
    const runtime = createRuntime({
      providers: [answering],
      clock,
      defaults: { model: 'm', maxAttempts: 1, timeoutMs: 300 },
      onError: (error) => errors.push(error),
    });
    const result = await runtime.submit({ provider: 'p', messages: [{ role: 'user', content: 'hi' }] })
      .result;
    expect(result.ok ? 'done' : result.error.code).toBe('TIMED_OUT');
    expect(messages(errors)).toContain('clock broke');
    expect(unhandled).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
