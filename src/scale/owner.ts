/**
 * The submitting side of a cluster session: its caller waits on the instance that took the call,
 * wherever the session runs. The owner holds the caller's promise, its event streams and timers
 * until the one `session.ended` arrives; the handle is what the caller holds.
 */
import { type Clock, settlesWithin } from '../core/clock.js';
import { type QueueBounds, type QueueRoom, queueRoomOf, type Turn } from '../core/queue-room.js';
import { EventStream, resultOf, withoutObserver } from '../runtime/backend.js';
import type { SessionQueue, SessionStore } from '../runtime/ports.js';
import type { SessionEvent, SessionHandle, SessionResult } from '../runtime/types.js';
import { endedAt, type JobData, type LiveSessions, positionOf, unavailable } from './job-data.js';

/** A session submitted here: its caller waits on this instance. */
export interface Owner {
  readonly data: JobData;
  readonly resolve: (result: SessionResult) => void;
  readonly result: Promise<SessionResult>;
  observers: EventStream<SessionEvent>[] | null;
  /** Whether its streams were given the `session.ended` heard on the bus. */
  endSent: boolean;
  started: boolean;
  /** Whether its enqueue (summary and job) has been answered: until then a reconnect's look finds no job for it. */
  enqueued: boolean;
  /** Its request's bytes until it starts or ends, then 0 (`QueueRoom`, `limits.maxQueuedBytes`). */
  queuedBytes: number;
  /** Its caller's turns while it counts against that caller's share (`limits.maxQueuedPerCaller`), until it starts or ends. */
  queuedTurn: Turn | undefined;
  /** The depth its turn got while it counts against that share (`QueueRoom`). */
  queuedDepth: number;
  /** The clock's timer handles: the queue deadline and the backstop. */
  timers: unknown[];
  detachSignal: (() => void) | null;
}

/**
 * The owners here whose session has not started: how many (`limits.maxQueued`), their request
 * bytes (`limits.maxQueuedBytes`) and each caller's count and bytes (`limits.maxQueuedPerCaller`), what this
 * instance keeps for its callers. Each owner leaves once, when this instance hears it started or
 * when it ends, whichever comes first.
 */
export class Waiting implements Iterable<Owner> {
  count = 0;
  readonly room: QueueRoom;
  private readonly owners = new Set<Owner>();

  constructor(limits: QueueBounds) {
    // Depths from 0: this instance's floor would not compare with another's in the shared queue.
    this.room = queueRoomOf(limits, false);
  }

  add(owner: Owner, bytes: number, caller: string | undefined): void {
    this.count++;
    this.owners.add(owner);
    this.room.hold(owner, bytes, caller, owner.data.input);
  }

  [Symbol.iterator](): Iterator<Owner> {
    return this.owners.values();
  }

  started(owner: Owner): void {
    if (owner.started) return;
    owner.started = true;
    this.count--;
    this.owners.delete(owner);
    this.room.release(owner);
  }

  /** The owner's session ended: out now unless it started before (its bytes are 0 then). */
  ended(owner: Owner): void {
    if (!owner.started) this.count--;
    this.owners.delete(owner);
    this.room.release(owner);
  }
}

export function createOwner(data: JobData): Owner {
  let resolve: (result: SessionResult) => void = () => {};
  const result = new Promise<SessionResult>((r) => {
    resolve = r;
  });
  return {
    data,
    resolve,
    result,
    observers: null,
    endSent: false,
    started: false,
    enqueued: false,
    queuedBytes: 0,
    queuedTurn: undefined,
    queuedDepth: 0,
    timers: [],
    detachSignal: null,
  };
}

/**
 * The caller's handle; `isOpen` says whether the session has not ended here yet. Its `events` start
 * from the session's current state, as in memory: `session.ended` alone once it ended,
 * `session.started` once it runs, else `session.queued` with its position.
 */
export function ownerHandle(
  clock: Clock,
  owner: Owner,
  live: LiveSessions,
  waiting: Iterable<Owner>,
  isOpen: () => boolean,
  cancel: (reason: string) => void,
): SessionHandle {
  const { input } = owner.data;
  const sessionId = input.sessionId;
  return {
    id: sessionId,
    result: owner.result,
    get events() {
      const stream = new EventStream<SessionEvent>((stopped) => {
        owner.observers = withoutObserver(owner.observers, stopped);
      });
      const at = clock.now();
      if (!isOpen()) {
        void owner.result.then((result) => {
          stream.push({ type: 'session.ended', sessionId, result, at });
          stream.close();
        });
        return stream;
      }
      if (owner.started) {
        const attempt = Math.max(1, live.liveSession(sessionId)?.attempts ?? 1);
        stream.push({ type: 'session.started', sessionId, attempt, at });
      } else
        stream.push({
          type: 'session.queued',
          sessionId,
          position: positionOf(live, owner.data, waiting),
          at,
        });
      owner.observers ??= [];
      owner.observers.push(stream);
      return stream;
    },
    cancel: (reason = 'cancelled by the caller') => {
      if (!isOpen()) return false;
      cancel(reason);
      return true;
    },
  };
}

/**
 * A session event for the owner's open event streams. Not `session.queued`: each stream opened
 * with the session's state, so a queued event arriving after would say it twice.
 */
export function notify(owner: Owner, event: SessionEvent): void {
  if (owner.observers === null || event.type === 'session.queued') return;
  for (const stream of owner.observers) stream.push(event);
  if (event.type === 'session.ended') owner.endSent = true;
}

