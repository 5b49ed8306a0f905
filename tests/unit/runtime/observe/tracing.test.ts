/**
 * `sessionTracing` (`src/runtime/tracing.ts`) called directly with runtime events, on a recording
 * tracer with the `SessionTracer` shape (tests/unit/runtime/tracing.test.ts runs the real SDK
 * through a runtime): one span per session from `session.queued` to `session.ended`, attempts,
 * retries, fallbacks and later event kinds as span events, the metadata as attributes, the status.
 */
import { describe, expect, it } from 'vitest';
import type { TroupeErrorData } from '../../../../src/core/errors.js';
import {
  metadataAttributes,
  type SessionTracer,
  sessionTracing,
  type TraceAttributes,
} from '../../../../src/runtime/tracing.js';
import type { RuntimeEvent, SessionMetadata, SessionResult } from '../../../../src/runtime/types.js';

interface Recorded {
  name: string;
  attributes: TraceAttributes | undefined;
  startTime: number | undefined;
  calls: unknown[][];
}

function recorder() {
  const spans: Recorded[] = [];
  const tracer: SessionTracer = {
    startSpan(name, options) {
      const span: Recorded = {
        name,
        attributes: options?.attributes,
        startTime: options?.startTime,
        calls: [],
      };
      spans.push(span);
      return {
        setAttributes: (attributes) => span.calls.push(['setAttributes', attributes]),
        addEvent: (eventName, attributes, time) => span.calls.push(['addEvent', eventName, attributes, time]),
        setStatus: (status) => span.calls.push(['setStatus', status]),
        end: (time) => span.calls.push(['end', time]),
      };
    },
  };
  return { spans, listener: sessionTracing(tracer) };
}

const error = (code: string, retryAfterMs?: number): TroupeErrorData =>
  ({
    family: 'provider',
    code,
    message: 'x',
    retryable: true,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }) as TroupeErrorData;

const metadata = (over: Partial<SessionMetadata> = {}): SessionMetadata => ({
  sessionId: 's1',
  requestId: 'r1',
  provider: 'p',
  model: 'm',
  priority: 5,
  state: 'done',
  queuedMs: 1,
  runMs: 2,
  totalMs: 3,
  attempts: 1,
  ...over,
});

const queued = (sessionId = 's1', label?: string): RuntimeEvent => ({
  type: 'session.queued',
  sessionId,
  position: 0,
  at: 100,
  provider: 'p',
  ...(label === undefined ? {} : { label }),
});

const ended = (m: SessionMetadata, ok = true): RuntimeEvent => ({
  type: 'session.ended',
  sessionId: m.sessionId,
  result: (ok
    ? { ok: true, content: 'secret answer', metadata: m }
    : { ok: false, error: error(m.code ?? 'X'), metadata: m }) as SessionResult,
  at: 900,
  provider: m.provider,
});

