/**
 * What a session's result and summaries say, built from its final context: each metadata field,
 * the output fields, the error (with the limit that held a timed-out session back), the route of a
 * session with fallbacks, and the summaries of live, ended and remote sessions.
 */
import { describe, expect, it } from 'vitest';
import type { RoutingData } from '../../../machines/routing.js';
import type { SessionStateValue } from '../../../machines/session.js';
import type { PriceTable } from '../../../src/providers/prices.js';
import {
  buildResult,
  contextOfRun,
  endedSummary,
  failedInside,
  inputSummary,
  metadataSummary,
  publicState,
  type ResultSource,
  recordOf,
  summarize,
} from '../../../src/runtime/session-record.js';
import type { SessionResult } from '../../../src/runtime/types.js';
import {
  authFailed,
  chatWork,
  HeldProvider,
  newRecord,
  sessionContext,
  sessionInput,
  target,
} from './session-fixtures.js';

const chat: ResultSource = {
  label: undefined,
  caller: undefined,
  callerTruncated: false,
  value: undefined,
  waitingFor: undefined,
  work: { kind: 'chat' },
};

const usage = { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 };
const prices: PriceTable = { p: { m: { input: 2, output: 8, currency: 'USD' } } };

/** A session created at 100, started at 300 after one attempt, ended at 1000. */
const ran = (overrides = {}) =>
  sessionContext(sessionInput(), { startedAt: 300, endedAt: 1000, attempts: 1, ...overrides });

describe('recordOf', () => {
  it('makes a new session queued, not admitted, with nothing held or ended yet', () => {
    const input = sessionInput();
    const work = chatWork(new HeldProvider('p'));
    const record = recordOf({
      input,
      work,
      label: 'chat',
      caller: { owner: 'a' },
      callerTruncated: true,
    });
    expect(record).toMatchObject({
      provider: input.provider,
      priority: input.priority,
      input,
      work,
      label: 'chat',
      caller: { owner: 'a' },
      callerTruncated: true,
      leaf: 'queued',
      admitted: false,
      actor: null,
      call: null,
      result: null,
      queuedBytes: 0,
      queuedTurn: undefined,
      heapIndex: -1,
    });
  });
});

describe('publicState', () => {
  it('shows every running leaf as running and the others as they are', () => {
    const leaves: SessionStateValue[] = ['calling', 'streaming', 'backingOff', 'fallingBack'];
    for (const leaf of leaves) expect(publicState(leaf)).toBe('running');
    for (const leaf of ['queued', 'done', 'failed', 'timedOut', 'cancelled'] as const)
      expect(publicState(leaf)).toBe(leaf);
  });
});

