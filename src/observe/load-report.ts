/**
 * What a load run records per session and the summary it ends with: counts per final state,
 * queue-wait and run-time percentiles, and the check that every session ended exactly once.
 */
import type { FinalState } from '../runtime/types.js';
import type { LoadKind } from './load-plan.js';
import { KIND_DESCRIPTIONS } from './load-plan.js';
import { quantile } from './monitor.js';

export interface Outcome {
  readonly index: number;
  readonly state: FinalState;
  readonly sessionId?: string;
  readonly queuedMs?: number;
  readonly runMs?: number;
  readonly code?: string;
  /** The plan's kind for this session, and the state that kind should end in. */
  readonly kind?: LoadKind;
  readonly expected?: FinalState;
  /** Refused at once because its provider's circuit breaker was open (a server's breaker). */
  readonly breakerOpen?: boolean;
}

export interface LoadReport {
  /** Sessions counted: all planned ones, or those ended so far when `partial`. */
  readonly total: number;
  /** Sessions in the plan. */
  readonly planned: number;
  /** True for an interrupted run: the report covers the sessions that ended so far. */
  readonly partial: boolean;
  /** Final states per planned kind, for the kinds that had sessions. */
  readonly byKind: Partial<Record<LoadKind, Record<FinalState, number>>>;
  /** Sessions that ended in another state than their kind planned. */
  readonly unplanned: number;
  /** Of those, the ones refused because their provider's circuit breaker was open. */
  readonly unplannedBreakerOpen: number;
  /** Of those, the ones refused `SHUTTING_DOWN`: the server was stopping. */
  readonly unplannedShuttingDown: number;
  /** Planned `cancelled` sessions cancelled before they started (run time 0): still queued. */
  readonly cancelledQueued: number;
  readonly byState: Record<FinalState, number>;
  readonly codes: Record<string, number>;
  readonly queueWaitMs: Percentiles;
  readonly runMs: Percentiles;
  readonly wallMs: number;
  /** Problems with "every session ended exactly once"; empty when it holds. */
  readonly problems: readonly string[];
}

export interface Percentiles {
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** Collects outcomes and the end counts seen for each session id. */
export class LoadRecorder {
  readonly #outcomes = new Map<number, Outcome[]>();
  readonly #endedById = new Map<string, number>();
  readonly #startedAt: number;

  constructor(
    readonly total: number,
    now: number = performance.now(),
  ) {
    this.#startedAt = now;
  }

  /** One outcome for plan item `index`: a second one for the same item is a problem. */
  record(outcome: Outcome): void {
    const list = this.#outcomes.get(outcome.index) ?? [];
    list.push(outcome);
    this.#outcomes.set(outcome.index, list);
  }

  /** An end reported by the runtime itself (`session.ended`), counted per session id. */
  ended(sessionId: string): void {
    this.#endedById.set(sessionId, (this.#endedById.get(sessionId) ?? 0) + 1);
  }

  get finished(): number {
    return this.#outcomes.size;
  }

