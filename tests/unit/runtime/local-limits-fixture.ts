/**
 * A `LocalLimits` on a manual clock, with the scheduler's lanes and the alarm recorded, and plain
 * session records (no actor unless a fallback target is given): what the in-memory admission loop
 * hands it, without a runtime.
 */
import type { RouteTargetData } from '../../../machines/routing.js';
import type { SessionInput, SessionMachineEvent } from '../../../machines/session.js';
import { estimateTokens } from '../../../src/providers/estimate.js';
import type { ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import type { ProviderLimitsConfig } from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { LocalLimits } from '../../../src/runtime/local-limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import type { SessionActor } from '../../../src/runtime/session-engine.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';
import { ManualClock } from '../../support/manual-clock.js';

export const T0 = 10 * 3_600_000 + 500; // mid-second, mid-hour
/** The minute window's first bucket leaves it 61 s after its second began. */
export const MINUTE_OPENS = T0 - 500 + 61_000;
export const DEFAULT_COMPLETION = 700;
const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hello there' }] };
/** What each chat session here is charged: its prompt and the default completion budget. */
export const TOKENS = estimateTokens(request, DEFAULT_COMPLETION).total;

export const target = (provider: string, model: string): RouteTargetData => ({
  provider,
  model,
  contextWindow: null,
  fits: true,
});
export const CHAIN = [target('p', 'm'), target('q', 'n')];

export interface RecordOptions {
  readonly provider?: string;
  readonly admitted?: boolean;
  readonly task?: boolean;
  /** The fallback chain (`input.targets`). */
  readonly targets?: readonly RouteTargetData[];
  /** The index its actor's routing is at (a started session with a chain). */
  readonly at?: number;
  readonly queueDeadlineAt?: number;
  /** @default 'm' */
  readonly model?: string;
  /** Its actor's run deadline (with `at`). @default null */
  readonly runDeadlineAt?: number;
}

export function record(id: string, options: RecordOptions = {}): SessionRecord {
  const provider = options.provider ?? 'p';
  const input: SessionInput = {
    sessionId: id,
    requestId: `req-${id}`,
    provider,
    model: options.model ?? 'm',
    priority: 0,
    stream: false,
    createdAt: T0,
    queueDeadlineAt: options.queueDeadlineAt ?? T0 + 5_000,
    timeoutMs: 60_000,
    idleTimeoutMs: 30_000,
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    ...(options.targets === undefined ? {} : { targets: options.targets }),
  };
  const routing = options.at === undefined ? null : { target: options.at };
  const actor =
    options.at === undefined
      ? null
      : ({
          getSnapshot: () => ({ context: { input, routing, runDeadlineAt: options.runDeadlineAt ?? null } }),
        } as unknown as SessionActor);
  return {
    provider,
    priority: 0,
    seq: 0,
    wakeAt: 0,
    heapIndex: -1,
    queuedBytes: 0,
    queuedTurn: undefined,
    input,
    work: options.task
      ? { kind: 'task', task: async () => 1 }
      : { kind: 'chat', provider: {} as ChatProvider, request },
    label: undefined,
    caller: undefined,
    callerTruncated: false,
    actor,
    leaf: options.admitted ? 'calling' : 'queued',
    call: null,
    admitted: options.admitted ?? false,
    result: null,
    resolve: () => {},
    value: undefined,
    observers: null,
    detachSignal: null,
  };
}

export const rateLimited = (retryAfterMs?: number): SessionMachineEvent => ({
  type: 'provider.error',
  now: 0,
  random: 0,
  error: { family: 'provider', code: 'RATE_LIMITED', message: '429', retryable: true, retryAfterMs },
});
export const unavailable: SessionMachineEvent = {
  type: 'provider.error',
  now: 0,
  random: 0,
  error: { family: 'provider', code: 'PROVIDER_UNAVAILABLE', message: '503', retryable: true },
};
export const answered = (totalTokens?: number): SessionMachineEvent => ({
  type: 'provider.done',
  now: 0,
  output: { content: 'ok' },
  ...(totalTokens === undefined
    ? {}
    : { usage: { promptTokens: 1, completionTokens: totalTokens - 1, totalTokens } }),
});
export const tick: SessionMachineEvent = { type: 'session.tick', now: 0 };

export interface SetupOptions {
  /** A shared backend: the limiter every instance shares, over this state (in memory by default). */
  readonly shared?: SharedState | true;
  /** What a call is charged (`ResolvedLimits.charge`). @default its estimate with `DEFAULT_COMPLETION` */
  readonly charge?: (request: ChatRequest, provider: string, model: string) => number;
  /** What the runtime does with a session the shared limiter let go, after it is recorded in `went`. */
  readonly go?: (record: SessionRecord) => void;
}

export function setup(config: Record<string, ProviderLimitsConfig> = {}, options: SetupOptions = {}) {
  const clock = new ManualClock();
  clock.time = T0;
  const limitsConfig = new Map(Object.entries(config));
  const armed: (number | null)[] = [];
  const lanes: string[] = [];
  const full = new Set<string>();
  const alarm = { wakeAt: 0, heapIndex: -1, fire: () => {} };
  const went: SessionRecord[] = [];
  const errors: unknown[] = [];
  /** Each retry's wait as told (`SharedLimiter.waited`): `<session> <waitingFor or ->`. */
  const waited: string[] = [];
  const sharedState =
    options.shared === undefined
      ? undefined
      : options.shared === true
        ? new MemorySharedState(clock)
        : options.shared;
  const sharedLimiter = sharedState === undefined ? undefined : new Limiter(limitsConfig, sharedState);
  const limits = new LocalLimits(
    limitsConfig,
    clock,
    options.charge ?? ((request) => estimateTokens(request, DEFAULT_COMPLETION).total),
    (which, at) => {
      if (which !== alarm) throw new Error('Expected the alarm given to LocalLimits, got another');
      armed.push(at);
    },
    alarm,
    {
      leave: (provider) => lanes.push(`leave ${provider}`),
      hasRoom: (provider) => !full.has(provider),
      enter: (provider) => lanes.push(`enter ${provider}`),
    },
    sharedLimiter === undefined
      ? undefined
      : {
          limiter: sharedLimiter,
          go: (r) => {
            went.push(r);
            options.go?.(r);
          },
          onError: (error) => errors.push(error),
          waited: (r) => waited.push(`${r.input.sessionId} ${r.waitingFor ?? '-'}`),
        },
  );
  return { clock, limits, armed, lanes, full, went, errors, waited, sharedLimiter, sharedState };
}

/** Lets the shared limiter's promises settle (the in-memory state answers within microtasks). */
export const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