describe('sessionTracing', () => {
  it('starts a span when a session is queued, with its id, provider and label, at its time', () => {
    const { spans, listener } = recorder();
    listener(queued('s1', 'nightly'));
    listener(queued('s2'));
    // Strictly: an absent label is no attribute at all (OpenTelemetry warns about `undefined`).
    expect(spans).toStrictEqual([
      {
        name: 'troupe.session',
        attributes: { 'troupe.session.id': 's1', 'troupe.provider': 'p', 'troupe.label': 'nightly' },
        startTime: 100,
        calls: [],
      },
      {
        name: 'troupe.session',
        attributes: { 'troupe.session.id': 's2', 'troupe.provider': 'p' },
        startTime: 100,
        calls: [],
      },
    ]);
  });

  it('records attempts, retries and fallbacks as span events at their times; deltas, progress and supervisor events add nothing', () => {
    const { spans, listener } = recorder();
    listener(queued());
    listener({ type: 'session.started', sessionId: 's1', attempt: 1, at: 110, provider: 'p' });
    listener({
      type: 'session.delta',
      sessionId: 's1',
      delta: { content: 'secret' } as never,
      chars: 6,
      at: 115,
      provider: 'p',
    });
    listener({ type: 'session.progress', sessionId: 's1', progress: 1, at: 116, provider: 'p' });
    listener({ type: 'supervisor.draining', at: 117, deadlineAt: 200 });
    listener({
      type: 'session.retry',
      sessionId: 's1',
      attempt: 1,
      delayMs: 50,
      error: error('RATE_LIMITED', 40),
      at: 120,
      provider: 'p',
    });
    listener({
      type: 'session.retry',
      sessionId: 's1',
      attempt: 2,
      delayMs: 60,
      error: error('UNAVAILABLE'),
      at: 130,
      provider: 'p',
    });
    listener({
      type: 'session.fallback',
      sessionId: 's1',
      from: { provider: 'p', model: 'm' },
      to: { provider: 'q', model: 'n' },
      error: error('OVERLOADED'),
      at: 140,
      provider: 'p',
    });
    expect(spans[0]?.calls).toEqual([
      ['addEvent', 'attempt', { 'troupe.attempt': 1 }, 110],
      [
        'addEvent',
        'retry',
        {
          'troupe.attempt': 1,
          'troupe.retry.delay_ms': 50,
          'troupe.error.code': 'RATE_LIMITED',
          'troupe.error.retry_after_ms': 40,
        },
        120,
      ],
      [
        'addEvent',
        'retry',
        { 'troupe.attempt': 2, 'troupe.retry.delay_ms': 60, 'troupe.error.code': 'UNAVAILABLE' },
        130,
      ],
      [
        'addEvent',
        'fallback',
        {
          'troupe.fallback.from.provider': 'p',
          'troupe.fallback.from.model': 'm',
          'troupe.fallback.to.provider': 'q',
          'troupe.fallback.to.model': 'n',
          'troupe.error.code': 'OVERLOADED',
        },
        140,
      ],
    ]);
  });

  it('records a session event of a kind added later under its own name, with its scalar fields only', () => {
    const { spans, listener } = recorder();
    listener(queued());
    listener({
      type: 'session.rerouted',
      sessionId: 's1',
      at: 150,
      provider: 'p',
      hops: 2,
      final: true,
      nested: { no: 1 },
    } as unknown as RuntimeEvent);
    expect(spans[0]?.calls).toEqual([
      ['addEvent', 'rerouted', { 'troupe.provider': 'p', 'troupe.hops': 2, 'troupe.final': true }, 150],
    ]);
  });

  it('ends the span with the metadata as attributes: status OK when done, ERROR with the code when failed, unset when cancelled', () => {
    const { spans, listener } = recorder();
    for (const id of ['done', 'failed', 'timedOut', 'cancelled', 'nocode']) listener(queued(id));
    listener(
      ended(metadata({ sessionId: 'done', usage: { promptTokens: 7, completionTokens: 3 } as never })),
    );
    listener(ended(metadata({ sessionId: 'failed', state: 'failed', code: 'RATE_LIMITED' }), false));
    listener(ended(metadata({ sessionId: 'timedOut', state: 'timedOut', code: 'TIMED_OUT' }), false));
    listener(ended(metadata({ sessionId: 'cancelled', state: 'cancelled', code: 'CANCELLED' }), false));
    listener(ended(metadata({ sessionId: 'nocode', state: 'failed' }), false));
    const [done, failed, timedOut, cancelled, nocode] = spans;
    expect(done?.calls).toEqual([
      [
        'setAttributes',
        {
          'troupe.session.id': 'done',
          'troupe.request.id': 'r1',
          'troupe.provider': 'p',
          'troupe.model': 'm',
          'troupe.priority': 5,
          'troupe.state': 'done',
          'troupe.attempts': 1,
          'troupe.queued_ms': 1,
          'troupe.run_ms': 2,
          'troupe.total_ms': 3,
          'gen_ai.request.model': 'm',
          'gen_ai.usage.input_tokens': 7,
          'gen_ai.usage.output_tokens': 3,
        },
      ],
      ['setStatus', { code: 1 }],
      ['end', 900],
    ]);
    expect(failed?.calls.slice(1)).toEqual([
      ['setStatus', { code: 2, message: 'RATE_LIMITED' }],
      ['end', 900],
    ]);
    expect(timedOut?.calls.slice(1)).toEqual([
      ['setStatus', { code: 2, message: 'TIMED_OUT' }],
      ['end', 900],
    ]);
    expect(cancelled?.calls.slice(1)).toEqual([['end', 900]]);
    expect(nocode?.calls.slice(1)).toEqual([
      ['setStatus', { code: 2, message: 'failed' }],
      ['end', 900],
    ]);
  });

  it('forgets a span once its session ended, and ignores events of sessions it never saw queued', () => {
    const { spans, listener } = recorder();
    listener({ type: 'session.started', sessionId: 'unseen', attempt: 1, at: 1, provider: 'p' });
    listener(ended(metadata({ sessionId: 'unseen' })));
    expect(spans).toEqual([]);
    listener(queued());
    listener(ended(metadata()));
    listener({ type: 'session.started', sessionId: 's1', attempt: 2, at: 1000, provider: 'p' });
    listener(ended(metadata()));
    expect(spans[0]?.calls.map((call) => call[0])).toEqual(['setAttributes', 'setStatus', 'end']);
  });
});

describe('metadataAttributes', () => {
  it('leaves out the fields a metadata has not, rather than setting them to undefined', () => {
    expect(Object.keys(metadataAttributes(metadata()))).toEqual([
      'troupe.session.id',
      'troupe.request.id',
      'troupe.provider',
      'troupe.model',
      'troupe.priority',
      'troupe.state',
      'troupe.attempts',
      'troupe.queued_ms',
      'troupe.run_ms',
      'troupe.total_ms',
      'gen_ai.request.model',
    ]);
  });

  it('carries every field the metadata has, and leaves out those it has not', () => {
    expect(
      metadataAttributes(
        metadata({ label: 'l', code: 'C', finishReason: 'length', truncated: true, caller: { secret: 'x' } }),
      ),
    ).toStrictEqual({
      'troupe.session.id': 's1',
      'troupe.request.id': 'r1',
      'troupe.provider': 'p',
      'troupe.model': 'm',
      'troupe.priority': 5,
      'troupe.state': 'done',
      'troupe.attempts': 1,
      'troupe.queued_ms': 1,
      'troupe.run_ms': 2,
      'troupe.total_ms': 3,
      'troupe.label': 'l',
      'troupe.error.code': 'C',
      'troupe.finish_reason': 'length',
      'troupe.truncated': true,
      'gen_ai.request.model': 'm',
    });
  });
});
