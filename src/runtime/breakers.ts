/**
 * Circuit breakers per provider, one `machines/breaker.ts` snapshot per provider in the runtime's
 * `SharedState` (in memory: this process; on Redis: every instance reads and changes the same one).
 *
 * Before each provider call the runtime asks its provider's breaker (`admit`): closed, the call
 * goes (one read, no write); open, it fails fast with `PROVIDER_UNAVAILABLE` saying until when;
 * the first call after that is the probe. After the call it reports the outcome (`report`): a
 * 5xx (`PROVIDER_UNAVAILABLE`), a `NETWORK` error or a timeout after the provider had sent
 * nothing for `minTimeoutMs` counts as a failure; any other answer, errors included, shows the
 * provider answering. A call its caller cancelled, or cut short with a deadline of its own (a
 * timeout sooner than `minTimeoutMs`, or one that ended a stream still flowing), tells nothing
 * about the provider and counts neither way: one client's `timeout_ms: 1`, or its long prompts
 * streamed past its own deadline, must not open the breaker every client shares. If the shared state
 * cannot be reached (it rejects, or its adapter throws: `rejectingState`) the call goes (the breaker
 * fails open) and the error goes to `onError`.
 */
import {
  type BreakerSettings,
  type BreakerSnapshot,
  type BreakerState,
  initialBreaker,
  requestBreaker,
  stepBreaker,
} from '../../machines/breaker.js';
import type { Clock } from '../core/clock.js';
import { providerError, type TroupeError } from '../core/errors.js';
import { positiveInt, TIMER } from './option-numbers.js';
import type { SharedState } from './ports.js';
import { rejectingState } from './rejecting-state.js';

export interface BreakerOptions {
  /** Failures within `windowMs` that open a provider's breaker. @default 5 */
  readonly failures?: number;
  /** @default 30000 */
  readonly windowMs?: number;
  /** How long it stays open before one probe call may go. @default 30000 */
  readonly openMs?: number;
  /** How long a probe may be out before another may go (its instance died). @default 60000 */
  readonly probeTimeoutMs?: number;
  /**
   * A timeout counts as a failure only when the provider had sent nothing for at least this long,
   * in ms (no first byte, or a stream stalled that long); a sooner one, or one that ended a stream
   * still flowing, is the caller's own deadline and counts neither way. @default 30000
   */
  readonly minTimeoutMs?: number;
}

export const BREAKER_DEFAULTS: Required<BreakerOptions> = {
  failures: 5,
  windowMs: 30_000,
  openMs: 30_000,
  probeTimeoutMs: 60_000,
  minTimeoutMs: 30_000,
};

/** How a call the breaker let through ended, as `report` reads it. */
export interface BreakerOutcome {
  /** The error code it failed with; `null` when it answered, or ended without an error (cancelled). */
  readonly failure: string | null;
  /** It was ended here before the provider answered: cancelled, timed out or shut down. */
  readonly aborted: boolean;
  /** How long the provider had sent nothing when it ended (the whole call when no chunk came), in ms. */
  readonly silentMs: number;
  /** Its error concerned the model alone (`TroupeErrorData.modelScoped`): the provider answered. */
  readonly modelScoped?: true;
}

/** A call the breaker let through: `probe` is the probe's number when it is the half-open probe. */
export interface BreakerPass {
  readonly provider: string;
  readonly probe: number | null;
}

/** A provider's breaker as the dashboard and `status()` show it (the last state this instance saw). */
export interface BreakerView {
  readonly provider: string;
  readonly state: BreakerState;
  readonly failures: number;
  readonly threshold: number;
  readonly openUntil: number | null;
  readonly opened: number;
  readonly lastError: string | null;
}

/** The synchronous twins a memory `SharedState` has: used when present, so memory pays no promise. */
interface SyncState {
  readNow?(key: string): unknown;
  updateNow?<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
  ): R;
}

/** Failures whatever the call's length (a timeout's verdict depends on it: `verdictOf`). */
const FAILURE_CODES: ReadonlySet<string | null> = new Set(['PROVIDER_UNAVAILABLE', 'NETWORK']);

/** What an attempt's outcome tells of its provider: a failure, a success, or nothing (`void`). */
export function verdictOf(outcome: BreakerOutcome, minTimeoutMs: number): 'failure' | 'success' | 'void' {
  const { failure } = outcome;
  // A timeout counts only when the provider was silent that long: no first byte, or a stalled stream.
  if (failure === 'TIMED_OUT') return outcome.silentMs >= minTimeoutMs ? 'failure' : 'void';
  // "This model is overloaded" is an answer: the provider is up, and its other models may take calls.
  if (FAILURE_CODES.has(failure) && outcome.modelScoped !== true) return 'failure';
  return outcome.aborted ? 'void' : 'success';
}

export class Breakers {
  private readonly settings: BreakerSettings;
  private readonly minTimeoutMs: number;
  private readonly seen = new Map<string, BreakerSnapshot>();
  private readonly sync: SyncState;
  private readonly state: SharedState;

