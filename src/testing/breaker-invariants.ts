/**
 * The model's own copy of each provider's circuit breaker (`machines/breaker.ts`, stepped as the
 * runtime's `Breakers` steps it: `requestBreaker` at a call's start, `verdictOf` and `stepBreaker`
 * at its end), driven by the events alone, not by `status().breakers`:
 *
 * - at each `session.started` (the gate is asked at that instant, in memory synchronously) the copy
 *   says whether the call passes, is the half-open probe, or is refused;
 * - at the attempt's end (`session.retry`, `session.fallback`, `session.ended`) the outcome is read
 *   from the event: its error code, whether the session ended it (cancelled, timed out), how long
 *   the provider had been silent (since the start or its last `session.delta`), whether the error
 *   was its model's alone; a refusal by its own gate (`refusedByGate`) reports nothing.
 *
 * `breakerHolds`: a start the copy refuses ends refused by its gate, and one it lets through is not
 * refused. `statusCounts` (here for the breakers): after each command `status().breakers` shows
 * the copy: each provider's state, failures in the window, threshold, `openUntil`, times opened and
 * last error, and no provider the calls never wrote. `breakerAt` is what `workConserved` judges by.
 */
import {
  type BreakerSettings,
  type BreakerSnapshot,
  initialBreaker,
  requestBreaker,
  stepBreaker,
} from '../../machines/breaker.js';
import type { TroupeErrorData } from '../core/errors.js';
import {
  BREAKER_DEFAULTS,
  type BreakerOptions,
  type BreakerOutcome,
  verdictOf,
} from '../runtime/breakers.js';
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { Violation } from './invariants.js';
import { refusedByGate } from './limit-invariants.js';

/** A call the copy judged at its start. */
interface CallSeen {
  readonly provider: string;
  readonly at: number;
  /** `null`: the copy refused it; else the probe's number, or `null` probe for a plain call. */
  readonly pass: { readonly probe: number | null } | null;
  /** Why the copy refused it, for the report. */
  readonly why: string;
  /** When the provider last sent something: the start, then each delta. */
  heardAt: number;
}

