/**
 * The live picture the dashboard shows: which leaf state each live session is in (from
 * `runtime.subscribe()` events), totals per final state, and per-bucket throughput and latency
 * over the last minutes. Memory is bounded by live sessions plus a fixed number of buckets.
 */
import { createHash } from 'node:crypto';
import { steadyClock } from '../core/clock.js';
import type { FinalState, Runtime, RuntimeEvent, RuntimeStatus, SessionSummary } from '../runtime/types.js';

export type LiveLeaf = 'queued' | 'calling' | 'streaming' | 'backingOff' | 'fallingBack';
export type LeafCounts = Record<LiveLeaf | FinalState, number>;

export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  readonly at: number;
  /** Sessions that ended in the bucket, per second. */
  readonly perSec: number;
  readonly ended: number;
  readonly failed: number;
  readonly runP50Ms: number | null;
  readonly runP95Ms: number | null;
  readonly queueP50Ms: number | null;
}

export interface LiveSession extends SessionSummary {
  readonly leaf: LiveLeaf;
}

/**
 * What the figures cover. `instance`: this process only. `cluster` (Redis backend): queued and
 * running counts, live and recent sessions are the whole cluster's; totals and series count the
 * sessions that ended anywhere in the cluster since this instance started watching.
 */
export interface ObserveScope {
  readonly kind: 'cluster' | 'instance';
  /** This instance's id in the cluster. */
  readonly instanceId?: string;
}

export interface MonitorSnapshot {
  readonly at: number;
  readonly scope: ObserveScope;
  readonly status: RuntimeStatus;
  /** Live sessions per leaf state, and sessions ended per final state since the monitor started. */
  readonly counts: LeafCounts;
  readonly live: readonly LiveSession[];
  /** What sessions that ended since the monitor started cost, by currency (`metadata.cost`). */
  readonly cost: Readonly<Record<string, number>>;
  readonly series: readonly SeriesPoint[];
  readonly bucketMs: number;
}

export interface MonitorOptions {
  /** Width of one throughput/latency bucket, in ms. @default 10000 */
  readonly bucketMs?: number;
  /** How far back the series goes, in ms. @default 300000 (5 min) */
  readonly windowMs?: number;
  /** Latency samples kept per bucket. @default 500 */
  readonly samplesPerBucket?: number;
  /**
   * Current time in epoch ms: what buckets and snapshots are dated by. Given, it also paces the
   * once-a-bucket look for ends never heard (`#reconcile`). @default `Date.now`, with that pace on
   * `steadyClock`, so that setting the date back does not stop the look for as long as the step
   */
  readonly now?: () => number;
  /** @default { kind: 'instance' } */
  readonly scope?: ObserveScope;
}

interface Bucket {
  at: number;
  ended: number;
  failed: number;
  run: number[];
  queue: number[];
  /** Its quantiles as of `ended` sessions: a bucket that took no session since is not sorted again. */
  latency?: Latency & { readonly ended: number };
}

interface Latency {
  readonly runP50Ms: number | null;
  readonly runP95Ms: number | null;
  readonly queueP50Ms: number | null;
}

/** Late ends remembered (`#settled`); older ones would be counted twice, if any came. */
const MAX_SETTLED = 10_000;

const NO_LATENCY: Latency = { runP50Ms: null, runP95Ms: null, queueP50Ms: null };

