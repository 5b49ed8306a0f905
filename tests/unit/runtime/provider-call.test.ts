/**
 * The provider call, alone: what it reports for an answer, a stream, a task and a failure, what its
 * gate sees (each ticket back exactly once, with how the call ended), and that nothing is reported
 * once the session ended it.
 */
import { describe, expect, it } from 'vitest';
import { providerError, runtimeError } from '../../../src/core/errors.js';
import type {
  CallOptions,
  ChatDelta,
  ChatProvider,
  ChatRequest,
  ChatResponse,
} from '../../../src/providers/port.js';
import {
  type CallEnd,
  type CallEvent,
  type CallGate,
  type CallSink,
  isUnsent,
  ProviderCall,
  StreamAccumulator,
  tookProgress,
} from '../../../src/runtime/provider-call.js';
import type { SessionWork } from '../../../src/runtime/session-record.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const usage = { promptTokens: 3, completionTokens: 4, totalTokens: 7 };

/** A promise settled by the test. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Seen =
  | CallEvent
  | { type: 'value'; value: unknown }
  | { type: 'progress'; progress: number; total?: number; message?: string };

function setup(gate?: CallGate<string>, clock?: { time: number }) {
  const seen: Seen[] = [];
  let time = 10;
  const sink: CallSink<string> = {
    gate,
    // Ticks once a read, unless the test moves a clock of its own.
    now: () => (clock === undefined ? time++ : clock.time),
    random: () => 0.25,
    deliver: (_call, event) => seen.push(event),
    value: (_call, value) => seen.push({ type: 'value', value }),
    progress: (_call, progress, total, message) => seen.push({ type: 'progress', progress, total, message }),
    report: (error) => {
      throw error;
    },
  };
  const call = new ProviderCall('owner', 's1', 2, sink);
  return { call, seen, sink };
}

/** A provider whose `complete` answers what the test says, and which keeps the signals it saw. */
function completing(answer: () => Promise<ChatResponse>) {
  const signals: AbortSignal[] = [];
  const provider = {
    name: 'p',
    calls: 0,
    complete(_request: ChatRequest, options: { signal: AbortSignal }) {
      provider.calls++;
      signals.push(options.signal);
      return answer();
    },
    stream() {
      throw new Error('Expected complete, got stream');
    },
  };
  return { provider: provider as typeof provider & ChatProvider, signals };
}

function streaming(deltas: (signal: AbortSignal) => AsyncIterable<ChatDelta>) {
  return {
    name: 'p',
    complete: () => Promise.reject(new Error('Expected stream, got complete')),
    stream: (_request: ChatRequest, options: { signal: AbortSignal }) => deltas(options.signal),
  } as ChatProvider;
}

const chat = (provider: ChatProvider): SessionWork => ({ kind: 'chat', provider, request });

/** A gate that hands out numbered tickets and records what comes back. */
function recordingGate(open: (n: number) => unknown = (n) => n) {
  const closed: [unknown, CallEnd][] = [];
  let opened = 0;
  const gate: CallGate<string> = {
    open: () => open(++opened),
    close: (ticket, end) => closed.push([ticket, end]),
  };
  return { gate, closed, opened: () => opened };
}