  constructor(
    state: SharedState,
    options: BreakerOptions,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {
    const { minTimeoutMs, ...settings } = { ...BREAKER_DEFAULTS, ...definedOnly(options) };
    this.settings = settings;
    this.minTimeoutMs = minTimeoutMs;
    // A length of time is a timer's: past Node's longest, it would fire at once.
    for (const [name, value] of Object.entries({ ...settings, minTimeoutMs }))
      positiveInt(`breakers.${name}`, value, name.endsWith('Ms') ? TIMER : undefined);
    this.sync = state as SyncState;
    // An adapter's throw fails as its rejection would: open, the call goes; the error to `onError`.
    this.state = rejectingState(state);
  }

  /** Asks `provider`'s breaker to let a call through: a pass, or the error that refuses it. */
  admit(provider: string): BreakerPass | TroupeError | Promise<BreakerPass | TroupeError> {
    const key = keyOf(provider);
    const { readNow } = this.sync;
    if (readNow !== undefined) {
      const stored = readNow.call(this.sync, key) as BreakerSnapshot | undefined;
      if (stored !== undefined) this.seen.set(provider, stored);
      if (stored === undefined || stored.value === 'closed') return { provider, probe: null };
      return this.request(provider);
    }
    return this.state.read<BreakerSnapshot>(key).then(
      (stored) => {
        if (stored !== undefined) this.seen.set(provider, stored);
        if (stored === undefined || stored.value === 'closed') return { provider, probe: null };
        return this.request(provider);
      },
      (error: unknown) => this.failOpen(provider, error),
    );
  }

  /** The outcome of a call `admit` let through. */
  report(pass: BreakerPass, outcome: BreakerOutcome): void {
    const verdict = verdictOf(outcome, this.minTimeoutMs);
    // A plain call's answer, or a call that told nothing, changes nothing: only failures and the
    // probe's end are written.
    if (verdict !== 'failure' && pass.probe === null) return;
    const now = this.clock.now();
    const { probe } = pass;
    const event =
      verdict === 'failure'
        ? ({ type: 'breaker.failure', now, code: outcome.failure as string, probe } as const)
        : ({ type: verdict === 'success' ? 'breaker.success' : 'breaker.void', now, probe } as const);
    const change = (s: BreakerSnapshot) => {
      const next = stepBreaker(s, event);
      return { state: next, result: { state: next } };
    };
    const done = this.change(pass.provider, change);
    if (done instanceof Promise) done.catch(this.onError);
  }

  /** The last state seen of each provider's breaker. */
  views(): BreakerView[] {
    return [...this.seen].map(([provider, { value, context }]) => ({
      provider,
      state: value,
      failures: context.failures.length,
      threshold: context.settings.failures,
      openUntil: context.openUntil,
      opened: context.opened,
      lastError: context.lastError,
    }));
  }

  private request(provider: string): BreakerPass | TroupeError | Promise<BreakerPass | TroupeError> {
    const now = this.clock.now();
    const verdict = this.change(provider, (s) => {
      const step = requestBreaker(s, now);
      return { state: step.state, result: step };
    });
    const toPass = (step: ReturnType<typeof requestBreaker>): BreakerPass | TroupeError => {
      const { result, state } = step;
      if (result.kind === 'pass') return { provider, probe: null };
      if (result.kind === 'probe') return { provider, probe: result.probe };
      return refusal(provider, state, result.until, now);
    };
    if (verdict instanceof Promise)
      return verdict.then(toPass, (error: unknown) => this.failOpen(provider, error));
    return toPass(verdict);
  }

  /** Changes `provider`'s snapshot atomically; synchronously when the state can. */
  private change<R extends { readonly state: BreakerSnapshot }>(
    provider: string,
    change: (s: BreakerSnapshot) => { readonly state: BreakerSnapshot; readonly result: R },
  ): R | Promise<R> {
    const init = () => initialBreaker(this.settings);
    const remember = (result: R) => {
      this.seen.set(provider, result.state);
      return result;
    };
    const { updateNow } = this.sync;
    if (updateNow !== undefined)
      return remember(
        updateNow.call<SyncState, [string, () => BreakerSnapshot, typeof change], R>(
          this.sync,
          keyOf(provider),
          init,
          change,
        ),
      );
    return this.state.update(keyOf(provider), init, change).then(remember);
  }

  private failOpen(provider: string, error: unknown): BreakerPass {
    this.onError(error);
    return { provider, probe: null };
  }
}

function keyOf(provider: string): string {
  return `breaker:${provider}`;
}

function refusal(provider: string, snapshot: BreakerSnapshot, until: number, now: number): TroupeError {
  const { context } = snapshot;
  const when = `${new Date(until).toISOString()} (in ${Math.max(0, Math.ceil((until - now) / 1000))} s)`;
  const why =
    snapshot.value === 'open'
      ? `its circuit breaker open after ${context.settings.failures} failures within ${context.settings.windowMs} ms (last ${context.lastError}) until ${when}, when one probe call may go`
      : `its circuit breaker half-open with its one probe call out until ${when} at the latest`;
  return providerError(
    'PROVIDER_UNAVAILABLE',
    `Expected provider \`${provider}\` to take calls, got ${why}; call again after that, or name a fallback`,
    { retryable: false, retryAfterMs: Math.max(0, until - now) },
  );
}

function definedOnly(options: BreakerOptions): Partial<BreakerSettings> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
