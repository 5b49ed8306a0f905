/**
 * The session machine with the runtime's effects provided: starting and aborting the provider
 * call (the session's child) and telling observers about starts, deltas, progress and retries.
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import { sessionMachine } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import type { RuntimeCounters } from './counters.js';
import { type CallEvent, ProviderCall } from './provider-call.js';
import type { SessionRecord } from './session-record.js';
import type { SessionEvent } from './types.js';

export interface SessionEffects {
  readonly clock: Clock;
  readonly random: () => number;
  readonly counters: RuntimeCounters;
  recordOf(sessionId: string): SessionRecord | undefined;
  deliver(record: SessionRecord, event: SessionMachineEvent): void;
  emit(record: SessionRecord, make: () => SessionEvent): void;
}

export function provideSessionMachine(fx: SessionEffects) {
  const { clock } = fx;
  return sessionMachine.provide({
    actions: {
      startProviderCall: ({ context }) => {
        const record = fx.recordOf(context.input.sessionId)!;
        const call = new ProviderCall();
        record.call = call;
        call.start(record.work, context.input.stream, {
          sessionId: context.input.sessionId,
          attempt: context.attempts,
          now: () => clock.now(),
          random: fx.random,
          deliver: (event: CallEvent) => {
            // A call the session already left (aborted, or an older attempt) reports nothing.
            if (record.call === call) fx.deliver(record, event);
          },
          value: (value) => {
            record.value = value;
          },
          progress: (progress, total, message) => {
            fx.emit(record, () => {
              const event: Extract<SessionEvent, { type: 'session.progress' }> = {
                type: 'session.progress',
                sessionId: context.input.sessionId,
                progress,
                at: clock.now(),
              };
              return Object.assign(
                event,
                total === undefined ? {} : { total },
                message === undefined ? {} : { message },
              );
            });
          },
        });
      },
      abortProviderCall: ({ context, event }) => {
        const record = fx.recordOf(context.input.sessionId);
        if (record?.call == null) return;
        record.call.abort(abortReason(event));
        record.call = null;
      },
      notifyStarted: ({ context }) => {
        fx.emit(fx.recordOf(context.input.sessionId)!, () => ({
          type: 'session.started',
          sessionId: context.input.sessionId,
          attempt: context.attempts,
          at: clock.now(),
        }));
      },
      notifyDelta: ({ context, event }) => {
        if (event.type !== 'provider.chunk') return;
        fx.emit(fx.recordOf(context.input.sessionId)!, () => ({
          type: 'session.delta',
          sessionId: context.input.sessionId,
          delta: event.delta as never,
          chars: event.chars,
          at: event.now,
        }));
      },
      notifyRetry: ({ context, event }) => {
        if (event.type !== 'provider.error') return;
        fx.counters.retries++;
        fx.counters.providerError(event.error.code);
        fx.emit(fx.recordOf(context.input.sessionId)!, () => ({
          type: 'session.retry',
          sessionId: context.input.sessionId,
          attempt: context.attempts + 1,
          delayMs: (context.retryAt ?? event.now) - event.now,
          error: event.error,
          at: event.now,
        }));
      },
    },
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