  counts(): Record<FinalState, number> {
    const byState: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
    for (const list of this.#outcomes.values()) byState[list[0]!.state]++;
    return byState;
  }

  /**
   * @param runtimeEnds whether `ended()` was fed (in-process runs): then ids must match one to one.
   * @param partial an interrupted run: count what ended so far, and skip the checks that need the end.
   */
  report(runtimeEnds: boolean, now: number = performance.now(), partial = false): LoadReport {
    const problems: string[] = [];
    const byKind: Partial<Record<LoadKind, Record<FinalState, number>>> = {};
    let unplanned = 0;
    let unplannedBreakerOpen = 0;
    let unplannedShuttingDown = 0;
    let cancelledQueued = 0;
    const codes: Record<string, number> = {};
    const queue: number[] = [];
    const run: number[] = [];
    const ids = new Map<string, number>();
    for (let i = 0; i < this.total; i++) {
      const list = this.#outcomes.get(i);
      if (list === undefined) {
        if (!partial) problems.push(`session #${i} never ended`);
        continue;
      }
      if (list.length > 1) problems.push(`session #${i} ended ${list.length} times`);
      const o = list[0]!;
      if (o.kind !== undefined) {
        const counts = byKind[o.kind] ?? { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
        counts[o.state]++;
        byKind[o.kind] = counts;
      }
      if (o.expected !== undefined && o.expected !== o.state) {
        unplanned++;
        if (o.breakerOpen === true) unplannedBreakerOpen++;
        if (o.code === 'SHUTTING_DOWN') unplannedShuttingDown++;
      }
      if (o.kind === 'cancelled' && o.state === 'cancelled' && o.runMs === 0) cancelledQueued++;
      if (o.code !== undefined) codes[o.code] = (codes[o.code] ?? 0) + 1;
      if (o.queuedMs !== undefined) queue.push(o.queuedMs);
      if (o.runMs !== undefined && o.runMs > 0) run.push(o.runMs);
      if (o.sessionId !== undefined) {
        const seen = ids.get(o.sessionId);
        if (seen !== undefined) problems.push(`sessions #${seen} and #${i} share id ${o.sessionId}`);
        ids.set(o.sessionId, i);
      }
    }
    if (runtimeEnds && !partial) {
      for (const [id, n] of this.#endedById)
        if (n !== 1) problems.push(`the runtime reported session ${id} ending ${n} times`);
      for (const id of ids.keys())
        if (!this.#endedById.has(id)) problems.push(`the runtime never reported session ${id} ending`);
      if (this.#endedById.size !== ids.size)
        problems.push(`the runtime reported ${this.#endedById.size} ends for ${ids.size} sessions`);
    }
    return {
      total: partial ? this.finished : this.total,
      planned: this.total,
      partial,
      byKind,
      unplanned,
      unplannedBreakerOpen,
      unplannedShuttingDown,
      cancelledQueued,
      byState: this.counts(),
      codes,
      queueWaitMs: percentiles(queue),
      runMs: percentiles(run),
      wallMs: now - this.#startedAt,
      problems,
    };
  }
}

function percentiles(values: number[]): Percentiles {
  return {
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    p99: quantile(values, 0.99),
    max: values.length === 0 ? null : Math.max(...values),
  };
}

/** The summary as a plain-text table. */
export function formatReport(report: LoadReport): string {
  const lines: string[] = [];
  const pct = (n: number) => (report.total === 0 ? '0.0' : ((100 * n) / report.total).toFixed(1));
  if (report.partial) {
    lines.push('', `interrupted: ${report.total} of ${report.planned} sessions ended; the summary so far`);
  }
  lines.push('', 'final state   sessions      %');
  for (const state of ['done', 'failed', 'timedOut', 'cancelled'] as const)
    lines.push(
      `${state.padEnd(12)} ${String(report.byState[state]).padStart(9)} ${pct(report.byState[state]).padStart(6)}`,
    );
  lines.push(`${'total'.padEnd(12)} ${String(report.total).padStart(9)}`);
  const codes = Object.entries(report.codes).sort((a, b) => b[1] - a[1]);
  if (codes.length > 0) lines.push('', `error codes: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  lines.push(...formatByKind(report));
  const ms = (v: number | null) => (v === null ? '-' : `${Math.round(v)}`);
  lines.push('', 'ms            p50      p90      p99      max');
  for (const [name, p] of [
    ['queue wait', report.queueWaitMs],
    ['run time', report.runMs],
  ] as const)
    lines.push(`${name.padEnd(10)} ${[p.p50, p.p90, p.p99, p.max].map((v) => ms(v).padStart(8)).join(' ')}`);
  const secs = report.wallMs / 1000;
  lines.push(
    '',
    `wall time ${secs.toFixed(2)} s, ${(report.total / Math.max(secs, 0.001)).toFixed(1)} sessions/s`,
    report.problems.length === 0
      ? report.partial
        ? `check: no session ended twice (${report.total} ended so far)`
        : `check: every session ended exactly once (${report.total} of ${report.total})`
      : `check FAILED: ${report.problems.length} problem(s):\n  ${report.problems.slice(0, 20).join('\n  ')}`,
    '',
  );
  return lines.join('\n');
}

/** Which kind ended how: the injected faults account for the sessions that did not end done. */
function formatByKind(report: LoadReport): string[] {
  const kinds = (Object.keys(KIND_DESCRIPTIONS) as LoadKind[]).filter((k) => report.byKind[k] !== undefined);
  if (kinds.length === 0) return [];
  const states = ['done', 'failed', 'timedOut', 'cancelled'] as const;
  const lines = ['', `planned kind${states.map((s) => s.padStart(10)).join('')}   what it does`];
  for (const kind of kinds) {
    const counts = report.byKind[kind]!;
    // The driver's clock starts at submission: under a backlog most never reach the provider.
    const queued =
      kind === 'cancelled' && report.cancelledQueued > 0
        ? ` (${report.cancelledQueued} of them still queued, never started)`
        : '';
    lines.push(
      `${kind.padEnd(12)}${states.map((s) => String(counts[s] || '-').padStart(10)).join('')}   ${KIND_DESCRIPTIONS[kind]}${queued}`,
    );
  }
  const notDone = report.total - report.byState.done;
  const explained = notDone - Math.min(notDone, report.unplanned);
  lines.push(
    '',
    report.unplanned === 0
      ? `${notDone} session(s) did not end done, every one because a fault was injected on purpose`
      : `${explained} of ${notDone} session(s) not done were injected faults; ${report.unplanned} session(s) ended otherwise than planned`,
  );
  if (report.unplannedBreakerOpen > 0) {
    // `troupe load` against a server whose breaker counts the injected timeouts (its
    // --breaker-min-timeout-ms below the load's deadlines) or whose provider failed for real.
    lines.push(
      `${report.unplannedBreakerOpen} of them failed PROVIDER_UNAVAILABLE because the server's circuit breaker for their provider was open: it counted failures of that provider (5xx, network errors, or timeouts after --breaker-min-timeout-ms). To see only the planned faults, start the server with --breaker-failures 0.`,
    );
  }
  if (report.unplannedShuttingDown > 0) {
    lines.push(
      `${report.unplannedShuttingDown} of them failed SHUTTING_DOWN because the server was stopping (a SIGTERM or SIGINT, or its drain) and took no new calls: the load was not at fault; run it again once the server is back`,
    );
  }
  return lines;
}
