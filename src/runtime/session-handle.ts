/**
 * What a caller holds for a session: its handle, and the stream of its events that
 * `handle.events` opens, starting from the session's current state.
 */
import { EventStream } from './event-stream.js';
import { startedEvent } from './lending.js';
import type { SessionRecord } from './session-record.js';
import type { SessionEvent, SessionHandle } from './types.js';

export interface HandleOwner {
  observe(record: SessionRecord): AsyncIterable<SessionEvent>;
  cancel(record: SessionRecord, reason: string): boolean;
}

/**
 * A session's handle. A class, so `events` is one getter on the prototype rather than one per
 * session; the record is a private field, so logging or serialising a handle shows no request.
 * `cancel` stays an own function: callers pass `handle.cancel` around on its own.
 */
export class RecordHandle<R> implements SessionHandle<R> {
  readonly id: string;
  readonly cancel: (reason?: string) => boolean;
  readonly #record: SessionRecord;
  readonly #owner: HandleOwner;

  constructor(
    record: SessionRecord,
    readonly result: Promise<R>,
    owner: HandleOwner,
  ) {
    this.id = record.input.sessionId;
    this.#record = record;
    this.#owner = owner;
    this.cancel = (reason = 'cancelled by the caller') => owner.cancel(record, reason);
  }

  get events(): AsyncIterable<SessionEvent> {
    return this.#owner.observe(this.#record);
  }
}

/** A stream of this session's events, starting with its current state. */
export function observeSession(
  record: SessionRecord,
  at: number,
  positionOf: (record: SessionRecord) => number,
): AsyncIterable<SessionEvent> {
  const stream = new EventStream<SessionEvent>((stopped) => {
    record.observers = withoutObserver(record.observers, stopped);
  });
  const sessionId = record.input.sessionId;
  if (record.result !== null) {
    stream.push({ type: 'session.ended', sessionId, result: record.result, at });
    stream.close();
    return stream;
  }
  if (record.leaf === 'queued')
    stream.push({ type: 'session.queued', sessionId, position: positionOf(record), at });
  else stream.push(startedEvent(record, record.actor?.getSnapshot().context.attempts ?? 1, at));
  if (record.observers === null) record.observers = [];
  record.observers.push(stream);
  return stream;
}

/**
 * `observers` without `stream`, `null` when none is left (no event is built for nobody): a new
 * array, so an emit walking the old one is not disturbed.
 */
export function withoutObserver<S>(observers: S[] | null, stream: S): S[] | null {
  if (observers === null) return null;
  const rest = observers.filter((s) => s !== stream);
  return rest.length === 0 ? null : rest;
}