describe('buildResult', () => {
  it('gives a done chat session its output and every metadata field, cost from its price', () => {
    const context = ran({
      usage,
      output: {
        content: 'hello',
        reasoning: 'thought',
        toolCalls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
        finishReason: 'stop',
        webSearch: [{ title: 'w' }],
        notes: ['dropped top_p'],
      },
    });
    const record: ResultSource = { ...chat, label: 'nightly', caller: { user: 'u' }, callerTruncated: true };
    expect(buildResult(record, context, 'done', prices)).toStrictEqual({
      ok: true,
      content: 'hello',
      reasoning: 'thought',
      toolCalls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
      finishReason: 'stop',
      webSearch: [{ title: 'w' }],
      metadata: {
        sessionId: 's1',
        requestId: 'r1',
        provider: 'p',
        model: 'm',
        priority: 3,
        state: 'done',
        queuedMs: 200,
        runMs: 700,
        totalMs: 900,
        attempts: 1,
        usage,
        cost: { amount: 0.006, currency: 'USD' },
        label: 'nightly',
        caller: { user: 'u' },
        truncated: true,
        finishReason: 'stop',
        notes: ['dropped top_p'],
      },
    });
  });

  it('leaves out what the output and the record do not have', () => {
    const result = buildResult(chat, ran({ output: { content: 'x' } }), 'done', prices);
    expect(result).toStrictEqual({
      ok: true,
      content: 'x',
      metadata: {
        sessionId: 's1',
        requestId: 'r1',
        provider: 'p',
        model: 'm',
        priority: 3,
        state: 'done',
        queuedMs: 200,
        runMs: 700,
        totalMs: 900,
        attempts: 1,
      },
    });
  });

  it('reports usage without a cost when the model has no price', () => {
    const other: PriceTable = { p: { other: { input: 2, output: 8, currency: 'USD' } } };
    for (const table of [other, undefined]) {
      const { metadata } = buildResult(chat, ran({ usage, output: { content: 'x' } }), 'done', table);
      expect(metadata.usage).toStrictEqual(usage);
      expect('cost' in metadata).toBe(false);
    }
  });

  it("gives a task its function's value, not the machine's output", () => {
    const task: ResultSource = { ...chat, work: { kind: 'task' }, value: { answer: 42 } };
    const result = buildResult(task, ran({ output: { content: '' } }), 'done');
    expect(result).toStrictEqual({
      ok: true,
      value: { answer: 42 },
      metadata: expect.objectContaining({ state: 'done', attempts: 1 }),
    });
    expect('content' in result).toBe(false);
  });

  it('gives a failed session its error and code, and no output', () => {
    const result = buildResult(chat, ran({ error: authFailed, output: { content: 'x' } }), 'failed');
    expect(result).toStrictEqual({
      ok: false,
      error: authFailed,
      metadata: {
        sessionId: 's1',
        requestId: 'r1',
        provider: 'p',
        model: 'm',
        priority: 3,
        state: 'failed',
        queuedMs: 200,
        runMs: 700,
        totalMs: 900,
        attempts: 1,
        code: 'AUTH_FAILED',
      },
    });
  });

  it('keeps what a failed stream wrote, and says it is withdrawn when the vendor’s review stopped it', () => {
    const written = { content: 'half an answer' };
    const left = { partial: () => written };
    const cut = buildResult({ ...chat, left }, ran({ error: authFailed }), 'failed');
    expect(cut).toMatchObject({ ok: false, error: authFailed, partial: written });
    expect(cut).not.toHaveProperty('withdrawn');
    const filtered = { ...authFailed, code: 'CONTENT_FILTERED' as const };
    const stopped = buildResult({ ...chat, left }, ran({ error: filtered }), 'failed');
    expect(stopped).toStrictEqual({
      ok: false,
      error: filtered,
      metadata: stopped.metadata,
      withdrawn: true,
    });
    // Nothing written: nothing withdrawn.
    const none = buildResult(
      { ...chat, left: { partial: () => undefined } },
      ran({ error: filtered }),
      'failed',
    );
    expect(none).toStrictEqual({ ok: false, error: filtered, metadata: none.metadata });
  });

  it('says INTERNAL when a session ended without an error, or done without an output', () => {
    for (const state of ['failed', 'done'] as const) {
      const result = buildResult(chat, ran(), state);
      expect(result).toStrictEqual({
        ok: false,
        error: {
          family: 'runtime',
          code: 'INTERNAL',
          message: `Expected an error for a session that ended ${state}, got none`,
          retryable: false,
        },
        metadata: expect.objectContaining({ state, code: 'INTERNAL' }),
      });
    }
  });

  it('names the limit that held a session back when it timed out, and only then', () => {
    const timeout = {
      ...authFailed,
      family: 'runtime' as const,
      code: 'TIMED_OUT' as const,
      message: 'late',
    };
    const waiting: ResultSource = { ...chat, waitingFor: 'tokensPerMinute' };
    const timedOut = buildResult(waiting, ran({ error: timeout }), 'timedOut');
    expect(timedOut.ok).toBe(false);
    if (timedOut.ok) return;
    expect(timedOut.error).toStrictEqual({
      ...timeout,
      message: "late; held back by its provider's tokensPerMinute limit",
    });
    expect(timedOut.metadata.waitingFor).toBe('tokensPerMinute');
    // The context's error itself is left as it was.
    expect(timeout.message).toBe('late');

    const failed = buildResult(waiting, ran({ error: timeout }), 'failed');
    expect(failed.ok ? null : failed.error).toStrictEqual(timeout);
    expect('waitingFor' in failed.metadata).toBe(false);
    const free = buildResult(chat, ran({ error: timeout }), 'timedOut');
    expect(free.ok ? null : free.error).toStrictEqual(timeout);
    expect('waitingFor' in free.metadata).toBe(false);
  });

  it("names the caller's share of the running sessions when that held a session back", () => {
    const timeout = {
      ...authFailed,
      family: 'runtime' as const,
      code: 'TIMED_OUT' as const,
      message: 'late',
    };
    const held = buildResult(
      { ...chat, waitingFor: 'maxRunningPerCaller' },
      ran({ error: timeout }),
      'timedOut',
    );
    expect(held.ok ? null : held.error.message).toBe(
      "late; held back by its caller's share of the sessions running at once (limits.maxRunningPerCaller), taken by its caller's other sessions",
    );
    expect(held.metadata.waitingFor).toBe('maxRunningPerCaller');
  });

  it('counts a session that never started as queued all its life', () => {
    const context = sessionContext(sessionInput(), { endedAt: 700, error: authFailed });
    expect(buildResult(chat, context, 'cancelled').metadata).toMatchObject({
      queuedMs: 600,
      runMs: 0,
      totalMs: 600,
      attempts: 0,
    });
  });

  it('counts no time for a context without an end', () => {
    const context = sessionContext(sessionInput(), { error: authFailed });
    expect(buildResult(chat, context, 'failed').metadata).toMatchObject({
      queuedMs: 0,
      runMs: 0,
      totalMs: 0,
    });
  });

  it('names the target a session with fallbacks ended on, and its whole route', () => {
    const targets = [target('p', 'm'), target('q', 'n'), target('r', 'o')];
    const input = sessionInput({ targets });
    const routing: RoutingData = {
      target: 1,
      since: 600,
      firstAttempt: 1,
      left: 0,
      route: [{ provider: 'p', model: 'm', outcome: 'PROVIDER_UNAVAILABLE', ms: 300 }],
    };
    const base = { startedAt: 300, endedAt: 1000, attempts: 2, routing };
    const done = buildResult(chat, sessionContext(input, { ...base, output: { content: 'x' } }), 'done');
    expect(done.metadata).toMatchObject({ provider: 'q', model: 'n', state: 'done' });
    expect(done.metadata.route).toStrictEqual([
      { provider: 'p', model: 'm', outcome: 'PROVIDER_UNAVAILABLE', ms: 300 },
      { provider: 'q', model: 'n', outcome: 'done', ms: 400 },
    ]);
    const failed = buildResult(chat, sessionContext(input, { ...base, error: authFailed }), 'failed');
    expect(failed.metadata.route?.[1]).toStrictEqual({
      provider: 'q',
      model: 'n',
      outcome: 'AUTH_FAILED',
      ms: 400,
    });
    const lost = buildResult(chat, sessionContext(input, base), 'failed');
    expect(lost.metadata.route?.[1]?.outcome).toBe('INTERNAL');
    // Without an end, its last turn is counted up to its creation.
    const open = buildResult(
      chat,
      sessionContext(input, { ...base, endedAt: null, error: authFailed }),
      'failed',
    );
    expect(open.metadata.route?.[1]?.ms).toBe(100 - 600);
    // A session without fallbacks has no route.
    expect('route' in buildResult(chat, ran({ error: authFailed }), 'failed').metadata).toBe(false);
  });
});

