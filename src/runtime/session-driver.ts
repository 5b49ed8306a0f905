/**
 * Drives each session's machine: delivers events to its actor, arms its next wake-up in the one
 * deadline heap, and on a final state builds the result, resolves the caller and tells observers.
 * It also ends a session whose own action threw (`INTERNAL`) rather than leave it pending, and tells
 * a session its end even when the end's bookkeeping throws (`finish`).
 */
import {
  leafState,
  nextWakeAt,
  type SessionContext,
  type SessionMachineEvent,
} from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import { DeadlineHeap, type Wakeable } from '../core/deadlines.js';
import { describe, runtimeError } from '../core/errors.js';
import { capString } from '../core/metadata.js';
import type { PriceTable } from '../providers/prices.js';
import type { RuntimeCounters } from './counters.js';
import { DeltaFoldingActor } from './delta-folding.js';
import type { EventHub } from './event-hub.js';
import type { CallGate } from './provider-call.js';
import { provideSessionMachine, tellDelta } from './session-actions.js';
import { type EngineOptions, type SessionActor, sessionEngine } from './session-engine.js';
import { buildResult, failedInside, type SessionRecord } from './session-record.js';
import type { SessionTable } from './session-table.js';
import type { FinalState } from './types.js';

export interface DriverSettings {
  readonly clock: Clock;
  readonly random: () => number;
  readonly counters: RuntimeCounters;
  readonly events: EventHub;
  readonly table: SessionTable;
  readonly engine: EngineOptions;
  /** What each provider call passes first (breakers, budgets). */
  readonly gate?: CallGate<SessionRecord> | undefined;
  /** Prices for `cost` in metadata. */
  readonly prices?: PriceTable | undefined;
  /** A session ended: free its place in admission (`admitted` says whether it held a slot). */
  release(record: SessionRecord): void;
  /** A session ended and everyone heard: the lifecycle counts it, admission admits the next. */
  ended(): void;
  /** Sees each event before the session does (the limiter hears calls' outcomes here). */
  observe?(record: SessionRecord, event: SessionMachineEvent): void;
  /** A retry is due: `false` holds it back (its provider has no room); the runtime lets it go later. */
  mayRetry?(record: SessionRecord, now: number): boolean;
  /**
   * A call ended with no answer and its session moved on to a fallback (an idle timeout before the
   * first delta): the limiter heard no outcome for it, as it does for an answer or an end.
   */
  callLeft?(record: SessionRecord): void;
}

/** A wake-up in the deadline heap that is not a session's (e.g. when a rate window opens). */
export interface Alarm extends Wakeable {
  fire(now: number): void;
}

export class SessionDriver {
  readonly deadlines: DeadlineHeap<SessionRecord | Alarm>;
  private readonly engine;
  /** Each actor's session: the session's actions find their record through the actor they run on. */
  private readonly records = new WeakMap<object, SessionRecord>();

  constructor(private readonly settings: DriverSettings) {
    const { clock } = settings;
    this.deadlines = new DeadlineHeap<SessionRecord | Alarm>(clock, (item, now) => {
      // An ended session is off the heap (`finish` cancels it), and `deliver` would ignore it.
      if ('fire' in item) item.fire(now);
      else if (this.retryMay(item, now)) this.deliver(item, { type: 'session.tick', now });
    });
    const machine = provideSessionMachine({
      clock,
      random: settings.random,
      counters: settings.counters,
      events: settings.events,
      recordOf: (self) => this.records.get(self) as SessionRecord,
      deliver: (record, event) => this.deliver(record, event),
      gate: settings.gate,
    });
    this.engine = sessionEngine(machine, settings.engine);
  }

  /** Gives a record an actor resumed at `value` with `context` (a session taken over). */
  restore(record: SessionRecord, value: unknown, context: SessionContext): void {
    record.actor = this.own(this.engine.restore(record.input, value, context), record);
  }