describe('ProviderCall: complete', () => {
  it('tells the adapter the session’s idle bound (a whole answer’s), and none when it was given none', async () => {
    const bounds: (number | undefined)[] = [];
    const provider = {
      name: 'p',
      complete: async (_request: ChatRequest, options: CallOptions) => {
        bounds.push(options.idleTimeoutMs);
        return { content: 'hi' };
      },
      stream: () => {
        throw new Error('Expected complete, got stream');
      },
    } as ChatProvider;
    const { sink } = setup();
    new ProviderCall('owner', 's1', 1, sink, 750).start(chat(provider), false);
    new ProviderCall('owner', 's1', 1, sink).start(chat(provider), false);
    await flush();
    expect(bounds).toEqual([750, undefined]);
  });

  it('reports the answer as provider.done, with the usage when the provider gave it', async () => {
    const { provider } = completing(async () => ({ content: 'hello', usage }));
    const { call, seen } = setup();
    call.start(chat(provider), false);
    await flush();
    expect(seen).toEqual([{ type: 'provider.done', now: 10, output: { content: 'hello' }, usage }]);
    expect(call.owner).toBe('owner');
    expect(call.sessionId).toBe('s1');
    expect(call.attempt).toBe(2);
  });

  it('reports an answer without usage with no usage key', async () => {
    const { provider } = completing(async () => ({ content: 'hello' }));
    const { call, seen } = setup();
    call.start(chat(provider), false);
    await flush();
    expect(seen).toEqual([{ type: 'provider.done', now: 10, output: { content: 'hello' } }]);
    expect('usage' in (seen[0] as object)).toBe(false);
  });

  it('keeps every part of an answer that has something in it, and leaves out the empty ones (not an empty reasoning)', async () => {
    const toolCalls = [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }];
    const full: ChatResponse = {
      content: 'c',
      reasoning: 'r',
      toolCalls,
      finishReason: 'tool_calls',
      webSearch: [{ title: 'x' }],
      notes: ['dropped top_p'],
    };
    const empty = {
      content: null,
      toolCalls: [],
      webSearch: [],
      notes: [],
    } as unknown as ChatResponse;
    const outputs: unknown[] = [];
    const reasonedEmpty: ChatResponse = { content: 'x', reasoning: '' };
    for (const response of [full, empty, { content: 'x', finishReason: '' }, reasonedEmpty]) {
      const { provider } = completing(async () => response);
      const { call, seen } = setup();
      call.start(chat(provider), false);
      await flush();
      outputs.push((seen[0] as Extract<CallEvent, { type: 'provider.done' }>).output);
    }
    // Strict: an empty part is left out, not kept as `undefined`.
    expect(outputs).toStrictEqual([
      {
        content: 'c',
        reasoning: 'r',
        toolCalls,
        finishReason: 'tool_calls',
        webSearch: [{ title: 'x' }],
        notes: ['dropped top_p'],
      },
      { content: '' },
      { content: 'x', finishReason: '' },
      // "Reasoned but empty" is not "no reasoning": Kimi wants the field back (docs/providers.md).
      { content: 'x', reasoning: '' },
    ]);
  });

  it('reports a failure as provider.error with its data, the time and a random draw', async () => {
    const { provider } = completing(async () => {
      throw providerError('NETWORK', 'socket hang up');
    });
    const { call, seen } = setup();
    call.start(chat(provider), false);
    await flush();
    expect(seen).toEqual([
      {
        type: 'provider.error',
        now: 10,
        random: 0.25,
        error: { family: 'provider', code: 'NETWORK', message: 'socket hang up', retryable: true },
      },
    ]);
  });

  it('reports nothing once aborted, and aborts the signal the provider holds with the reason', async () => {
    const answer = deferred<ChatResponse>();
    const { provider, signals } = completing(() => answer.promise);
    const { call, seen } = setup();
    call.start(chat(provider), false);
    expect(call.aborted).toBe(false);
    call.abort('cancelled by request');
    call.abort('a second reason');
    expect(call.aborted).toBe(true);
    const signal = signals[0] as AbortSignal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(Error);
    expect(signal.reason.name).toBe('AbortError');
    expect(signal.reason.message).toBe('The session ended the provider call: cancelled by request');
    answer.resolve({ content: 'late' });
    await flush();
    expect(seen).toEqual([]);
  });

  it('reports no failure once aborted either', async () => {
    const answer = deferred<ChatResponse>();
    const { provider } = completing(() => answer.promise);
    const { call, seen } = setup();
    call.start(chat(provider), false);
    call.abort('run deadline', true);
    answer.reject(providerError('NETWORK', 'aborted'));
    await flush();
    expect(seen).toEqual([]);
  });

  it('gives a signal read after the abort already aborted, with the first reason, and one without a stack', () => {
    const { call } = setup();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 17;
    try {
      call.abort('queue deadline');
      call.abort('a later reason');
      const signal = call.signal;
      expect(signal.aborted).toBe(true);
      expect(signal.reason.message).toBe('The session ended the provider call: queue deadline');
      expect(signal.reason.stack).not.toContain('\n    at ');
      // The limit is set back for everyone else's errors.
      expect(Error.stackTraceLimit).toBe(17);
      expect(call.signal).toBe(signal);
    } finally {
      Error.stackTraceLimit = limit;
    }
  });

  it('leaves the signal of a call that answered alone when the session moves on', async () => {
    const { provider, signals } = completing(async () => ({ content: 'ok' }));
    const { call } = setup();
    call.start(chat(provider), false);
    await flush();
    call.abort('session ended');
    expect(call.aborted).toBe(true);
    expect(signals[0]?.aborted).toBe(false);
  });
});

