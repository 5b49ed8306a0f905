/**
 * OpenTelemetry, optional: one span per session, through a tracer the caller gives
 * (`createRuntime({ tracer: trace.getTracer('troupe') })` with `@opentelemetry/api`). troupe imports
 * nothing of OpenTelemetry: `SessionTracer` is the part of the API's `Tracer` it calls, so the
 * package is an optional peer and, with no tracer, no tracing code runs at all.
 *
 * The span (`troupe.session`) starts when the session is queued and ends with it. It carries the
 * session's metadata as attributes (`troupe.*`, token usage as `gen_ai.usage.*`) and, as span events,
 * each attempt (`attempt`), each retry (`retry`: attempt, delay, error code), each fallback hop
 * (`fallback`: from, to, error code), and any session event added later (other than streamed chunks)
 * under its own name with its scalar fields. Status: OK when `done`,
 * ERROR with the error code when `failed` or `timedOut`; a cancelled session leaves it unset. No
 * prompt, answer, caller metadata or key goes into a span.
 */
import type { RuntimeEvent, SessionMetadata } from './types.js';

export type TraceAttributes = Record<string, string | number | boolean>;

/** The calls troupe makes on an OpenTelemetry span; `@opentelemetry/api`'s `Span` has them. */
export interface TraceSpan {
  setAttributes(attributes: TraceAttributes): unknown;
  addEvent(name: string, attributes?: TraceAttributes, startTime?: number): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: number): void;
  /** `false` for the API's no-op span (no SDK, or not sampled): troupe then records nothing more. */
  isRecording?(): boolean;
}

/** The call troupe makes on an OpenTelemetry tracer; `trace.getTracer('troupe')` is one. */
export interface SessionTracer {
  startSpan(name: string, options?: { attributes?: TraceAttributes; startTime?: number }): TraceSpan;
}

/** OpenTelemetry's `SpanStatusCode`. */
const OK = 1;
const ERROR = 2;
/** Spans of sessions still running; a session has one, so this is bounded by the live sessions. */
type Open = Map<string, TraceSpan>;

/** A runtime listener that keeps one span per session. */
export function sessionTracing(tracer: SessionTracer): (event: RuntimeEvent) => void {
  const open: Open = new Map();
  return (event) => {
    // Supervisor events have no `sessionId`: no span is found for them below.
    if (event.type === 'session.delta') return;
    const e = event as Extract<RuntimeEvent, { sessionId: string }>;
    if (e.type === 'session.queued') {
      open.set(
        e.sessionId,
        tracer.startSpan('troupe.session', {
          attributes: defined({
            'troupe.session.id': e.sessionId,
            'troupe.provider': e.provider,
            'troupe.label': e.label,
          }),
          startTime: e.at,
        }),
      );
      return;
    }
    const span = open.get(e.sessionId);
    if (span === undefined) return;
    switch (e.type) {
      case 'session.started':
        span.addEvent('attempt', { 'troupe.attempt': e.attempt }, e.at);
        return;
      case 'session.retry':
        span.addEvent(
          'retry',
          defined({
            'troupe.attempt': e.attempt,
            'troupe.retry.delay_ms': e.delayMs,
            'troupe.error.code': e.error.code,
            'troupe.error.retry_after_ms': e.error.retryAfterMs,
          }),
          e.at,
        );
        return;
      case 'session.fallback':
        span.addEvent(
          'fallback',
          {
            'troupe.fallback.from.provider': e.from.provider,
            'troupe.fallback.from.model': e.from.model,
            'troupe.fallback.to.provider': e.to.provider,
            'troupe.fallback.to.model': e.to.model,
            'troupe.error.code': e.error.code,
          },
          e.at,
        );
        return;
      case 'session.progress':
        return;
      case 'session.ended': {
        open.delete(e.sessionId);
        const { metadata } = e.result;
        span.setAttributes(metadataAttributes(metadata));
        if (metadata.state === 'done') span.setStatus({ code: OK });
        else if (metadata.state !== 'cancelled')
          span.setStatus({ code: ERROR, message: metadata.code ?? metadata.state });
        span.end(e.at);
        return;
      }
      default:
        // A session event added later (a fallback hop, ...): its scalar fields, under its own name.
        span.addEvent(
          (e as { type: string }).type.slice('session.'.length),
          scalars(e),
          (e as { at: number }).at,
        );
    }
  };
}

export function metadataAttributes(m: SessionMetadata): TraceAttributes {
  return defined({
    'troupe.session.id': m.sessionId,
    'troupe.request.id': m.requestId,
    'troupe.provider': m.provider,
    'troupe.model': m.model,
    'troupe.priority': m.priority,
    'troupe.state': m.state,
    'troupe.attempts': m.attempts,
    'troupe.queued_ms': m.queuedMs,
    'troupe.run_ms': m.runMs,
    'troupe.total_ms': m.totalMs,
    'troupe.label': m.label,
    'troupe.error.code': m.code,
    'troupe.finish_reason': m.finishReason,
    'troupe.truncated': m.truncated,
    'gen_ai.request.model': m.model,
    'gen_ai.usage.input_tokens': m.usage?.promptTokens,
    'gen_ai.usage.output_tokens': m.usage?.completionTokens,
  });
}

/** OpenTelemetry warns about an attribute set to `undefined`: absent ones are left out. */
function defined(attributes: Record<string, string | number | boolean | undefined>): TraceAttributes {
  const out: TraceAttributes = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function scalars(event: object): TraceAttributes {
  const out: TraceAttributes = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type' || key === 'at' || key === 'sessionId') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      out[`troupe.${key}`] = value;
  }
  return out;
}