export class RuntimeMonitor {
  readonly #runtime: Runtime;
  readonly #leaves = new Map<string, LiveLeaf>();
  readonly #counts: LeafCounts = {
    queued: 0,
    calling: 0,
    streaming: 0,
    backingOff: 0,
    fallingBack: 0,
    done: 0,
    failed: 0,
    timedOut: 0,
    cancelled: 0,
  };
  readonly #cost: Record<string, number> = {};
  readonly #buckets: Bucket[] = [];
  readonly #bucketMs: number;
  readonly #windowMs: number;
  readonly #samples: number;
  readonly #now: () => number;
  /** What paces `#reconcile`. */
  readonly #steady: () => number;
  readonly #scope: ObserveScope;
  readonly #unsubscribe: () => void;
  #reconciledAt = Number.NEGATIVE_INFINITY;
  /** Sessions `#reconcile` counted as ended, so that their `session.ended`, if it comes late, is not counted twice. */
  readonly #settled = new Set<string>();

  constructor(runtime: Runtime, options: MonitorOptions = {}) {
    this.#runtime = runtime;
    this.#bucketMs = options.bucketMs ?? 10_000;
    this.#windowMs = options.windowMs ?? 300_000;
    this.#samples = options.samplesPerBucket ?? 500;
    this.#now = options.now ?? Date.now;
    this.#steady = options.now ?? steadyClock.now;
    this.#scope = options.scope ?? { kind: 'instance' };
    this.#unsubscribe = runtime.subscribe((event) => this.#on(event));
  }

  close(): void {
    this.#unsubscribe();
  }

  /** Live sessions per leaf state plus ended totals; a copy. */
  counts(): LeafCounts {
    return { ...this.#counts };
  }

  snapshot(options: { readonly recent?: number; readonly live?: number } = {}): MonitorSnapshot {
    const steady = this.#steady();
    if (steady - this.#reconciledAt >= this.#bucketMs) {
      this.#reconciledAt = steady;
      this.#reconcile();
    }
    const now = this.#now();
    const raw = this.#runtime.status({ recent: options.recent ?? 20 });
    // An owner `mcp:<Mcp-Session-Id>` is that client's only guard under a shared token (or none):
    // operator pages show a short digest of it, never the id itself.
    const status: RuntimeStatus =
      raw.recent === undefined ? raw : { ...raw, recent: raw.recent.map(maskOwner) };
    const live = this.#runtime.sessions({ limit: options.live ?? 20 }).map((s) => ({
      ...maskOwner(s),
      leaf: this.#leaves.get(s.sessionId) ?? (s.state === 'queued' ? 'queued' : 'calling'),
    }));
    return {
      at: now,
      scope: this.#scope,
      status,
      counts: this.counts(),
      live,
      cost: { ...this.#cost },
      series: this.#series(now),
      bucketMs: this.#bucketMs,
    };
  }

  #on(event: RuntimeEvent): void {
    switch (event.type) {
      case 'session.queued':
        this.#move(event.sessionId, 'queued');
        break;
      case 'session.started':
        this.#move(event.sessionId, 'calling');
        break;
      case 'session.delta':
        if (this.#leaves.get(event.sessionId) !== 'streaming') this.#move(event.sessionId, 'streaming');
        break;
      case 'session.retry':
        this.#move(event.sessionId, 'backingOff');
        break;
      case 'session.fallback':
        this.#move(event.sessionId, 'fallingBack');
        break;
      case 'session.ended': {
        const leaf = this.#leaves.get(event.sessionId);
        if (leaf !== undefined) {
          this.#counts[leaf]--;
          this.#leaves.delete(event.sessionId);
        }
        const { metadata } = event.result;
        if (!this.#settled.delete(event.sessionId)) this.#counts[metadata.state]++;
        if (metadata.cost !== undefined) {
          const { currency, amount } = metadata.cost;
          this.#cost[currency] = Math.round(((this.#cost[currency] ?? 0) + amount) * 1e9) / 1e9;
        }
        const bucket = this.#bucket(this.#now());
        bucket.ended++;
        if (metadata.state !== 'done') bucket.failed++;
        // Each list held to its own bound: sessions that never ran (cancelled or timed out in the
        // queue) add no run sample, and their queue samples grew without one.
        if (bucket.run.length < this.#samples && (metadata.runMs > 0 || metadata.state === 'done'))
          bucket.run.push(metadata.runMs);
        if (bucket.queue.length < this.#samples) bucket.queue.push(metadata.queuedMs);
        break;
      }
      default:
        break;
    }
  }

  /**
   * Drops the sessions it counts as live that the runtime no longer has live: their end never
   * came (Redis pub/sub delivers at most once, and a cut subscriber misses what was published
   * meanwhile: 6 of 400 ends in a load with the bus cut six times, each then shown live for good).
   * An end the runtime still knows is counted in its final state; an unknown one is only dropped.
   * Once per bucket, at a snapshot: a lookup per live session.
   */
  #reconcile(): void {
    for (const [id, leaf] of this.#leaves) {
      const state = this.#runtime.session(id)?.state;
      if (state === 'queued' || state === 'running') continue;
      this.#counts[leaf]--;
      this.#leaves.delete(id);
      if (state === undefined) continue;
      this.#counts[state]++;
      this.#settled.add(id);
      if (this.#settled.size > MAX_SETTLED) this.#settled.delete(this.#settled.values().next().value!);
    }
  }

  #move(sessionId: string, leaf: LiveLeaf): void {
    const was = this.#leaves.get(sessionId);
    if (was !== undefined) this.#counts[was]--;
    this.#leaves.set(sessionId, leaf);
    this.#counts[leaf]++;
  }

  #bucket(now: number): Bucket {
    const at = now - (now % this.#bucketMs);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last !== undefined && last.at === at) return last;
    const bucket: Bucket = { at, ended: 0, failed: 0, run: [], queue: [] };
    // Only the buckets the series can show are kept: older than the window, or newer than this one
    // (the date was set back: until 2026-12-08 those stayed until the clock caught up with them, a
    // bucket more for each `bucketMs` of the step, 8,640 for a day).
    const kept = this.#buckets.filter((b) => b.at > at - this.#windowMs && b.at < at);
    this.#buckets.length = 0;
    this.#buckets.push(...kept, bucket);
    return bucket;
  }

  #series(now: number): SeriesPoint[] {
    const newest = now - (now % this.#bucketMs);
    const byAt = new Map(this.#buckets.map((b) => [b.at, b]));
    const points: SeriesPoint[] = [];
    for (let at = newest - this.#windowMs + this.#bucketMs; at <= newest; at += this.#bucketMs) {
      const b = byAt.get(at);
      // The current bucket is partly over: its rate is over the time it has run.
      const spanMs = at === newest ? Math.max(1000, now - at) : this.#bucketMs;
      const { runP50Ms, runP95Ms, queueP50Ms } = b === undefined ? NO_LATENCY : latencyOf(b);
      points.push({
        at,
        ended: b?.ended ?? 0,
        failed: b?.failed ?? 0,
        perSec: b === undefined ? 0 : Math.round((b.ended / spanMs) * 10_000) / 10,
        runP50Ms,
        runP95Ms,
        queueP50Ms,
      });
    }
    return points;
  }
}

/**
 * A bucket's quantiles, sorted once per change: every dashboard asks for the whole window twice a
 * second, and sorting 30 full buckets each time took about 9 ms a snapshot (32 dashboards: most of
 * the server's thread).
 */
function latencyOf(b: Bucket): Latency {
  if (b.latency?.ended !== b.ended) {
    const run = [...b.run].sort((x, y) => x - y);
    b.latency = {
      ended: b.ended,
      runP50Ms: rank(run, 0.5),
      runP95Ms: rank(run, 0.95),
      queueP50Ms: quantile(b.queue, 0.5),
    };
  }
  return b.latency;
}

/** The q-quantile (nearest rank) of unsorted samples; `null` for none. */
export function quantile(values: readonly number[], q: number): number | null {
  return rank(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/** The q-quantile (nearest rank) of sorted samples; `null` for none. */
function rank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `mcp:<session id>` as `mcp:#<12 hex of its SHA-256>`: still tells one client's rows from another's. */
function maskOwner<S extends { readonly owner?: string }>(s: S): S {
  if (s.owner === undefined || !s.owner.startsWith('mcp:')) return s;
  // biome-ignore lint/plugin: an MCP session id is visible ASCII (the spec's 0x21 to 0x7E), and an operator can hash theirs to find its row
  return { ...s, owner: `mcp:#${createHash('sha256').update(s.owner).digest('hex').slice(0, 12)}` };
}