  /** A due retry held back by its provider's limits waits on (its run deadline still armed). */
  private retryMay(record: SessionRecord, now: number): boolean {
    const mayRetry = this.settings.mayRetry;
    // A queued session may have no actor yet.
    if (mayRetry === undefined || record.actor === null) return true;
    // Only between attempts is a retry time set: in `backingOff`, and in `fallingBack` (a hop to the
    // next fallback target is a further call too: it asks the limits as a retry does). Any other
    // wake-up (a run or idle deadline) skips the snapshot read.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: a shortcut; outside those two states `retryAt` is null and the check below lets it go too.
    if (record.leaf !== 'backingOff' && record.leaf !== 'fallingBack') return true;
    const { retryAt, runDeadlineAt } = record.actor.getSnapshot().context;
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: both states always set `retryAt` (the machine's `scheduleRetry` and `fallBackTo`, and a takeover's restore); the check narrows the type.
    if (retryAt === null) return true;
    if (now < retryAt || now >= (runDeadlineAt ?? Number.POSITIVE_INFINITY)) return true;
    if (mayRetry(record, now)) return true;
    this.deadlines.schedule(record, runDeadlineAt);
    return false;
  }

  deliver(record: SessionRecord, event: SessionMachineEvent): void {
    if (record.result !== null) return;
    this.settings.observe?.(record, event);
    const actor = record.actor;
    // A delta of a stream already in `streaming`: observers hear it now, the machine at its next
    // event or read (`delta-folding.ts`); its wake-up stays where it is, as below.
    // Stryker disable ConditionalExpression,StringLiteral,EqualityOperator,BlockStatement: folding is for speed only: a chunk not folded takes its machine step, to the same events, context and wake-up.
    if (
      event.type === 'provider.chunk' &&
      record.leaf === 'streaming' &&
      record.heapIndex >= 0 &&
      actor instanceof DeltaFoldingActor &&
      actor.defer(event)
    ) {
      tellDelta(this.settings.events, record, event);
      return;
    }
    // Stryker restore ConditionalExpression,StringLiteral,EqualityOperator,BlockStatement
    record.actor ??= this.own(this.engine.start(record.input), record);
    record.actor.send(event);
    const snapshot = record.actor.getSnapshot();
    if (snapshot.status === 'error') {
      this.failInternally(record, snapshot, event);
      return;
    }
    const leaf = leafState(snapshot.value as string);
    // Only a tick moves a call to its fallback unanswered (from `calling`: a tick in `fallingBack`
    // moves on to the next call); an answer's hop was observed above.
    if (event.type === 'session.tick' && leaf === 'fallingBack') this.settings.callLeft?.(record);
    record.leaf = leaf;
    if (snapshot.status === 'done') this.finish(record, snapshot.context, leaf as FinalState);
    // A chunk only postpones a stream's wake-up (its idle deadline moves later, its run deadline
    // stays): the heap keeps the earlier time instead of moving the session on every chunk, and the
    // tick there finds nothing due (every `session.tick` of `streaming` is guarded by a deadline
    // that passed) and re-arms at the real time. At most one spare tick per idle timeout.
    else if (event.type !== 'provider.chunk' || record.heapIndex < 0)
      this.deadlines.schedule(record, nextWakeAt(leaf, snapshot.context));
  }

  cancel(record: SessionRecord, given: string, code?: 'SHUTTING_DOWN'): boolean {
    if (record.result !== null) return false;
    const now = this.settings.clock.now();
    this.deliver(record, cancelEvent(now, reasonText(given), code));
    return true;
  }

  /** Maps the actor to its record (actions find it through `self`); a stream's gets its deltas folded. */
  private own(actor: SessionActor, record: SessionRecord): SessionActor {
    this.records.set(actor, record);
    return record.input.stream && this.engine.foldsDeltas ? new DeltaFoldingActor(actor) : actor;
  }

  /**
   * One of the session's own actions threw (a runtime bug, or a clock or effect that failed): the
   * actor stopped, so the runtime ends the session itself as failed with `INTERNAL`, aborting its
   * call and freeing its slot, rather than leave it pending.
   */
  private failInternally(
    record: SessionRecord,
    snapshot: { readonly context: SessionContext; readonly error?: unknown },
    event: SessionMachineEvent,
  ): void {
    record.call?.abort('the session failed inside the runtime');
    record.call = null;
    const context = failedInside(snapshot.context, event, snapshot.error);
    record.leaf = 'failed';
    this.finish(record, context, 'failed');
  }

