/**
 * The session machine with the runtime's effects provided: starting and aborting the provider
 * call (the session's child) and telling observers about starts, deltas, progress and retries.
 */
import type { RouteTargetData, RoutingData } from '../../machines/routing.js';
import type { SessionMachineEvent } from '../../machines/session.js';
import { sessionMachine } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import type { TroupeErrorData } from '../core/errors.js';
import type { RuntimeCounters } from './counters.js';
import type { EventHub } from './event-hub.js';
import { fallbackEvent, startedEvent } from './lending.js';
import { type CallGate, type CallSink, ProviderCall } from './provider-call.js';
import { workFor } from './routing.js';
import type { SessionRecord } from './session-record.js';
import type { SessionEvent } from './types.js';

export interface SessionEffects {
  readonly clock: Clock;
  readonly random: () => number;
  readonly counters: RuntimeCounters;
  readonly events: EventHub;
  /** The session an actor runs: an action finds its record through the actor it runs on (`self`). */
  recordOf(self: object): SessionRecord;
  deliver(record: SessionRecord, event: SessionMachineEvent): void;
  /** What each provider call passes first (breakers, budgets), when the runtime has any. */
  readonly gate?: CallGate<SessionRecord> | undefined;
}

export function provideSessionMachine(fx: SessionEffects) {
  const { clock, events } = fx;
  // One sink for every call: a call knows its session, so none of this is made per call.
  const sink: CallSink<SessionRecord> = {
    gate: fx.gate,
    now: () => clock.now(),
    random: fx.random,
    deliver: (call, event) => {
      // A call the session already left (aborted, or an older attempt) reports nothing.
      // Stryker disable next-line ConditionalExpression: a call the session left was aborted first, and an aborted call reports nothing either.
      if (call.owner.call === call) fx.deliver(call.owner, event);
    },
    value: (call, value) => {
      call.owner.value = value;
    },
    report: (error) => events.report(error),
    progress: (call, progress, total, message) => {
      if (!events.wants(call.owner)) return;
      const event: Extract<SessionEvent, { type: 'session.progress' }> = {
        type: 'session.progress',
        sessionId: call.sessionId,
        progress,
        at: clock.now(),
      };
      events.emit(
        call.owner,
        Object.assign(event, total === undefined ? {} : { total }, message === undefined ? {} : { message }),
      );
    },
  };
  return sessionMachine.provide({
    actions: {
      startProviderCall: ({ context, self }) => {
        const record = fx.recordOf(self);
        const { input } = context;
        const call = new ProviderCall(record, input.sessionId, context.attempts, sink, input.idleTimeoutMs);
        record.call = call;
        // A session has a routing exactly when its input has targets (`initialContext`).
        const { routing } = context;
        const targets = input.targets;
        const work =
          targets === undefined
            ? record.work
            : workFor(record.work, targets[(routing as RoutingData).target]);
        call.start(work, input.stream);
      },
      abortProviderCall: ({ event, self }) => {
        const record = fx.recordOf(self);
        const call = record.call;
        if (call === null) return;
        // Kept for what its stream delivered, should the session end without an answer (final: a
        // stream that delivered text neither retries nor falls back).
        record.left = call;
        call.abort(abortReason(event), event.type === 'session.tick');
        record.call = null;
      },
      notifyStarted: ({ context, self }) => {
        const record = fx.recordOf(self);
        if (!events.wants(record)) return;
        events.emit(record, startedEvent(record, context.attempts, clock.now()));
      },
      // Run only on `provider.chunk` (notifyDelta), after `fallBack` (notifyFallback: its error and
      // routing set, on a session with targets), on `provider.error` (notifyRetry).
      notifyDelta: ({ event, self }) => {
        tellDelta(
          events,
          fx.recordOf(self),
          event as Extract<SessionMachineEvent, { type: 'provider.chunk' }>,
        );
      },
      notifyFallback: ({ context, event, self }) => {
        const error = context.error as TroupeErrorData;
        const routing = context.routing as RoutingData;
        const targets = context.input.targets as readonly RouteTargetData[];
        // An error a provider answered; a session moved on from a cooldown received none, and an
        // idle timeout before the first delta is the runtime's (TIMED_OUT), as the exporter counts.
        const withoutCall = event.type === 'session.reroute';
        if (!withoutCall && error.family === 'provider') fx.counters.providerError(error.code);
        const record = fx.recordOf(self);
        if (!events.wants(record)) return;
        const from = targets[routing.left] as RouteTargetData;
        const to = targets[routing.target] as RouteTargetData;
        events.emit(
          record,
          fallbackEvent(record, {
            type: 'session.fallback',
            sessionId: context.input.sessionId,
            from: { provider: from.provider, model: from.model },
            to: { provider: to.provider, model: to.model },
            error,
            ...(withoutCall ? { withoutCall: true as const } : {}),
            at: (event as { now: number }).now,
          }),
        );
      },
      notifyRetry: ({ context, event: received, self }) => {
        const event = received as Extract<SessionMachineEvent, { type: 'provider.error' }>;
        fx.counters.retries++;
        fx.counters.providerError(event.error.code);
        const record = fx.recordOf(self);
        if (!events.wants(record)) return;
        events.emit(record, {
          type: 'session.retry',
          sessionId: context.input.sessionId,
          attempt: context.attempts + 1,
          delayMs: (context.retryAt ?? event.now) - event.now,
          error: event.error,
          at: event.now,
        });
      },
    },
  });
}

/**
 * Tells a session's observers of a delta (`session.delta`). A chunk without one stands for deltas
 * they already have (`delta-folding.ts`).
 */
export function tellDelta(
  events: EventHub,
  record: SessionRecord,
  event: Extract<SessionMachineEvent, { type: 'provider.chunk' }>,
): void {
  if (event.delta === undefined || !events.wants(record)) return;
  events.emit(record, {
    type: 'session.delta',
    sessionId: record.input.sessionId,
    delta: event.delta as never,
    chars: event.chars,
    at: event.now,
  });
}

function abortReason(event: SessionMachineEvent): string {
  switch (event.type) {
    case 'session.cancel':
      return event.reason;
    case 'session.tick':
      return 'a deadline passed';
    default:
      return 'the attempt ended';
  }
}