describe('ProviderCall: stream', () => {
  async function* deltas(list: ChatDelta[]) {
    for (const delta of list) yield delta;
  }

  it('reports each delta as a chunk with the characters so far, then the joined answer', async () => {
    const provider = streaming(() =>
      deltas([
        { type: 'reasoning', text: 'hm' },
        { type: 'content', text: 'he' },
        { type: 'content', text: 'llo' },
        { type: 'usage', usage },
        { type: 'finish', reason: 'stop' },
      ]),
    );
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    expect(seen).toEqual([
      { type: 'provider.chunk', now: 10, chars: 2, delta: { type: 'reasoning', text: 'hm' } },
      { type: 'provider.chunk', now: 11, chars: 4, delta: { type: 'content', text: 'he' } },
      { type: 'provider.chunk', now: 12, chars: 7, delta: { type: 'content', text: 'llo' } },
      { type: 'provider.chunk', now: 13, chars: 7, delta: { type: 'usage', usage } },
      { type: 'provider.chunk', now: 14, chars: 7, delta: { type: 'finish', reason: 'stop' } },
      {
        type: 'provider.done',
        now: 15,
        output: { content: 'hello', reasoning: 'hm', finishReason: 'stop' },
        usage,
      },
    ]);
  });

  it('an empty reasoning delta reports no chunk, and the answer keeps reasoning: ""', async () => {
    const provider = streaming(() =>
      deltas([
        { type: 'reasoning', text: '' },
        { type: 'content', text: '' },
        { type: 'content', text: 'ok' },
      ]),
    );
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    // Only the reasoning one goes unreported: any other delta is reported as it came, empty or not.
    expect(seen.map((e) => e.type)).toEqual(['provider.chunk', 'provider.chunk', 'provider.done']);
    expect(seen[0]).toMatchObject({ delta: { type: 'content', text: '' } });
    expect(seen[2]).toMatchObject({ output: { content: 'ok', reasoning: '' } });
  });

  it('stops at once when the session ends it on a chunk, and reports nothing more', async () => {
    let pulled = 0;
    const provider = streaming(async function* () {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield { type: 'content', text: `${i}` } as ChatDelta;
      }
    });
    const seen: unknown[] = [];
    const call: ProviderCall<string> = new ProviderCall('o', 's', 1, {
      now: () => 0,
      random: () => 0,
      report: () => {},
      deliver: (_c, event) => {
        seen.push(event.type);
        // The session ends the call on its second chunk (an idle deadline, a cancel).
        if (seen.length === 2) call.abort('idle deadline', true);
      },
      value: () => {},
      progress: () => {},
    });
    call.start(chat(provider), true);
    await flush();
    expect(seen).toEqual(['provider.chunk', 'provider.chunk']);
    expect(pulled).toBe(2);
  });

  it('reports no chunk that arrives after an abort from outside, nor the end', async () => {
    const next = deferred<void>();
    const provider = streaming(async function* () {
      yield { type: 'content', text: 'a' } as ChatDelta;
      await next.promise;
      yield { type: 'content', text: 'b' } as ChatDelta;
    });
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    call.abort('cancelled');
    next.resolve();
    await flush();
    expect(seen.map((e) => e.type)).toEqual(['provider.chunk']);
  });

  it('reports a stream that ran out after the session ended with nothing', async () => {
    const end = deferred<void>();
    const provider = streaming(async function* () {
      yield { type: 'content', text: 'a' } as ChatDelta;
      // The abort lands between the last chunk and the end of the stream.
      await end.promise;
    });
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    call.abort('cancelled');
    end.resolve();
    await flush();
    expect(seen.map((e) => e.type)).toEqual(['provider.chunk']);
  });

  it('reports a stream that fails as provider.error', async () => {
    const provider = streaming(async function* () {
      yield { type: 'content', text: 'a' } as ChatDelta;
      throw providerError('BAD_RESPONSE', 'broken chunk');
    });
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    expect(seen.map((e) => e.type)).toEqual(['provider.chunk', 'provider.error']);
    expect(seen[1]).toMatchObject({ error: { code: 'BAD_RESPONSE' } });
  });
});

