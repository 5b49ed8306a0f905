/**
 * The `SessionStore` port in one process. What the cluster shares (live summaries, results, run
 * records, cancel marks) is in the hub, read and changed synchronously, so every instance sees it
 * at once; each instance keeps its own bounded history of ended sessions, as it hears them on the
 * bus. `settle` sets a result only if none is set: a session ends exactly once across instances.
 */
import type { Clock } from '../../core/clock.js';
import { History } from '../history.js';
import type { BusMessage, CallerOf, LeaseState, RunRecord, SessionStore } from '../ports.js';
import { endedSummary } from '../session-record.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from '../types.js';
import type { MemoryClusterHub } from './hub.js';

/** A map whose entries expire on the clock; expired ones are dropped as new ones arrive. */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V, ttlMs: number): void {
    const now = this.clock.now();
    // Oldest first: stop at the first entry still alive (entries of one map share a TTL or nearly).
    for (const [k, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(k);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** How long a result and a cancel mark stay readable, in ms (as on Redis). */
export const RESULT_TTL_MS = 600_000;

export class MemorySessionStore implements SessionStore {
  private readonly history: History<SessionSummary>;

  constructor(
    private readonly hub: MemoryClusterHub,
    private readonly origin: string,
    historySize: number,
  ) {
    this.history = new History<SessionSummary>(historySize);
  }

  liveSession(id: string): SessionSummary | undefined {
    return this.hub.live.get(id);
  }

  liveSessions(): Iterable<SessionSummary> {
    return this.hub.live.values();
  }

  ended(id: string): SessionSummary | undefined {
    return this.history.get(id);
  }

  recent(limit: number, owner?: string, after?: string): SessionSummary[] {
    return this.history.recent(limit, owner, after);
  }

  remember(summary: SessionSummary): void {
    this.history.add(summary);
  }

  /** Nothing to load: live sessions are read from the hub itself. */
  load(): Promise<void> {
    return Promise.resolve();
  }

  apply(message: BusMessage): void {
    const event = message.event;
    if (event?.type === 'session.ended') this.addEnded(event.result as SessionResult, event.at);
  }

  forget(result: SessionResult): void {
    this.hub.live.delete(result.metadata.sessionId);
    this.hub.callers.delete(result.metadata.sessionId);
    this.addEnded(result, this.hub.clock.now());
  }

  correctEnded(result: SessionResult, endedAt: number): void {
    this.history.replace(endedSummary(result, endedAt));
  }

  /** Its summary in the history, its times counted back from its end. */
  private addEnded(result: SessionResult, endedAt: number): void {
    if (this.history.get(result.metadata.sessionId) === undefined)
      this.history.add(endedSummary(result, endedAt));
  }

  put(summary: SessionSummary, event: RuntimeEvent, caller?: CallerOf): Promise<void> {
    if (!this.hub.results.has(summary.sessionId)) {
      this.hub.live.set(summary.sessionId, summary);
      const kept = callerKept(caller);
      if (kept !== undefined) this.hub.callers.set(summary.sessionId, kept);
      this.hub.bus.publish({ origin: this.origin, event, summary });
    }
    return Promise.resolve();
  }

  callerOf(id: string): Promise<CallerOf | undefined> {
    return Promise.resolve(this.hub.callers.get(id));
  }

  /** In the hub, which every instance reads: nothing to publish. */
  putSummary(summary: SessionSummary): Promise<void> {
    if (!this.hub.results.has(summary.sessionId)) this.hub.live.set(summary.sessionId, summary);
    return Promise.resolve();
  }

  putRunning(summary: SessionSummary, event: RuntimeEvent, run: RunRecord, ttlMs: number): Promise<void> {
    this.hub.runs.set(summary.sessionId, run, ttlMs);
    return this.put(summary, event);
  }

  settle(result: SessionResult, label: string | undefined, endedAt: number): Promise<boolean> {
    const { hub } = this;
    const m = result.metadata;
    const id = m.sessionId;
    // Set already: by this very end (a retry, the same result) or by another's.
    const held = hub.results.get(id);
    if (held !== undefined) return Promise.resolve(held === result);
    hub.results.set(id, result, RESULT_TTL_MS);
    hub.live.delete(id);
    hub.callers.delete(id);
    hub.queue.deadlines.delete(`${m.provider}|${id}`);
    hub.runs.delete(id);
    const event: RuntimeEvent = {
      type: 'session.ended',
      sessionId: id,
      result,
      at: endedAt,
      provider: m.provider,
      ...(label === undefined ? {} : { label }),
    };
    hub.bus.publish({ origin: this.origin, event });
    return Promise.resolve(true);
  }

  result(id: string): Promise<SessionResult | undefined> {
    return Promise.resolve(this.hub.results.get(id));
  }

  leaseState(id: string): Promise<LeaseState> {
    const { hub } = this;
    return Promise.resolve({
      ended: hub.results.has(id),
      run: hub.runs.get(id),
      cancelReason: hub.cancels.get(id) ?? null,
      confirmed: hub.live.has(id),
    });
  }

  /** The first cancel's reason stands, as on one process: a later cancel of the same session keeps it. */
  markCancelled(id: string, reason: string): Promise<void> {
    if (this.hub.cancels.get(id) === undefined) this.hub.cancels.set(id, reason, RESULT_TTL_MS);
    return Promise.resolve();
  }
}

/** What `put` keeps of a session's caller metadata: both fields, as its results carry them; nothing when it has none. */
export function callerKept(caller: CallerOf | undefined): CallerOf | undefined {
  if (caller === undefined || (caller.caller === undefined && caller.callerTruncated !== true))
    return undefined;
  return {
    ...(caller.caller === undefined ? {} : { caller: caller.caller }),
    ...(caller.callerTruncated === true ? { callerTruncated: true } : {}),
  };
}
