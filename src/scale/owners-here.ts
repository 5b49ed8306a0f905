/**
 * The sessions submitted through this instance, from the submit to their one end: each one's owner
 * (`owner.ts`: its caller's promise, event streams and timers), what this instance keeps of those
 * not started (`Waiting`: their number, bytes and each caller's share), their timers (the queue
 * deadline's withdrawal, the backstop), what a bus event tells their callers, and their ends: the
 * one `session.ended`, a result missed while the shared server was away (`recover`), one the
 * server could not take or lost (`endUnavailable`), and at the drain deadline the shutdown's.
 * The composition that submits through it and hears the bus is `cluster-runtime.ts`.
 */
import { atTime, type Clock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import type { QueueBounds } from '../core/queue-room.js';
import type { Recent } from '../core/recent.js';
import { type Admission, type Admitted, type RuntimeCounters, reasonOf } from '../runtime/backend.js';
import type { ClusterConnection, SessionQueue, SessionStore } from '../runtime/ports.js';
import type {
  RuntimeEvent,
  SessionEvent,
  SessionHandle,
  SessionRequest,
  SessionResult,
  SubmitOptions,
} from '../runtime/types.js';
import { missedEnd } from './ended-here.js';
import { endedAt, type JobData, jobDataOf, queuedEvent, queuedSummary, unavailable } from './job-data.js';
import { backstop, closeOwner, createOwner, notify, type Owner, ownerHandle, Waiting } from './owner.js';

const BACKSTOP_GRACE_MS = 10_000;

export interface OwnersSettings {
  /** The runtime's admission: a submit here is checked as in memory, and counted. */
  readonly admission: Admission;
  readonly counters: RuntimeCounters;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /** The ports as the runtime holds them (`Inflight`: a shutdown waits for their calls). */
  readonly store: SessionStore;
  readonly queue: SessionQueue;
  /** Submits are refused while it is not ready; a reconnect's recovery waits for it. */
  readonly connection: ClusterConnection;
  /** Ends written here only, which Redis may still tell (`EndedHere.provisional`). */
  readonly provisional: Recent;
  /** A session submitted here ended (`Lifecycle.sessionEnded`). */
  readonly sessionEnded: () => void;
  /** Tells this runtime's listeners. */
  readonly broadcast: (event: RuntimeEvent) => void;
  /** Withdraws a session still queued at its queue deadline (`Withdrawals.withdraw`), tried again while the shared server is away. */
  readonly withdraw: (provider: string, id: string) => Promise<unknown>;
  /** Cancels a session wherever it is (`Cancels.away`). */
  readonly cancel: (id: string, reason: string) => void;
}

export class OwnersHere {
  private readonly owners = new Map<string, Owner>();
  /** Owners whose session has not started yet, and their request bytes: what this instance keeps. */
  readonly waiting: Waiting;
  /** Sessions ended here while Redis did not answer (`provisional`), the latest 1,024: a reconnect reads their real ends. */
  private readonly toldWhileAway = new Map<string, JobData>();
  /** Past the drain deadline: its callers hear what the shutdown tells them, not an end on the bus. */
  private leaving = false;

  constructor(
    private readonly limits: QueueBounds & { readonly maxQueued: number },
    private readonly s: OwnersSettings,
  ) {
    this.waiting = new Waiting(limits);
  }

  /** The sessions submitted here that have not ended, by id. */
  get byId(): ReadonlyMap<string, Owner> {
    return this.owners;
  }

  get size(): number {
    return this.owners.size;
  }

  has(id: string): boolean {
    return this.owners.has(id);
  }

  providerOf(id: string): string | undefined {
    return this.owners.get(id)?.data.input.provider;
  }

  /** From now on (the drain deadline) an end on the bus is not told: the shutdown's is (`leaveUnfinished`). */
  leave(): void {
    this.leaving = true;
  }

  /** A submit through this instance: admitted (refused while the shared server is away), then opened. */
  submit(request: SessionRequest, submitOptions: SubmitOptions = {}): SessionHandle {
    const { admission, connection } = this.s;
    const admitted = admission.chat(request, submitOptions);
    if (connection.status() !== 'ready') {
      admission.refuse(
        runtimeError(
          'BACKEND_UNAVAILABLE',
          `Expected ${connection.name} to be reachable, got a connection that is ${connection.status()}`,
        ),
      );
    }
    // What this instance keeps: the sessions submitted here that have not started, their bytes and
    // each caller's share of them (checked first, as the in-memory runtime does), and their number.
    admission.roomFor(this.waiting.room, admitted.bytes, admitted.owner);
    if (this.waiting.count >= this.limits.maxQueued) admission.queueFull(this.waiting.count);
    this.s.counters.submitted++;
    return this.open(admitted, submitOptions.signal);
  }

  /** An admitted session, submitted here: its owner, its timers, its summary and its job, and its caller's handle. */
  private open(admitted: Admitted, signal: AbortSignal | undefined): SessionHandle {
    const { clock, onError, store, queue, connection } = this.s;
    const { input } = admitted;
    const sessionId = input.sessionId;
    const waiting = this.waiting;
    const data = jobDataOf(admitted, waiting.room.depthOf(admitted.owner, admitted.input));
    const owner = createOwner(data);
    this.owners.set(sessionId, owner);
    waiting.add(owner, admitted.bytes, admitted.owner);
    const queueTimeoutMs = input.queueDeadlineAt - input.createdAt;
    // At the deadline by the clock, not when a timer says: a tick before it left the machine queued.
    atTime(clock, input.queueDeadlineAt, owner.timers, () => {
      if (!owner.started) this.s.withdraw(input.provider, sessionId).catch(onError);
    });
    atTime(clock, clock.now() + queueTimeoutMs + input.timeoutMs + BACKSTOP_GRACE_MS, owner.timers, () =>
      this.guard(sessionId),
    );
    // The summary (its caller's metadata beside it) and the job at once; `put` writes nothing once ended. The summary goes first, on its deadline's connection.
    const event = queuedEvent(data, store, waiting);
    Promise.all([store.put(queuedSummary(data), event, data), queue.add(data)]).then(
      () => {
        owner.enqueued = true;
      },
      (error: unknown) =>
        void this.endUnavailable(
          data,
          `Expected ${connection.name} to take the session, got ${(error as Error).message}`,
        ),
    );
    const cancelHere = (reason: string) => this.s.cancel(sessionId, reason);
    if (signal !== undefined) {
      const onAbort = () => cancelHere(reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      owner.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    return ownerHandle(clock, owner, store, waiting, () => this.owners.has(sessionId), cancelHere);
  }

  /** A session event heard on the bus: its owner here, if any, is told (and ended by its `session.ended`). */
  heard(event: RuntimeEvent): void {
    if (!('sessionId' in event)) return;
    const owner = this.owners.get(event.sessionId);
    // Past the drain deadline its caller's end is the shutdown's (`leaveUnfinished`), events included.
    if (owner === undefined || (this.leaving && event.type === 'session.ended')) return;
    if (event.type === 'session.started') this.waiting.started(owner);
    const { provider: _p, label: _l, ...sessionEvent } = event;
    notify(owner, sessionEvent as SessionEvent);
    if (event.type === 'session.ended') this.end(event.sessionId, event.result as SessionResult);
  }

  /** Ends a caller's wait here with `result` (once; at the shutdown only the shutdown's end), telling `missed` too. */
  end(id: string, result: SessionResult, missed?: RuntimeEvent, atShutdown = false): void {
    const owner = this.owners.get(id);
    if (owner === undefined || this.leaving !== atShutdown || !this.owners.delete(id)) return;
    this.waiting.ended(owner);
    closeOwner(this.s.clock, owner, result);
    this.s.store.delivered?.(result).catch(this.s.onError);
    this.s.sessionEnded();
    if (missed !== undefined) this.s.broadcast(missed);
  }

  /** After a reconnect: every session submitted here looks for what it missed (`recover`), and one
   * ended here while Redis did not answer for the end the cluster wrote meanwhile (`correct`). */
  recoverAll(): void {
    for (const id of this.owners.keys()) void this.recover(id);
    for (const [id, data] of this.toldWhileAway) void this.correct(id, data);
  }

  /** The cluster's end of a session told here while Redis did not answer takes that end's place in the
   * mirror, as one heard on the bus does (`applyMessage`): an end written while this instance was cut off
   * is not on the bus for it. Its listeners heard the first: they hear no second one. */
  private async correct(id: string, data: JobData): Promise<void> {
    const up = await this.up();
    // Cut off again: the next reconnect tries again.
    const result = await this.s.store
      .result(id)
      .catch((error: unknown) => void (up() && this.s.onError(error)));
    if (result === undefined) return;
    this.toldWhileAway.delete(id);
    if (this.s.provisional.take(id)) this.s.store.correctEnded(result, endedAt(data, result));
  }

  /** After a reconnect: a result published while cut off is read back and told (`missedEnd`); a queued
   * session whose job and result are both gone was lost by a server back empty: BACKEND_UNAVAILABLE. */
  private async recover(id: string): Promise<void> {
    const { store, queue, connection } = this.s;
    const up = await this.up();
    const owner = this.owners.get(id);
    // An enqueue not answered yet is not lost: BullMQ's connection sends its add again once it is back,
    // maybe after this look (until 2026-12-07 such a session ended "came back without the queued
    // session" though Redis had kept everything). Its own answer ends or queues it; the backstop holds.
    if (owner === undefined || !owner.enqueued) return;
    try {
      // The job first: a job leaves its queue only after its result is set. A job gone from its queue
      // with a run record left had started (its start unheard here): a fallback hop moved it to its
      // target's queue, where it runs on (until 2026-12-07 its caller was told "came back without the
      // queued session" as it ran; `tests/scale/hop-reconnect.test.ts`).
      const queued =
        owner.started ||
        (await queue.waiting(owner.data.input.provider, id)) ||
        (await store.leaseState(id)).run !== undefined;
      const result = await store.result(id);
      if (result !== undefined) this.end(id, result, missedEnd(store, owner.data, result));
      else if (!queued)
        await this.endUnavailable(owner.data, `${connection.name} came back without the queued session`);
    } catch (error) {
      // Cut off again: the next reconnect tries again, and the backstop ends it at the latest.
      if (up()) this.s.onError(error);
    }
  }

  /** Once the connection is ready again (every 250 ms, 10 s at most), its check. */
  private async up(): Promise<() => boolean> {
    const { clock, connection } = this.s;
    const up = () => connection.status() === 'ready';
    for (let tries = 0; tries < 40 && !up(); tries++)
      await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 250));
    return up;
  }

  /** Ends a session the shared server could not take or lost. Through `settle` when it answers (so
   * the cluster hears); otherwise here only: the mirror drops it and local listeners hear the end. */
  private async endUnavailable(data: JobData, message: string, settle = true): Promise<void> {
    const { clock, store } = this.s;
    const { sessionId: id, provider } = data.input;
    const result = unavailable(data, message, clock.now());
    // The server refusing here is the very failure being reported: the session ends locally instead.
    const settled =
      settle && (await store.settle(result, data.label, endedAt(data, result)).catch(() => false));
    if (!settled) {
      store.forget(result);
      // Redis may still tell its real end (a lease's, `confirmed.ts`; the backstop's): it takes this one's place.
      this.s.provisional.add(id);
      this.toldWhileAway.set(id, data);
      if (this.toldWhileAway.size > 1024)
        this.toldWhileAway.delete(this.toldWhileAway.keys().next().value as string);
      const label = data.label === undefined ? {} : { label: data.label };
      this.s.broadcast({ type: 'session.ended', sessionId: id, result, at: clock.now(), provider, ...label });
    }
    this.end(id, result);
  }

  /** The backstop: a session nobody ended well past its deadlines (`backstop`, `owner.ts`). */
  private guard(id: string): void {
    const owner = this.owners.get(id);
    if (owner === undefined) return;
    const { store, queue, onError, clock } = this.s;
    const giveUp = (message: string) => void this.endUnavailable(owner.data, message, false);
    backstop(owner, { store, queue, onError, clock, giveUp, end: (r) => this.end(id, r) }).catch(onError);
  }
}
