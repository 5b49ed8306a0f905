/**
 * The sessions a local runtime knows: the live ones by id, and the bounded history of ended ones.
 * Summaries come from here, so `session(id)` and `sessions()` read one place.
 */
import { EndedSessions } from './history.js';
import { type SessionRecord, summarize } from './session-record.js';
import type { SessionMetadata, SessionSummary } from './types.js';

export class SessionTable {
  private readonly live = new Map<string, SessionRecord>();
  private readonly history: EndedSessions;
  /** What holds a queued session back, when its own record does not say (its lane is held). */
  waitingOf: (record: SessionRecord) => SessionRecord['waitingFor'] = () => undefined;

  constructor(historySize: number) {
    this.history = new EndedSessions(historySize);
  }

  get size(): number {
    return this.live.size;
  }

  add(record: SessionRecord): void {
    this.live.set(record.input.sessionId, record);
  }

  get(id: string): SessionRecord | undefined {
    return this.live.get(id);
  }

  /** Moves an ended session from live to the history. */
  end(metadata: SessionMetadata, createdAt: number, startedAt: number | null, endedAt: number): void {
    this.live.delete(metadata.sessionId);
    this.history.add(metadata, createdAt, startedAt, endedAt);
  }

  /** Every live session, queued ones first (so cancelling them frees no slot for another). */
  liveQueuedFirst(): SessionRecord[] {
    // Two passes, not a sort: O(n) at any depth, and each group stays in submission order.
    const out: SessionRecord[] = [];
    for (const record of this.live.values()) if (!record.admitted) out.push(record);
    for (const record of this.live.values()) if (record.admitted) out.push(record);
    return out;
  }

  summary(id: string): SessionSummary | undefined {
    const record = this.live.get(id);
    return record === undefined ? this.history.get(id) : this.liveSummary(record);
  }

  summaries(limit: number): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (const record of this.live.values()) {
      if (out.length >= limit) break;
      out.push(this.liveSummary(record));
    }
    return out;
  }

  recent(limit: number, owner?: string, after?: string): SessionSummary[] {
    return this.history.recent(limit, owner, after);
  }

  private liveSummary(record: SessionRecord): SessionSummary {
    const summary = summarize(record, record.actor?.getSnapshot().context);
    if (summary.waitingFor !== undefined || record.admitted) return summary;
    const waitingFor = this.waitingOf(record);
    return waitingFor === undefined ? summary : { ...summary, waitingFor };
  }
}
