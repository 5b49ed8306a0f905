/**
 * Plain sessions for the unit tests of the session parts (record, driver, actions, table, handle):
 * an input, a context, a record and a provider whose calls wait until the test settles them.
 */

import { SimulatedClock } from 'xstate';
import type { RouteTargetData } from '../../../machines/routing.js';
import { initialContext, type SessionContext, type SessionInput } from '../../../machines/session.js';
import { providerError, type TroupeErrorData } from '../../../src/core/errors.js';
import type {
  CallOptions,
  ChatDelta,
  ChatProvider,
  ChatRequest,
  ChatResponse,
} from '../../../src/providers/port.js';
import { RuntimeCounters } from '../../../src/runtime/counters.js';
import { EventHub } from '../../../src/runtime/event-hub.js';
import { type DriverSettings, SessionDriver } from '../../../src/runtime/session-driver.js';
import { recordOf, type SessionRecord, type SessionWork } from '../../../src/runtime/session-record.js';
import { SessionTable } from '../../../src/runtime/session-table.js';
import type { SessionEvent } from '../../../src/runtime/types.js';

export function sessionInput(overrides: Partial<SessionInput> = {}): SessionInput {
  return {
    sessionId: 's1',
    requestId: 'r1',
    provider: 'p',
    model: 'm',
    priority: 3,
    stream: false,
    createdAt: 100,
    queueDeadlineAt: 1100,
    timeoutMs: 5000,
    idleTimeoutMs: 1000,
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 10_000,
    ...overrides,
  };
}

export function sessionContext(
  input: SessionInput = sessionInput(),
  overrides: Partial<SessionContext> = {},
): SessionContext {
  return { ...initialContext(input), ...overrides };
}

export function target(provider: string, model: string, fits = true): RouteTargetData {
  return { provider, model, contextWindow: null, fits };
}

export const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

export function chatWork(provider: ChatProvider, providers?: ReadonlyMap<string, ChatProvider>): SessionWork {
  return providers === undefined
    ? { kind: 'chat', provider, request }
    : { kind: 'chat', provider, request, providers };
}

export function newRecord(
  input: SessionInput,
  work: SessionWork,
  extra: Partial<SessionRecord> = {},
): SessionRecord & { results: unknown[] } {
  const results: unknown[] = [];
  // The runtime's own new record (`recordOf`): every session test starts from what `track` queues.
  return {
    ...recordOf({ input, work, label: undefined, caller: undefined, callerTruncated: false }),
    resolve: (result) => {
      results.push(result);
    },
    results,
    ...extra,
  };
}

export interface HeldCall {
  readonly request: ChatRequest;
  readonly signal: AbortSignal;
  answer(response: ChatResponse): void;
  fail(error: unknown): void;
  /** A streamed call: sends one delta (only for `stream`). */
  push(delta: ChatDelta): void;
}

/** A provider whose calls wait for the test: `answer`, `fail`, or (streamed) `push` deltas. */
export class HeldProvider implements ChatProvider {
  readonly calls: HeldCall[] = [];

  constructor(readonly name: string) {}

  complete(request: ChatRequest, options: CallOptions): Promise<ChatResponse> {
    return new Promise<ChatResponse>((resolve, reject) => {
      this.calls.push({
        request,
        signal: options.signal,
        answer: resolve,
        fail: reject,
        push: () => {
          throw new Error('Expected a streamed call, got a completion');
        },
      });
    });
  }

  async *stream(request: ChatRequest, options: CallOptions): AsyncIterable<ChatDelta> {
    const queue: ChatDelta[] = [];
    let wake: (() => void) | undefined;
    let end: { error?: unknown } | undefined;
    this.calls.push({
      request,
      signal: options.signal,
      answer: () => {
        end = {};
        wake?.();
      },
      fail: (error) => {
        end = { error };
        wake?.();
      },
      push: (delta) => {
        queue.push(delta);
        wake?.();
      },
    });
    for (;;) {
      const delta = queue.shift();
      if (delta !== undefined) {
        yield delta;
        continue;
      }
      if (end !== undefined) {
        if (end.error !== undefined) throw end.error;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
}

export const unavailable: TroupeErrorData = {
  family: 'provider',
  code: 'PROVIDER_UNAVAILABLE',
  message: 'Expected a completion, got 503',
  retryable: true,
  status: 503,
};

/** A 503 as an adapter throws it: `unavailable` as data. */
export const unavailableError = () =>
  providerError('PROVIDER_UNAVAILABLE', 'Expected a completion, got 503', { status: 503 });

export const authFailed: TroupeErrorData = {
  family: 'provider',
  code: 'AUTH_FAILED',
  message: 'Expected the key to be accepted, got 401',
  retryable: false,
  status: 401,
};

/** Lets every pending promise callback run. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** An event hub that also keeps every event it was asked to emit (even with nobody listening). */
export class KeptEvents extends EventHub {
  readonly emitted: SessionEvent[] = [];

  /** `onError`: the runtime's; by default it throws (what it throws goes to the process's warnings). */
  constructor(
    onError: (error: unknown) => void = (error) => {
      throw error;
    },
  ) {
    super(onError);
  }

  override emit(record: SessionRecord, event: SessionEvent): void {
    // A copy: the hub may add `provider` and `label` to the event itself for its subscribers (its
    // contract: each event is a new object for one call), and these tests state what was emitted.
    this.emitted.push({ ...event });
    super.emit(record, event);
  }

  of<T extends SessionEvent['type']>(type: T): Extract<SessionEvent, { type: T }>[] {
    return this.emitted.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
  }
}

/** A driver on a simulated clock at 100, with its settings' calls counted (`onError`: the runtime's). */
export function driverWorld(settings: Partial<DriverSettings> = {}, onError?: (error: unknown) => void) {
  const clock = new SimulatedClock();
  clock.set(100);
  const counters = new RuntimeCounters();
  const events = new KeptEvents(onError);
  const table = new SessionTable(10);
  const released: SessionRecord[] = [];
  let ended = 0;
  const driver = new SessionDriver({
    clock,
    random: () => 0.5,
    counters,
    events,
    table,
    engine: {},
    release: (record) => released.push(record),
    ended: () => {
      ended++;
    },
    ...settings,
  });
  const provider = new HeldProvider('p');
  /** A record in the table, not yet admitted. */
  const add = (input: SessionInput = sessionInput(), work: SessionWork = chatWork(provider)) => {
    const record = newRecord(input, work);
    table.add(record);
    return record;
  };
  return {
    clock,
    counters,
    events,
    table,
    released,
    driver,
    provider,
    add,
    get ended() {
      return ended;
    },
    admit: (record: SessionRecord) => driver.deliver(record, { type: 'session.admit', now: clock.now() }),
  };
}
