/**
 * A bounded in-memory `EventStore` for resumable Streamable HTTP streams (2025-era sessions): every
 * SSE event the transport sends gets an id, and a client that reconnects with `Last-Event-ID`
 * receives the events of that stream it missed.
 *
 * Two bounds across all streams, whichever is reached first: a count of events (`maxEvents`) and
 * the bytes of their JSON (`maxBytes`). The bytes bound matters because a client chooses how large
 * an answer is (a `review` prompt echoes its `content`, a chat answer its model's output): 10,000
 * events of a 4 MiB body each would be 40 GB. Events are kept as their JSON text, which is what the
 * bound counts.
 *
 * Past a bound, the caller holding the most (by that bound: events, or bytes) loses its oldest
 * event; between callers holding as much, the one whose oldest event is the least recently stored
 * (the policy of the conversation store, `conversation-store.ts`). So a client that streams large
 * answers fast drops its own events, not those of a caller holding less, and another client's
 * `Last-Event-ID` still resumes. The event being stored is no exception: one over `maxBytes` alone
 * makes its caller the largest holder until it is gone, so it is not kept, and neither is anything
 * older of that caller. A caller loses its events oldest first, so a stream only ever loses its
 * oldest: a client that resumes from a dropped event gets an error and should call again (for a
 * long call: poll it as a task), never a replay with a gap. The caller is what `storeEvent` is told
 * (`sessionEventStore` passes the session's token name, or, for a session opened without a token,
 * `session:<its id>`); events stored without one share one owner.
 *
 * An event's id is its stream's and a random part: not the store's count of events, which every
 * client read off its own ids (until 2026-12-05: between two of its events, how many all other
 * callers' streams had), nor one per stream, which a stream forgotten and written again would
 * give out twice (a stale `Last-Event-ID` would replay from the wrong event, not be refused).
 *
 * Cost per event: O(1) (one Map of the events, each caller's events and each stream's a list
 * linked through them), but for an event stored past a bound, which scans the callers holding events
 * for the largest. A replay walks only the events of its stream after the `Last-Event-ID`. Events
 * live in this process only; in cluster mode (`--redis`) `troupe serve` uses `RedisEventStore`
 * (src/scale/redis-event-store.ts) instead.
 */
import type { ServerResponse } from 'node:http';
import {
  type EventId,
  type EventStore,
  isReplayable,
  type JSONRPCMessage,
  type OwnedEventStore,
  type StreamId,
  sessionOwner,
  UnknownEventError,
} from '../ports/event-store.js';
import { flatUUID } from '../runtime/ids.js';
import { stillThere } from './http-replays.js';
import { ANONYMOUS } from './http-reply.js';

export { UnknownEventError };

export interface MemoryEventStoreOptions {
  /** Most events kept across all streams; past it the caller holding the most loses its oldest. @default 10000 */
  readonly maxEvents?: number;
  /** Most bytes of event JSON kept across all streams; past it the caller holding the most bytes loses its oldest. @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
}

/** The owner of events stored without one. */
const SHARED = '';

interface Stored {
  readonly id: EventId;
  readonly streamId: StreamId;
  /** The message as JSON: what the byte bound counts, parsed back only to replay. */
  readonly json: string;
  readonly bytes: number;
  readonly holder: Holder;
  /** Store order: ties between holders of one size go to the one holding the oldest. */
  readonly seq: number;
  /** The holder's event stored just after this one. */
  newer: Stored | undefined;
  /** The events of this stream stored just before and just after this one (what replay walks). */
  before: Stored | undefined;
  after: Stored | undefined;
}

/** One caller's events, oldest first (only the oldest ever leaves), and their count and bytes. */
interface Holder {
  readonly owner: string;
  oldest: Stored | undefined;
  newest: Stored | undefined;
  count: number;
  bytes: number;
}

export class MemoryEventStore implements OwnedEventStore {
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly #events = new Map<EventId, Stored>();
  /** Each stream's newest event; a stream's events are a list linked through them, in order. */
  readonly #newestOf = new Map<StreamId, Stored>();
  /** The callers holding events now. */
  readonly #holders = new Map<string, Holder>();
  #bytes = 0;
  #seq = 0;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.maxEvents = positiveInteger('maxEvents', options.maxEvents ?? 10_000);
    this.maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 64 * 1024 * 1024);
  }

  get size(): number {
    return this.#events.size;
  }

  /** Streams with an event held now (a stream whose events are all dropped is forgotten). */
  get streams(): number {
    return this.#newestOf.size;
  }

  /** Bytes of event JSON held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** What each caller holds now (callers holding nothing are not listed). */
  usage(): ReadonlyMap<string, { readonly events: number; readonly bytes: number }> {
    const owners = new Map<string, { events: number; bytes: number }>();
    for (const h of this.#holders.values()) owners.set(h.owner, { events: h.count, bytes: h.bytes });
    return owners;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage, owner: string = SHARED): Promise<EventId> {
    this.#seq += 1;
    // Not the store's count: every caller's events would number it, and each id a client gets
    // would tell it how many events all the other callers' streams had meanwhile.
    const id = `${streamId}_${flatUUID()}`;
    const json = JSON.stringify(message);
    const bytes = Buffer.byteLength(json);
    let holder = this.#holders.get(owner);
    if (holder === undefined) {
      holder = { owner, oldest: undefined, newest: undefined, count: 0, bytes: 0 };
      this.#holders.set(owner, holder);
    }
    const before = this.#newestOf.get(streamId);
    const stored: Stored = {
      id,
      streamId,
      json,
      bytes,
      holder,
      seq: this.#seq,
      newer: undefined,
      before,
      after: undefined,
    };
    this.#events.set(id, stored);
    if (before !== undefined) before.after = stored;
    this.#newestOf.set(streamId, stored);
    if (holder.newest === undefined) holder.oldest = stored;
    else holder.newest.newer = stored;
    holder.newest = stored;
    holder.count += 1;
    holder.bytes += bytes;
    this.#bytes += bytes;
    while (this.#events.size > this.maxEvents || this.#bytes > this.maxBytes) {
      this.#dropOldestOf(this.#largestHolder(this.#events.size > this.maxEvents));
    }
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId);
    if (last === undefined) throw new UnknownEventError(lastEventId);
    const missed: [EventId, JSONRPCMessage][] = [];
    for (let stored = last.after; stored !== undefined; stored = stored.after) {
      const message = JSON.parse(stored.json) as JSONRPCMessage;
      if (isReplayable(message)) missed.push([stored.id, message]);
    }
    for (const [eventId, message] of missed) await send(eventId, message);
    return last.streamId;
  }

  forgetOwner(owner: string): void {
    const holder = this.#holders.get(owner);
    while (holder !== undefined && holder.count > 0) this.#dropOldestOf(holder);
  }

  /**
   * The holder of the most events (`byCount`) or bytes; between holders of one size, the one whose
   * oldest event is the least recently stored. Called only past a bound, so someone holds something.
   */
  #largestHolder(byCount: boolean): Holder {
    let largest: Holder | undefined;
    let size = -1;
    let seq = Number.POSITIVE_INFINITY;
    for (const holder of this.#holders.values()) {
      const held = byCount ? holder.count : holder.bytes;
      const first = (holder.oldest as Stored).seq;
      if (held > size || (held === size && first < seq)) {
        largest = holder;
        size = held;
        seq = first;
      }
    }
    return largest as Holder;
  }

  /** Forgets `holder`'s oldest event, and the holder once it holds nothing (a new one starts afresh). */
  #dropOldestOf(holder: Holder): void {
    const oldest = holder.oldest as Stored;
    this.#events.delete(oldest.id);
    // Out of its stream's list: its stream's oldest when one caller stores the stream (every
    // session's stream), anywhere in it when several do.
    const { before, after } = oldest;
    if (before !== undefined) before.after = after;
    if (after !== undefined) after.before = before;
    else if (before !== undefined) this.#newestOf.set(oldest.streamId, before);
    else this.#newestOf.delete(oldest.streamId);
    this.#bytes -= oldest.bytes;
    holder.oldest = oldest.newer;
    holder.count -= 1;
    holder.bytes -= oldest.bytes;
    if (holder.count === 0) this.#holders.delete(holder.owner);
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * One MCP session's view of a shared store: its streams are kept as `<sessionId>/<caller>/<streamId>`
 * (`caller`: the name of the token that opened the session, also the owner the store bounds each
 * event by: `OwnedEventStore`), and a `Last-Event-ID` of another
 * session's stream, or of this session's under another token, is unknown here. Without it the SDK's
 * standalone GET stream (`_GET_stream`, the same id in every session) would replay one session's
 * notifications to another, and a leaked session id would let any token resume its streams.
 */