  /**
   * Ends the session: its result, then the bookkeeping (history, counts, its slot, its wake-up, its
   * signal's listener), then the tell (`tellEnd`). Every end comes here, so here a throw in the
   * bookkeeping (a runtime bug, or a port of the embedder's the slot's release reaches: a
   * `sharedState` whose `update` throws, a clock) goes to `onError` and the session is still told
   * its end: until 2026-12-06 it went up to whoever delivered the event (a provider call's, which
   * dropped it, or a timer), and the caller's `result` never resolved. In-memory steps come first,
   * those that may reach a port last: skipped by a throw, these hold nothing the session needs.
   */
  private finish(record: SessionRecord, context: SessionContext, state: FinalState): void {
    const { clock, counters, table } = this.settings;
    const result = buildResult(record, context, state, this.settings.prices);
    record.result = result;
    // The call is let go: a caller holding the handle keeps the result, not the stream behind it.
    record.left = undefined;
    const endedAt = context.endedAt ?? clock.now();
    try {
      table.end(result.metadata, context.input.createdAt, context.startedAt, endedAt);
      record.actor = null;
      counters.ended(state, result);
      // Frees the runtime's own slot first, the shared limits' last (`release` in local-runtime.ts).
      this.settings.release(record);
      // Skipped by a throw above: a wake-up of an ended session delivers nothing, nor does its abort.
      this.deadlines.cancel(record);
      record.detachSignal?.();
    } catch (error) {
      this.settings.events.report(endFailed(record, error));
    }
    // A cooldown its last call's 429 began is written to a shared limiter first: a backend writes
    // the end once told, and a session submitted then must find the cooldown, not the vendor's 429.
    const cooling = record.cooling;
    record.cooling = undefined;
    if (cooling === undefined) this.tellEnd(record, result, endedAt);
    else void cooling.then(() => this.tellEnd(record, result, endedAt));
  }

  /** Tells the session's end: its result, `session.ended`, its streams' close, the runtime's pass. */
  private tellEnd(
    record: SessionRecord,
    result: NonNullable<SessionRecord['result']>,
    endedAt: number,
  ): void {
    const { events } = this.settings;
    record.resolve(result);
    if (events.wants(record)) {
      events.emit(record, { type: 'session.ended', sessionId: record.input.sessionId, result, at: endedAt });
    }
    if (record.observers !== null) for (const stream of record.observers) stream.close();
    record.observers = null;
    this.settings.ended();
  }
}

/** What `onError` hears when a session's end bookkeeping threw: which session, and the throw as `cause`. */
function endFailed(record: SessionRecord, error: unknown) {
  return runtimeError(
    'INTERNAL',
    `Expected session ${record.input.sessionId}'s end to be recorded (its history, counts, slot, limits and signal's listener), got ${error instanceof Error ? error.message : describe(error)}; its result was still delivered`,
    { cause: error },
  );
}

/** The longest cancel reason kept, in characters: it is in the result's message and the history. */
const MAX_REASON_CHARS = 500;

/**
 * A cancel reason as the result's message keeps it: text, at most `MAX_REASON_CHARS`. From
 * JavaScript `cancel(Symbol())`, or a reason whose `toString` throws, failed the session `INTERNAL`,
 * and a 5 MB reason was kept whole (library audit).
 */
export function reasonText(reason: unknown): string {
  let text: string;
  try {
    text = String(reason);
  } catch {
    text = 'a reason that is not text';
  }
  return capString(text, MAX_REASON_CHARS);
}

/**
 * The reason a cluster instance's shutdown cancels its callers' sessions with, wherever they run
 * (`shutdown({ unfinished: 'cancel' })`). Only a reason travels between instances (the cancel's mark
 * in the store, its message on the bus), so this one says the cancel is a shutdown's.
 */
export const SUBMITTER_SHUT_DOWN =
  'the instance it was submitted through shut down before it ended; nobody is left to read its answer';

/**
 * The `session.cancel` of a cancel for `reason` (already `reasonText`): a shutdown's ends the session
 * `SHUTTING_DOWN`, as one process ends what its drain deadline cancels, on whichever instance it
 * ends (until 2026-12-06 the cluster recorded `CANCELLED` while the caller got `SHUTTING_DOWN`).
 */
export function cancelEvent(
  now: number,
  reason: string,
  code?: 'SHUTTING_DOWN',
): Extract<SessionMachineEvent, { type: 'session.cancel' }> {
  const shutdown = code ?? (reason === SUBMITTER_SHUT_DOWN ? 'SHUTTING_DOWN' : undefined);
  return shutdown === undefined
    ? { type: 'session.cancel', now, reason }
    : { type: 'session.cancel', now, reason, code: shutdown };
}