describe('ProviderCall: a pushed stream (streamTo)', () => {
  /** An adapter that pushes its deltas; its async `stream` is never used when `streamTo` is there. */
  function pushing(push: (onDelta: (delta: ChatDelta) => void, signal: AbortSignal) => Promise<void>) {
    return {
      name: 'p',
      complete: () => Promise.reject(new Error('Expected streamTo, got complete')),
      stream: () => {
        throw new Error('Expected streamTo, got stream');
      },
      streamTo: (
        _request: ChatRequest,
        options: { signal: AbortSignal },
        onDelta: (delta: ChatDelta) => void,
      ) => push(onDelta, options.signal),
    } as ChatProvider;
  }

  it('reports each pushed delta as a chunk, then the joined answer', async () => {
    const provider = pushing(async (onDelta) => {
      onDelta({ type: 'content', text: 'he' });
      onDelta({ type: 'content', text: 'llo' });
      onDelta({ type: 'usage', usage });
    });
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    expect(seen).toEqual([
      { type: 'provider.chunk', now: 10, chars: 2, delta: { type: 'content', text: 'he' } },
      { type: 'provider.chunk', now: 11, chars: 5, delta: { type: 'content', text: 'llo' } },
      { type: 'provider.chunk', now: 12, chars: 5, delta: { type: 'usage', usage } },
      { type: 'provider.done', now: 13, output: { content: 'hello' }, usage },
    ]);
  });

  it('drops what the adapter still pushes once the session ended the call, and reports no end', async () => {
    const provider = pushing(async (onDelta) => {
      for (let i = 0; i < 5; i++) onDelta({ type: 'content', text: `${i}` });
    });
    const seen: string[] = [];
    const call: ProviderCall<string> = new ProviderCall('o', 's', 1, {
      now: () => 0,
      random: () => 0,
      report: () => {},
      deliver: (_c, event) => {
        seen.push(event.type);
        if (seen.length === 2) call.abort('idle deadline', true);
      },
      value: () => {},
      progress: () => {},
    });
    call.start(chat(provider), true);
    await flush();
    expect(seen).toEqual(['provider.chunk', 'provider.chunk']);
  });

  it('reports a pushed stream that fails as provider.error', async () => {
    const provider = pushing(async (onDelta) => {
      onDelta({ type: 'content', text: 'a' });
      throw providerError('NETWORK', 'reset');
    });
    const { call, seen } = setup();
    call.start(chat(provider), true);
    await flush();
    expect(seen.map((e) => e.type)).toEqual(['provider.chunk', 'provider.error']);
  });
});