describe('summaries', () => {
  const provider = new HeldProvider('p');

  it('summarises a queued session from its input alone', () => {
    const record = newRecord(sessionInput(), chatWork(provider));
    expect(summarize(record, undefined)).toStrictEqual({
      sessionId: 's1',
      requestId: 'r1',
      provider: 'p',
      model: 'm',
      priority: 3,
      state: 'queued',
      createdAt: 100,
      attempts: 0,
    });
  });

  it('adds its label, times, attempts, and what holds it back while it waits', () => {
    const record = newRecord(sessionInput(), chatWork(provider), {
      label: 'l',
      leaf: 'backingOff',
      waitingFor: 'requestsPerMinute',
    });
    const context = sessionContext(sessionInput(), { startedAt: 0, endedAt: 0, attempts: 2 });
    expect(summarize(record, context)).toStrictEqual({
      sessionId: 's1',
      requestId: 'r1',
      provider: 'p',
      model: 'm',
      priority: 3,
      state: 'running',
      label: 'l',
      createdAt: 100,
      startedAt: 0,
      endedAt: 0,
      attempts: 2,
      waitingFor: 'requestsPerMinute',
    });
  });

  it('shows a queued session’s depth in its caller’s turns while it waits, and none at 0 or once it runs', () => {
    const record = newRecord(sessionInput(), chatWork(provider), { depth: 3 });
    expect(summarize(record, undefined).depth).toBe(3);
    record.depth = 0;
    expect('depth' in summarize(record, undefined)).toBe(false);
    record.depth = 2;
    record.leaf = 'calling';
    expect('depth' in summarize(record, sessionContext())).toBe(false);
  });

  it('gives an ended session its code, and no longer what held it back', () => {
    const record = newRecord(sessionInput(), chatWork(provider), {
      leaf: 'failed',
      waitingFor: 'requestsPerMinute',
    });
    record.result = { ok: false, error: authFailed, metadata: {} as SessionResult['metadata'] };
    const summary = summarize(record, sessionContext());
    expect(summary.code).toBe('AUTH_FAILED');
    expect('waitingFor' in summary).toBe(false);
    record.result = { ok: true, content: '', metadata: {} as SessionResult['metadata'] };
    expect('code' in summarize(record, sessionContext())).toBe(false);
  });

  it('shows a session with fallbacks on the target it has reached', () => {
    const input = sessionInput({ targets: [target('p', 'm'), target('q', 'n')] });
    const record = newRecord(input, chatWork(provider), { leaf: 'fallingBack' });
    const routing: RoutingData = { target: 1, since: 5, firstAttempt: 1, left: 0, route: [] };
    expect(summarize(record, sessionContext(input, { routing }))).toMatchObject({
      provider: 'q',
      model: 'n',
    });
    expect(summarize(record, sessionContext(input))).toMatchObject({ provider: 'p', model: 'm' });
  });

  // The owner was known only to the MCP front's index on the instance the call came in on.
  it('names its caller, `owner`, from its caller metadata when that is a non-empty string', () => {
    const owned = newRecord(sessionInput(), chatWork(provider), { caller: { owner: 'token:alice', x: 1 } });
    expect(summarize(owned, undefined).owner).toBe('token:alice');
    for (const caller of [undefined, { owner: '' }, { owner: 7 }, { other: 'token:alice' }]) {
      const record = newRecord(sessionInput(), chatWork(provider), { caller });
      expect('owner' in summarize(record, undefined)).toBe(false);
    }
    const times = { createdAt: 0, startedAt: null, endedAt: 5 };
    expect(metadataSummary({ ...metadata, caller: { owner: 'token:bob' } }, times).owner).toBe('token:bob');
    expect('owner' in metadataSummary({ ...metadata, caller: { owner: '' } }, times)).toBe(false);
    expect('owner' in metadataSummary(metadata, times)).toBe(false);
  });

  it('builds a summary from fixed input, with the label only when there is one', () => {
    expect(inputSummary(sessionInput(), 'running', 4, 'x')).toStrictEqual({
      sessionId: 's1',
      requestId: 'r1',
      provider: 'p',
      model: 'm',
      priority: 3,
      state: 'running',
      createdAt: 100,
      attempts: 4,
      label: 'x',
    });
    expect('label' in inputSummary(sessionInput(), 'queued', 0, undefined)).toBe(false);
  });

  const metadata = {
    sessionId: 's1',
    requestId: 'r1',
    provider: 'p',
    model: 'm',
    priority: 3,
    state: 'failed' as const,
    attempts: 2,
  };

  it('summarises an ended session from its metadata and times', () => {
    expect(
      metadataSummary(
        { ...metadata, label: 'l', code: 'AUTH_FAILED' },
        { createdAt: 1, startedAt: 2, endedAt: 3 },
      ),
    ).toStrictEqual({ ...metadata, label: 'l', code: 'AUTH_FAILED', createdAt: 1, startedAt: 2, endedAt: 3 });
    expect(metadataSummary(metadata, { createdAt: 1, startedAt: null, endedAt: 3 })).toStrictEqual({
      ...metadata,
      createdAt: 1,
      endedAt: 3,
    });
  });

  it("counts another instance's session's times back from now", () => {
    const result = (queuedMs: number, runMs: number, attempts: number): SessionResult => ({
      ok: false,
      error: authFailed,
      metadata: { ...metadata, attempts, queuedMs, runMs, totalMs: queuedMs + runMs, code: 'AUTH_FAILED' },
    });
    expect(endedSummary(result(200, 700, 1), 10_000)).toStrictEqual({
      ...metadata,
      attempts: 1,
      code: 'AUTH_FAILED',
      createdAt: 9100,
      startedAt: 9300,
      endedAt: 10_000,
    });
    // Started and failed at once (0 ms run): it still started.
    expect(endedSummary(result(200, 0, 1), 10_000).startedAt).toBe(10_000);
    // Never started: no start time.
    expect('startedAt' in endedSummary(result(200, 0, 0), 10_000)).toBe(false);
    expect(endedSummary(result(200, 5, 0), 10_000).startedAt).toBe(9995);
  });
});