export class BreakersSeen {
  readonly violations: Violation[] = [];
  private readonly settings: BreakerSettings;
  private readonly minTimeoutMs: number;
  /** Each provider's breaker, once a call's outcome wrote it (as the runtime's shared state). */
  private readonly copies = new Map<string, BreakerSnapshot>();
  /** Each session's current target's provider. */
  private readonly current = new Map<string, string>();
  private readonly calls = new Map<string, CallSeen>();
  private reported = false;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'status'>,
    options: BreakerOptions,
  ) {
    const { minTimeoutMs, ...settings } = { ...BREAKER_DEFAULTS, ...options };
    this.settings = settings;
    this.minTimeoutMs = minTimeoutMs;
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  /** The earliest `openUntil` of a breaker open in the copy (`undefined`: none is open), for `ToBreakerEdge`. */
  nextEdge(): number | undefined {
    return earliestOpenUntil(this.copies.values());
  }

  /** The copy's state of `provider`'s breaker (`closed` before any failure). */
  stateOf(provider: string): BreakerSnapshot['value'] {
    return this.copies.get(provider)?.value ?? 'closed';
  }

  private onEvent(event: RuntimeEvent): void {
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    switch (event.type) {
      case 'session.queued':
        this.current.set(id, event.provider);
        return;
      case 'session.started':
        this.start(id, this.current.get(id) ?? event.provider, event.at);
        return;
      case 'session.delta': {
        const call = this.calls.get(id);
        if (call !== undefined) call.heardAt = event.at;
        return;
      }
      case 'session.retry':
        this.end(id, event.error, event.at, false);
        return;
      case 'session.fallback':
        this.end(id, event.error, event.at, event.error.timeout !== undefined);
        this.current.set(id, event.to.provider);
        return;
      case 'session.ended': {
        const { state } = event.result.metadata;
        const error = event.result.ok ? undefined : event.result.error;
        if (state === 'cancelled') this.end(id, undefined, event.at, true);
        else if (state === 'timedOut') this.end(id, { code: 'TIMED_OUT' } as TroupeErrorData, event.at, true);
        else this.end(id, error, event.at, false);
        this.current.delete(id);
        return;
      }
      default:
        return;
    }
  }

  /** A call's start: the copy's verdict, as `Breakers.admit` gives it. */
  private start(id: string, provider: string, at: number): void {
    const copy = this.copies.get(provider);
    if (copy === undefined || copy.value === 'closed') {
      this.calls.set(id, { provider, at, pass: { probe: null }, why: 'closed', heardAt: at });
      return;
    }
    const { state, result } = requestBreaker(copy, at);
    this.copies.set(provider, state);
    const pass = result.kind === 'refused' ? null : { probe: result.kind === 'probe' ? result.probe : null };
    const why =
      result.kind === 'refused'
        ? `${result.state === 'open' ? 'open' : 'half-open with its probe out'} until ${result.until}`
        : result.kind === 'probe'
          ? `its probe ${result.probe} (open until ${copy.context.openUntil})`
          : 'closed';
    this.calls.set(id, { provider, at, pass, why, heardAt: at });
  }

  /** An attempt's end: judged against the copy's verdict at its start, then reported to the copy. */
  private end(id: string, error: TroupeErrorData | undefined, at: number, aborted: boolean): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    const refused = refusedByGate(error);
    if (call.pass === null) {
      if (!refused)
        this.fail(
          `${id} called ${call.provider} at ${call.at} through its breaker, ${call.why} by the calls seen`,
        );
      return;
    }
    if (refused) {
      this.fail(`${id} refused by ${call.provider}'s breaker at ${call.at}, ${call.why} by the calls seen`);
      return;
    }
    const outcome: BreakerOutcome = {
      failure: error?.code ?? null,
      aborted,
      silentMs: at - call.heardAt,
      ...(error?.modelScoped === true ? { modelScoped: true as const } : {}),
    };
    const verdict = verdictOf(outcome, this.minTimeoutMs);
    // As `Breakers.report`: a plain call's answer, or a call that told nothing, changes nothing.
    if (verdict !== 'failure' && call.pass.probe === null) return;
    const { probe } = call.pass;
    const copy = this.copies.get(call.provider) ?? initialBreaker(this.settings);
    this.copies.set(
      call.provider,
      stepBreaker(
        copy,
        verdict === 'failure'
          ? { type: 'breaker.failure', now: at, code: outcome.failure as string, probe }
          : { type: verdict === 'success' ? 'breaker.success' : 'breaker.void', now: at, probe },
      ),
    );
  }

  private fail(detail: string): void {
    this.violations.push({ invariant: 'breakerHolds', detail });
  }

  /** `statusCounts` for the breakers: `status().breakers` against the copy (reported once per run). */
  check(now: number): void {
    if (this.reported) return;
    const shown = this.runtime.status().breakers ?? [];
    const wrong: string[] = [];
    for (const view of shown)
      if (!this.copies.has(view.provider)) wrong.push(`${view.provider} shown, no failure or probe seen`);
    for (const [provider, { value, context }] of this.copies) {
      const view = shown.find((v) => v.provider === provider);
      const expected = {
        state: value,
        failures: context.failures.length,
        threshold: context.settings.failures,
        openUntil: context.openUntil,
        opened: context.opened,
        lastError: context.lastError,
      };
      const got =
        view === undefined
          ? undefined
          : {
              state: view.state,
              failures: view.failures,
              threshold: view.threshold,
              openUntil: view.openUntil,
              opened: view.opened,
              lastError: view.lastError,
            };
      if (JSON.stringify(got) !== JSON.stringify(expected))
        wrong.push(
          `${provider} breaker ${JSON.stringify(got ?? 'not shown')}, ${JSON.stringify(expected)} by the calls seen`,
        );
    }
    if (wrong.length === 0) return;
    this.reported = true;
    this.violations.push({ invariant: 'statusCounts', detail: `status() at ${now}: ${wrong.join('; ')}` });
  }
}

/** The earliest `openUntil` of `snapshots` (set only while open; `undefined`: none is open). */
export function earliestOpenUntil(snapshots: Iterable<BreakerSnapshot>): number | undefined {
  let edge: number | undefined;
  for (const { context } of snapshots)
    if (context.openUntil !== null && (edge === undefined || context.openUntil < edge))
      edge = context.openUntil;
  return edge;
}
