/**
 * On a shared limiter without a shared queue (`createRuntime({ sharedState })`, several in-process
 * runtimes over one state): which queued session of a provider asks the shared limits for its first
 * start (`LocalLimits`), so that each provider's queue keeps its order. The first session of the
 * queue asks; while its answer is on its way, or while it waits for room, the sessions behind it
 * wait too (only those of its model, for a limit of its model alone). One let go goes first, past
 * any that came ahead of it meanwhile: it holds its charge. A session that comes ahead of one
 * waiting asks in its place (that one's next look is off, `forget`).
 */
import type { Verdict } from '../core/scheduler.js';
import type { LimitName } from './limiter.js';
import type { PassHolds } from './pass-holds.js';
import type { SessionRecord } from './session-record.js';

/** A session's ask of the shared limiter, until it is let go. */
export interface Asking {
  /** A submitted session's first start (else a due retry). */
  readonly queued: boolean;
  /** When its charge lapses (a retry's run deadline); a queued one's is a run's length after it asks. */
  readonly lapsesAt?: number;
  /** The next look's, while it waits for room; none while an answer is on its way. */
  timer?: unknown;
  /** The probe its last refusal named. */
  probe?: string | undefined;
  /** Its last wait for the settle of a probe whose end was told (`SharedAsks`: 50 ms, doubled each look). */
  settleWaitMs?: number;
  /** Its last refusal was by a limit of its model alone. */
  modelOnly?: boolean;
}

export class QueuedAsks {
  /** By provider (a set kept once made: providers are few): its queued sessions that ask, or were let go and wait for their pass. */
  private readonly lanes = new Map<string, Set<SessionRecord>>();

  /** @param forget ends a session's ask: its next look is off, and a late answer gives back what it got. */
  constructor(private readonly forget: (record: SessionRecord) => void) {}

  add(record: SessionRecord): void {
    let lane = this.lanes.get(record.provider);
    if (lane === undefined) {
      lane = new Set();
      this.lanes.set(record.provider, lane);
    }
    lane.add(record);
  }

  /** It goes, left its queue, or ended (its ask, if any, is the caller's to end). */
  delete(record: SessionRecord): void {
    this.lanes.get(record.provider)?.delete(record);
  }

  /**
   * What the admission gate says of a queued session: it goes (`true`: let go), waits (`false`,
   * `'item'`), or asks now (`'ask'`; those behind it of its provider's queue, or of its model, stop
   * asking).
   */
  verdict(
    record: SessionRecord,
    asking: ReadonlyMap<SessionRecord, Asking>,
    holds: PassHolds,
  ): Verdict | 'ask' {
    const { provider } = record;
    const model = record.input.model;
    const lane = this.lanes.get(provider) ?? new Set<SessionRecord>();
    if (record.limitStart != null) {
      this.delete(record);
      return true;
    }
    // One let go goes first: the queue looks past this one to it.
    for (const other of lane) if (other.limitStart != null) return 'item';
    const mine = asking.get(record);
    if (mine !== undefined) {
      // Its answer is on its way: its queue waits for it.
      if (mine.timer === undefined) return false;
      const limit = record.waitingFor as LimitName;
      return mine.modelOnly === true
        ? holds.refuseModel(record, provider, model, limit, null)
        : holds.refuse(record, limit, null);
    }
    // One of its model ahead of it waits for a limit of that model: it waits too, in its order.
    const held = holds.model(provider, model);
    if (held !== undefined) return holds.refuseModel(record, provider, model, held.limit, held.at);
    // Every other one asks (one let go went first, above). Its answer on its way: the queue waits for it.
    const others = [...lane].map((other) => ({ other, asks: asking.get(other) as Asking }));
    for (const { asks } of others) if (asks.timer === undefined) return false;
    // Those still waiting are behind it (the gate found none ahead), but those another model's limit holds.
    for (const { other, asks } of others)
      if (asks.modelOnly !== true || other.input.model === model) {
        this.delete(other);
        this.forget(other);
      }
    return 'ask';
  }
}