describe('StreamAccumulator', () => {
  it('joins every kind of delta into the answer', () => {
    const acc = new StreamAccumulator();
    expect(acc.output()).toStrictEqual({ content: '' });
    expect(acc.chars).toBe(0);
    acc.add({ type: 'content', text: 'ab' });
    acc.add({ type: 'reasoning', text: 'r1' });
    acc.add({ type: 'reasoning', text: 'r2' });
    acc.add({ type: 'tool_call', index: 0, id: 'c0', name: 'f', arguments: '{"a"' });
    acc.add({ type: 'tool_call', index: 0, arguments: ':1}' });
    acc.add({ type: 'web_search', results: [{ title: 'one' }] });
    acc.add({ type: 'web_search', results: [{ title: 'two' }, { title: 'three' }] });
    acc.add({ type: 'note', text: 'n1' });
    acc.add({ type: 'note', text: 'n2' });
    acc.add({ type: 'usage', usage });
    acc.add({ type: 'finish', reason: 'length' });
    expect(acc.chars).toBe(6);
    expect(acc.usage).toEqual(usage);
    expect(acc.output()).toStrictEqual({
      content: 'ab',
      reasoning: 'r1r2',
      toolCalls: [{ id: 'c0', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      finishReason: 'length',
      webSearch: [{ title: 'one' }, { title: 'two' }, { title: 'three' }],
      notes: ['n1', 'n2'],
    });
  });
});

describe('ProviderCall: task', () => {
  it('hands the value over, then reports done; the task sees its session, attempt and progress', async () => {
    const { call, seen } = setup();
    call.start(
      {
        kind: 'task',
        task: async (context) => {
          context.progress(1, 3, 'a third');
          context.progress(2);
          return { sessionId: context.sessionId, attempt: context.attempt, aborted: context.signal.aborted };
        },
      },
      false,
    );
    await flush();
    expect(seen).toEqual([
      { type: 'progress', progress: 1, total: 3, message: 'a third' },
      { type: 'progress', progress: 2, total: undefined, message: undefined },
      { type: 'value', value: { sessionId: 's1', attempt: 2, aborted: false } },
      { type: 'provider.done', now: 10, output: { content: '' } },
    ]);
  });

  it('refuses a `progress`, `total` or `message` MCP could not carry, naming it, and reports nothing of it', async () => {
    // From JavaScript, until 2026-12-07: '3', NaN or an object went into `session.progress` as it was.
    let context: Parameters<Extract<SessionWork, { kind: 'task' }>['task']>[0] | undefined;
    const { call, seen } = setup();
    const finish = deferred<string>();
    call.start(
      {
        kind: 'task',
        task: (c) => {
          context = c;
          return finish.promise;
        },
      },
      false,
    );
    const progress = context?.progress as (...args: unknown[]) => void;
    const cases: [unknown[], string][] = [
      [['3'], 'Expected `progress` to be a finite number, got `"3"` (string)'],
      [[Number.NaN], 'Expected `progress` to be a finite number, got `NaN` (number)'],
      [[Number.POSITIVE_INFINITY], 'Expected `progress` to be a finite number, got `Infinity` (number)'],
      [[{ done: 1 }], 'Expected `progress` to be a finite number, got `{"done":1}` (object)'],
      [[], 'Expected `progress` to be a finite number, got `undefined`'],
      [[1, '2'], 'Expected `total` to be a finite number, or left out, got `"2"` (string)'],
      [[1, Number.NaN], 'Expected `total` to be a finite number, or left out, got `NaN` (number)'],
      [[1, 2, 7], 'Expected `message` to be a string, or left out, got `7` (number)'],
    ];
    for (const [args, message] of cases) {
      expect(() => progress(...args), message).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST', message }),
      );
    }
    expect(seen).toEqual([]);
    finish.resolve('done');
  });

  it('ignores a `progress` not above the last of its attempt, as MCP wants it to grow; negative ones count', async () => {
    const { call, seen } = setup();
    const taken: unknown[] = [];
    call.start(
      {
        kind: 'task',
        task: async (context) => {
          for (const [progress, total] of [[-2], [0, 2], [0, 2], [-1], [1.5, 2], [1.5], [2, 2]] as const)
            taken.push(context.progress(progress, total));
          return 'ok';
        },
      },
      false,
    );
    await flush();
    expect(taken).toEqual([true, true, false, false, true, false, true]);
    expect(
      seen.filter((e) => e.type === 'progress').map((e) => (e as { progress: number }).progress),
    ).toEqual([-2, 0, 1.5, 2]);
  });

  it('tells a report it took from one it ignored; a context of your own that returns nothing counts as taken', () => {
    // `withSession` and the tool contract send and count only what was taken.
    expect([tookProgress(true), tookProgress(false), tookProgress(undefined)]).toEqual([true, false, true]);
  });

  it('reports a task that throws as provider.error', async () => {
    const { call, seen } = setup();
    call.start(
      {
        kind: 'task',
        task: async () => {
          throw runtimeError('INVALID_REQUEST', 'bad input');
        },
      },
      false,
    );
    await flush();
    expect(seen).toEqual([
      {
        type: 'provider.error',
        now: 10,
        random: 0.25,
        error: { family: 'runtime', code: 'INVALID_REQUEST', message: 'bad input', retryable: false },
      },
    ]);
  });

  it('aborts the signal of a task the session ended, and reports neither its progress nor its value', async () => {
    const finish = deferred<string>();
    let context: Parameters<Extract<SessionWork, { kind: 'task' }>['task']>[0] | undefined;
    const { call, seen } = setup();
    call.start(
      {
        kind: 'task',
        task: (c) => {
          context = c;
          return finish.promise;
        },
      },
      false,
    );
    const signal = context?.signal as AbortSignal;
    expect(signal.aborted).toBe(false);
    call.abort('cancelled by request');
    expect(signal.aborted).toBe(true);
    context?.progress(1);
    finish.resolve('late');
    await flush();
    expect(seen).toEqual([]);
  });
});

describe('ProviderCall: gate', () => {
  it('lets the call go with its ticket and gets it back once with the usage', async () => {
    const { gate, closed } = recordingGate();
    const { provider } = completing(async () => ({ content: 'ok', usage }));
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    await flush();
    call.abort('session ended');
    expect(closed).toEqual([[1, { failure: null, aborted: false, silentMs: expect.any(Number), usage }]]);
    expect(seen.map((e) => e.type)).toEqual(['provider.done']);
  });

  it('gets the ticket back with no usage key when the answer had none, and after a stream', async () => {
    const { gate, closed } = recordingGate();
    const { provider } = completing(async () => ({ content: 'ok' }));
    setup(gate).call.start(chat(provider), false);
    const stream = streaming(async function* () {
      yield { type: 'usage', usage } as ChatDelta;
    });
    setup(gate).call.start(chat(stream), true);
    await flush();
    expect(closed).toEqual([
      [1, { failure: null, aborted: false, silentMs: expect.any(Number) }],
      [2, { failure: null, aborted: false, silentMs: expect.any(Number), usage }],
    ]);
    expect(Object.keys(closed[0]?.[1] ?? {})).toEqual(['failure', 'aborted', 'silentMs']);
  });

  it("gets the ticket back with the failure's code when the call fails", async () => {
    const { gate, closed } = recordingGate();
    const { provider } = completing(async () => {
      throw providerError('PROVIDER_UNAVAILABLE', '503');
    });
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    await flush();
    expect(closed).toEqual([
      [1, { failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: expect.any(Number) }],
    ]);
    expect(Object.keys(closed[0]?.[1] ?? {})).toEqual(['failure', 'aborted', 'silentMs']);
    expect(seen.map((e) => e.type)).toEqual(['provider.error']);
  });

  it('tells the gate when the failure was of the model alone (modelScoped), for the breaker', async () => {
    const { gate, closed } = recordingGate();
    const { provider } = completing(async () => {
      throw providerError('PROVIDER_UNAVAILABLE', 'this model is busy', { modelScoped: true });
    });
    setup(gate).call.start(chat(provider), false);
    await flush();
    expect(closed).toEqual([
      [
        1,
        { failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: expect.any(Number), modelScoped: true },
      ],
    ]);
  });

  it('counts a call a deadline ended as TIMED_OUT and one cancelled as nothing, each with how long it was out', () => {
    const { gate, closed } = recordingGate();
    const hang = () => new Promise<ChatResponse>(() => {});
    const timed = setup(gate).call;
    timed.start(chat(completing(hang).provider), false);
    timed.abort('run deadline', true);
    const cancelled = setup(gate).call;
    cancelled.start(chat(completing(hang).provider), false);
    cancelled.abort('cancelled');
    cancelled.abort('again', true);
    expect(closed).toEqual([
      // The sink's clock ticks once a read: out at 10, ended at 11.
      [1, { failure: 'TIMED_OUT', aborted: true, silentMs: 1 }],
      [2, { failure: null, aborted: true, silentMs: 1 }],
    ]);
  });

  it('tells the gate how long the provider was silent: since the pass, or since the last chunk of a stream', async () => {
    const { gate, closed } = recordingGate();
    const clock = { time: 1_000 };
    const chunk = deferred<void>();
    const hang = new Promise<never>(() => {});
    const flowing = setup(gate, clock).call;
    flowing.start(
      chat(
        streaming(async function* () {
          await chunk.promise;
          yield { type: 'content', text: 'still coming' } as ChatDelta;
          await hang;
        }),
      ),
      true,
    );
    const silent = setup(gate, clock).call;
    silent.start(
      chat(
        streaming(async function* () {
          // Nothing ever comes: the hang settles never, so the yield is never reached.
          yield (await hang) as ChatDelta;
        }),
      ),
      true,
    );
    clock.time = 61_000;
    chunk.resolve();
    await flush();
    clock.time = 61_500;
    // Both hit their deadline at 61.5 s: one heard from 0.5 s before, the other never.
    flowing.abort('run deadline', true);
    silent.abort('run deadline', true);
    expect(closed).toEqual([
      [1, { failure: 'TIMED_OUT', aborted: true, silentMs: 500 }],
      [2, { failure: 'TIMED_OUT', aborted: true, silentMs: 60_500 }],
    ]);
  });

  it("fails the attempt with the gate's refusal, without calling the provider", async () => {
    const open = providerError('PROVIDER_UNAVAILABLE', 'Expected the breaker closed, got open');
    const { gate, closed } = recordingGate(() => open);
    const { provider } = completing(async () => ({ content: 'ok' }));
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    await flush();
    expect(provider.calls).toBe(0);
    // Marked unsent: its limits give its charge back (`LocalLimits.observe`).
    expect(seen).toEqual([
      { type: 'provider.error', now: 10, random: 0.25, error: open.toData(), unsent: true },
    ]);
    expect(seen.map((e) => isUnsent(e as CallEvent))).toEqual([true]);
    expect(closed).toEqual([]);
  });

  it('marks unsent the refusal of a gate that answers later, and no failure of a call that went', async () => {
    const open = providerError('PROVIDER_UNAVAILABLE', 'Expected the breaker closed, got open');
    const { provider } = completing(async () => ({ content: 'ok' }));
    const { call, seen } = setup(recordingGate(async () => open).gate);
    call.start(chat(provider), false);
    await flush();
    expect(provider.calls).toBe(0);
    expect(seen).toEqual([
      { type: 'provider.error', now: 10, random: 0.25, error: open.toData(), unsent: true },
    ]);
    const failed = completing(async () => {
      throw providerError('PROVIDER_UNAVAILABLE', 'Expected a completion, got 503', { status: 503 });
    });
    const went = setup(recordingGate(() => 'ticket').gate);
    went.call.start(chat(failed.provider), false);
    await flush();
    expect(went.seen.map((e) => [e.type, 'unsent' in e])).toEqual([['provider.error', false]]);
    expect(went.seen.map((e) => isUnsent(e as CallEvent))).toEqual([false]);
  });

  it('waits for a gate that answers later, then calls, or fails with its rejection', async () => {
    const later = deferred<unknown>();
    const { gate, closed } = recordingGate(() => later.promise);
    const { provider } = completing(async () => ({ content: 'ok' }));
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    await flush();
    expect(provider.calls).toBe(0);
    later.resolve('ticket');
    await flush();
    expect(provider.calls).toBe(1);
    expect(seen.map((e) => e.type)).toEqual(['provider.done']);
    expect(closed).toEqual([['ticket', { failure: null, aborted: false, silentMs: expect.any(Number) }]]);

    const broken = deferred<unknown>();
    const failing = setup(recordingGate(() => broken.promise).gate);
    failing.call.start(chat(provider), false);
    broken.reject(providerError('NETWORK', 'shared state unreachable'));
    await flush();
    expect(failing.seen).toEqual([
      {
        type: 'provider.error',
        now: 10,
        random: 0.25,
        error: { family: 'provider', code: 'NETWORK', message: 'shared state unreachable', retryable: true },
        // The gate did not answer: the call never went.
        unsent: true,
      },
    ]);
  });

  it('gives the ticket back unused when the session ended while the gate decided', async () => {
    const later = deferred<unknown>();
    const { gate, closed } = recordingGate(() => later.promise);
    const { provider } = completing(async () => ({ content: 'ok' }));
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    call.abort('cancelled', true);
    later.resolve('ticket');
    await flush();
    expect(provider.calls).toBe(0);
    // Ended by its session before it went: it tells nothing of the provider.
    expect(closed).toEqual([['ticket', { failure: null, aborted: true, silentMs: expect.any(Number) }]]);
    expect(seen).toEqual([]);
  });

  it("gives the ticket back with the failure's code even when the session ended first", async () => {
    const answer = deferred<ChatResponse>();
    const { gate, closed } = recordingGate(() => 'ticket');
    const { provider } = completing(() => answer.promise);
    const { call, seen } = setup(gate);
    call.start(chat(provider), false);
    // The session moved on without ending the call's gate use: abort closes it once, first.
    call.abort('cancelled');
    answer.reject(providerError('NETWORK', 'reset'));
    await flush();
    expect(closed).toEqual([['ticket', { failure: null, aborted: true, silentMs: expect.any(Number) }]]);
    expect(seen).toEqual([]);
  });
});