export function sessionEventStore(store: EventStore, sessionId: string, caller: string): SessionEvents {
  const prefix = `${sessionId}/${encodeURIComponent(caller)}/`;
  // Without tokens every client is `anonymous`: each MCP session is then an owner of its own, so one
  // session's burst evicts its own events rather than those of every other client.
  const owner = caller === ANONYMOUS ? sessionOwner(sessionId) : caller;
  const own = async (eventId: EventId): Promise<StreamId | undefined> => {
    const streamId = await store.getStreamIdForEventId?.(eventId);
    return streamId?.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
  };
  return {
    // The caller is the owner a store bounds (`OwnedEventStore`); a store without owners ignores it.
    storeEvent: (streamId, message) =>
      (store as OwnedEventStore).storeEvent(`${prefix}${streamId}`, message, owner),
    getStreamIdForEventId: own,
    async replayEventsAfter(lastEventId, callbacks) {
      if ((await own(lastEventId)) === undefined) throw new UnknownEventError(lastEventId);
      return (await store.replayEventsAfter(lastEventId, callbacks)).slice(prefix.length);
    },
    // Only a session's own events go: a token's are its other sessions' too (and each expires).
    close: () => {
      if (caller === ANONYMOUS) (store as OwnedEventStore).forgetOwner?.(owner);
    },
  };
}

/** One session's events; `close` drops them once the session is gone, where they are its own. */
export interface SessionEvents extends EventStore {
  close(): void;
}

/**
 * A `GET` with `Last-Event-ID` for a session this instance does not hold (it lives on another
 * instance of the cluster): replays what the shared store has after that event as SSE, with the
 * `retry` field, and ends the response, so the client reconnects from its newest event id (SSE
 * polling). `false` when the event is not one of that session's streams under `caller`'s token.
 * Built only for a client still there (`http-replays.ts`).
 */
export async function replayForeignSession(
  store: EventStore,
  sessionId: string,
  asked: { readonly caller: string; readonly lastEventId: string; readonly retryMs: number },
  res: ServerResponse,
): Promise<boolean> {
  const { caller, lastEventId, retryMs } = asked;
  const scoped = sessionEventStore(store, sessionId, caller);
  if ((await scoped.getStreamIdForEventId?.(lastEventId)) === undefined) return false;
  if (!(await stillThere(res))) return true;
  const chunks: string[] = [`retry: ${retryMs}\n\n`];
  try {
    await scoped.replayEventsAfter(lastEventId, {
      send: async (eventId, message) => {
        chunks.push(`id: ${eventId}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
      },
    });
  } catch (error) {
    if (error instanceof UnknownEventError) return false;
    throw error;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    'mcp-session-id': sessionId,
  });
  res.end(chunks.join(''));
  return true;
}