describe('failedInside', () => {
  it('ends the context at the event with an INTERNAL error naming the event and what was thrown', () => {
    const context = ran({ endedAt: null, attempts: 2 });
    const ended = failedInside(context, { type: 'session.admit', now: 42 }, new Error('boom'));
    expect(ended).toStrictEqual({
      ...context,
      endedAt: 42,
      error: {
        family: 'runtime',
        code: 'INTERNAL',
        message: 'Expected the session machine to handle "session.admit", one of its actions threw: boom',
        retryable: false,
      },
    });
    // The context it came from is left as it was.
    expect(context.endedAt).toBeNull();
    const odd = failedInside(context, { type: 'session.tick', now: 1 }, 'a string');
    expect(odd.error?.message).toBe(
      'Expected the session machine to handle "session.tick", one of its actions threw: a string',
    );
  });
});

describe('contextOfRun', () => {
  const chain = [target('p', 'm'), target('q', 'n')];
  const routing: RoutingData = {
    target: 1,
    since: 1500,
    firstAttempt: 2,
    left: 0,
    route: [{ provider: 'p', model: 'm', outcome: 'NETWORK', ms: 400 }],
  };
  const run = { attempts: 2, startedAt: 1100, runDeadlineAt: 9100, routing };

  it('resumes between attempts under the original deadline, at the target the record reached', () => {
    const context = contextOfRun(sessionInput({ targets: chain }), run, 2000);
    expect(context).toMatchObject({
      attempts: 2,
      startedAt: 1100,
      runDeadlineAt: 9100,
      retryAt: 2000,
      routing,
    });
    expect(contextOfRun(sessionInput({ targets: chain }), run, null).retryAt).toBeNull();
  });

  it('a record without routing starts its chain at its first target; without a chain there is none', () => {
    const fresh = contextOfRun(sessionInput({ targets: chain }), { ...run, routing: undefined }, 2000);
    expect(fresh.routing).toMatchObject({ target: 0, route: [] });
    expect(contextOfRun(sessionInput(), run, 2000).routing).toBeNull();
  });
});