/**
 * Ends the owner's streams, timers and signal listener, and resolves its caller. A stream not given
 * the end on the bus (the caller's wait ended here: a shutdown's deadline, a bus cut) gets it now
 * with the caller's result, so a handle's events end with `session.ended` whichever way it ended.
 */
export function closeOwner(clock: Clock, owner: Owner, result: SessionResult): void {
  for (const timer of owner.timers) clock.clearTimeout(timer);
  owner.detachSignal?.();
  if (owner.observers !== null) {
    const ended = {
      type: 'session.ended' as const,
      sessionId: owner.data.input.sessionId,
      result,
      at: clock.now(),
    };
    for (const s of owner.observers) {
      if (!owner.endSent) s.push(ended);
      s.close();
    }
  }
  owner.observers = null;
  owner.resolve(result);
}

/** How long the last guard waits for Redis to answer before it ends the caller's wait itself. */
export const BACKSTOP_ANSWER_MS = 2_000;

/** What the last guard reads and how it ends a session (`backstop`). */
export interface Backstop {
  readonly store: Pick<SessionStore, 'result' | 'liveSession' | 'settle' | 'leaseState'>;
  /** Whether the session's job is in the queue at all (`waiting`). */
  readonly queue: Pick<SessionQueue, 'waiting'>;
  readonly onError: (error: unknown) => void;
  readonly end: (result: SessionResult) => void;
  readonly clock: Clock;
  readonly giveUp: (message: string) => void;
}

/** What a session Redis lost with the instance that ran it ends with. */
export const LOST_MESSAGE =
  'Expected the session to end with a result, got none and no job for it in the queue: Redis lost it (it came back empty, e.g. restarted without persistence) and no instance ended it; nothing runs it now, call again';

/** What a caller whose session was not heard to start is told when Redis cannot say whether it did. */
export const UNHEARD_MESSAGE =
  'Expected Redis to answer once the session was past its deadlines, got an error: no start of it was heard here and Redis could not say whether it started on another instance, so its end is not known here (if it never started, it timed out in the queue); read it by id (session(id)) once Redis answers';

/**
 * The last guard: a session nobody ended well past its deadlines (its submitter's backstop timer)
 * ends with the result the store has; else, when it had started and its job is gone from the queue, as lost
 * (a running instance would have settled it by now: until 2026-12-04 it ended `TIMED_OUT`, "within
 * 120000 ms", about 190 s after it vanished with its instance and an empty-restarted Redis); else
 * timed out at its run deadline, settled for the cluster. A session that never started (no start
 * heard here, and no run in Redis) times out in the queue; when Redis cannot say (its start may have
 * gone unheard in a cut), the caller is told so by `giveUp` (until 2026-12-07 both ended as run
 * timeouts, "within ... of starting"). If Redis does not answer within
 * `BACKSTOP_ANSWER_MS` (frozen, or cut off without the connection closing: commands wait for a
 * reply with no bound of their own), the caller is told so by `giveUp` rather than left waiting
 * for Redis; the look above still ends the session for the cluster when Redis answers.
 */
export async function backstop(owner: Owner, b: Backstop): Promise<void> {
  const { store, onError, end, clock } = b;
  const { input } = owner.data;
  const id = input.sessionId;
  let told = false;
  const giveUp = (message: string) => {
    if (!told) b.giveUp(message);
    told = true;
  };
  const orUndefined = (error: unknown): undefined => void onError(error);
  // The first end settled stands: one that landed meanwhile is the one told.
  const settle = async (result: SessionResult) => {
    await store.settle(result, owner.data.label, endedAt(owner.data, result)).catch(onError);
    end((await store.result(id).catch(orUndefined)) ?? result);
  };
  const look = async (): Promise<void> => {
    const read = await store.result(id).then((result) => ({ result }), orUndefined);
    if (read?.result !== undefined) return end(read.result);
    // No start heard here: Redis's run record says whether one went unheard (a cut), else it never started.
    const run = owner.started ? true : read && (await store.leaseState(id).catch(orUndefined));
    if (run === undefined) return giveUp(UNHEARD_MESSAGE);
    if (run !== true && !run.ended && run.run === undefined)
      return settle(resultOf(owner.data, [{ type: 'session.tick', now: clock.now() }]));
    // Only once it started: a queued one's enqueue may still be on its way (a frozen Redis answers
    // it after this look). A queue that cannot say keeps the session as it was: timed out.
    const lost = !(await b.queue.waiting(input.provider, id).catch(() => true));
    const startedAt = (run === true ? undefined : run.run?.startedAt) ?? store.liveSession(id)?.startedAt;
    const from = startedAt ?? input.queueDeadlineAt - 1;
    const result = lost
      ? unavailable(owner.data, LOST_MESSAGE, clock.now())
      : resultOf(owner.data, [
          { type: 'session.admit', now: from },
          { type: 'session.tick', now: from + input.timeoutMs },
        ]);
    return settle(result);
  };
  const looking = look();
  if (await settlesWithin(clock, looking, BACKSTOP_ANSWER_MS)) return looking;
  giveUp(
    `Expected Redis to answer within ${BACKSTOP_ANSWER_MS} ms once the session was past its deadlines, got no answer; ` +
      'its end is not known here: read it by id (session(id)) once Redis answers',
  );
  return looking;
}
