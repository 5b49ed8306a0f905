/**
 * BullMQ's stalled-job check, run by this instance on the injected clock (its Workers have
 * `skipStalledCheck`) behind a guard in the same script, which holds every check for a while after
 * Redis was away for the whole cluster, and tells each caller of a new hold: this instance then
 * takes the locks of the jobs it runs again (`relock.ts`), within the hold.
 *
 * Why: a Redis back after an outage longer than `lockDurationMs` (restarted with its data, or
 * frozen) has let the locks of the jobs running across it lapse, though their instances are alive.
 * Until 2026-12-05 only a reconnect took them again, and a check of another instance, queued on its
 * connection or resent as it came back, could reach Redis first and move those jobs to wait: their
 * providers were called a second time (8 of 60 sessions after a 4 s outage, in an audit); after a
 * freeze or a cut that closes no connection nothing took them again, and the first check after the
 * hold moved them (`tests/scale/frozen-relock.test.ts`). The hold is the one trigger every cause
 * shares: every instance that runs jobs calls the guard during it (below) and retakes its locks
 * there, before any check may move a job. The guard is in Redis, so it holds a check however late and on
 * whatever connection it comes: each call records Redis's time (`TIME`, the clock the locks' TTLs
 * run on) and its `run_id`; one that finds another `run_id` (Redis restarted), the last call more
 * than `lockDurationMs` ago (Redis frozen or cut off from every instance that long), or no record,
 * while jobs are active, starts a hold of `stalledHoldMs` during which no check moves or marks a
 * job. Every instance that leases calls it every `min(stalledIntervalMs, lockDurationMs / 4)`, its
 * Workers paused or not (BullMQ's paused Worker checked nothing: a dead instance's sessions stayed
 * out of the queue while every survivor was full), and at a shutdown until its Workers have closed
 * (its jobs drained or handed back: a hold meanwhile must still reach it), so a gap means that no
 * instance reached Redis, or that all were starved of CPU that long (then the hold only delays
 * takeovers). A shorter gap of more than half a lock's life can lapse a lock too (BullMQ renews
 * each every quarter to half of it: a freeze that begins as a renewal is nearly due outlasts the
 * lock) and holds the checks for one lock's life, enough for every instance's next calls (every
 * quarter of it). Until 2026-12-05 such a gap held nothing (a hold of `stalledHoldMs` at half a
 * lock's life held checks again and again under a loaded machine's lags), and the next check moved
 * the job whose lock had lapsed: its provider was called twice (every freeze so timed in
 * `tests/scale/short-freeze-relock.test.ts`). Retaking on BullMQ's `lockRenewalFailed` did not
 * help there (5 of 5 runs still called twice): the failed renewal is answered as Redis goes on,
 * after a check queued meanwhile has moved a job marked stalled before the freeze. BullMQ's
 * `stalled-check` key still spaces checks by `stalledIntervalMs`.
 */
import { createRequire } from 'node:module';
import type { Queue, Worker } from 'bullmq';
import { type Redis, ReplyError } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { RECONNECT_MAX_MS } from './connect.js';

// Not among BullMQ's exports: the Lua its Worker runs for the check, taken from the package itself
// so that it stays the installed version's (a rename fails here, at load, not in a cluster).
const bullScripts = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/moveStalledJobsToWait-9.js') as {
  readonly moveStalledJobsToWait: { readonly content: string; readonly keys: number };
};
const BULL_CHECK = bullScripts.moveStalledJobsToWait;

/** How long the record of the last call outlives it, in ms: none found is a gap too. */
const LAST_CALL_TTL_MS = 60_000;

// KEYS: BullMQ's nine, then the last call's record and the hold. ARGV: BullMQ's four, then the
// longest gap that is no outage (the lock's life) and the hold after one, in ms. A shorter gap of
// over half the lock's life holds checks for the lock's life (a longer hold on runs to its end).
// Returns BullMQ's answer (an array), or while a hold is on its start (a string), which tells each
// caller which hold it is.
// The record is "<Redis's time in ms> <its run_id>": a run_id unlike the last is a restart. A Redis
// that refuses INFO to scripts (renamed) is told by the gap alone.
const GUARD = `
local guardTime = redis.call('TIME')
local guardNow = tonumber(guardTime[1]) * 1000 + math.floor(tonumber(guardTime[2]) / 1000)
local guardInfo = redis.pcall('INFO', 'server')
local guardRun = type(guardInfo) == 'string' and string.match(guardInfo, 'run_id:(%w+)') or '-'
local guardLast = redis.call('GET', KEYS[10])
redis.call('SET', KEYS[10], string.format('%.0f', guardNow) .. ' ' .. guardRun, 'PX', ${LAST_CALL_TTL_MS})
local lastAt, lastRun
if guardLast then lastAt, lastRun = string.match(guardLast, '^(%d+) (%S+)$') end
local gap = lastAt and guardNow - tonumber(lastAt)
local away = lastAt == nil or lastRun ~= guardRun or gap > tonumber(ARGV[5])
local late = not away and gap > tonumber(ARGV[5]) / 2
if (away or late) and redis.call('LLEN', KEYS[3]) > 0 then
  local holdMs = math.max(away and tonumber(ARGV[6]) or tonumber(ARGV[5]), redis.call('PTTL', KEYS[11]))
  redis.call('SET', KEYS[11], guardNow, 'PX', holdMs)
end
local guardHold = redis.call('GET', KEYS[11])
if guardHold then
  return guardHold
end
`;
const CHECK = 'troupeStalledCheck';
// BullMQ's in its order (`moveStalledJobsToWaitArgs`), then the guard's.
const KEYS = [
  'stalled',
  'wait',
  'active',
  'stalled-check',
  'meta',
  'paused',
  'marker',
  'events',
  'repeat',
].concat(['stalled-last', 'stalled-hold']);

export interface StalledCheckSettings {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  /** BullMQ's `maxStalledCount`, as the Workers have it. */
  readonly maxStalledCount: number;
}

/** How long checks are held after a gap, in ms: a lock's life and a reconnect's longest back-off, twice over the lock. */
export const stalledHoldMs = (lockDurationMs: number) => 2 * lockDurationMs + RECONNECT_MAX_MS;

type Checked = { readonly queue: Queue; readonly worker: Worker };
type CheckCommand = (...args: (string | number)[]) => Promise<unknown>;

export class StalledChecks {
  #timer: unknown = null;
  #checked: readonly Checked[] = [];
  /** The start of the last hold seen, by queue. */
  readonly #holds = new Map<string, string>();
  /** Jobs a check moved whose run deadlines (`onMoved`) Redis has not taken yet, by queue. */
  readonly #unarmed = new Map<Queue, Set<string>>();
  readonly #everyMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly settings: StalledCheckSettings,
    private readonly onError: (error: unknown) => void,
    /** Called once for each hold of `queue`'s checks this instance sees start (`relock.ts`). */
    private readonly onHold: (queue: Queue) => void,
    /**
     * Called with the jobs a check moved back to wait, when it moved any (`stalled-deadlines.ts`);
     * again at each later check while it rejects with Redis away.
     */
    private readonly onMoved: (queue: Queue, ids: readonly string[]) => Promise<void>,
  ) {
    this.#everyMs = Math.max(1, Math.min(settings.stalledIntervalMs, settings.lockDurationMs / 4));
    redis.defineCommand(CHECK, { numberOfKeys: BULL_CHECK.keys + 2, lua: GUARD + BULL_CHECK.content });
  }

  /** Checks `checked`'s queues from now until `stop`, the first at once (as a Worker's `run`). */
  start(checked: readonly Checked[]): void {
    this.stop();
    this.#checked = checked;
    void this.tick();
  }

  stop(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#checked = [];
  }

  private async tick(): Promise<void> {
    const checked = this.#checked;
    await Promise.all(checked.map((c) => this.call(c)));
    // A stop (or a new start) meanwhile owns the timer.
    if (checked === this.#checked) this.#timer = this.clock.setTimeout(() => void this.tick(), this.#everyMs);
  }

  private async call({ queue }: Checked): Promise<void> {
    const { lockDurationMs, stalledIntervalMs, maxStalledCount } = this.settings;
    const command = (this.redis as unknown as Record<string, CheckCommand>)[CHECK] as CheckCommand;
    try {
      const answer = await command.call(
        this.redis,
        ...KEYS.map((type) => queue.toKey(type)),
        ...[maxStalledCount, queue.toKey(''), this.clock.now(), stalledIntervalMs],
        ...[lockDurationMs, stalledHoldMs(lockDurationMs)],
      );
      if (typeof answer === 'string' && this.#holds.get(queue.name) !== answer) {
        this.#holds.set(queue.name, answer);
        this.onHold(queue);
      }
      if (Array.isArray(answer) && answer.length > 0) this.#keepUnarmed(queue, answer as string[]);
    } catch (error) {
      // Redis away: the next call tries again, as BullMQ's check did. A refused script is a fault.
      if (error instanceof ReplyError) this.onError(error);
    }
    await this.rearm(queue);
  }

  /**
   * Gives `onMoved` the jobs of `queue` still to be put at their run deadline, and forgets them
   * once it resolves. Redis away (the instance cut off right after the check moved them): kept for
   * the next check, every `#everyMs`, so one comes once Redis is back. Until 2026-12-08 they were
   * dropped, and such a session waited for a slot or its queue deadline
   * (`tests/scale/stalled-rearm-away.test.ts`). A refused script is a fault: reported, not tried again.
   */
  private async rearm(queue: Queue): Promise<void> {
    const ids = this.#unarmed.get(queue);
    if (ids === undefined) return;
    // Taken out while Redis is asked: ids a check moves meanwhile are kept beside them, not dropped.
    this.#unarmed.delete(queue);
    try {
      await this.onMoved(queue, [...ids]);
    } catch (error) {
      if (error instanceof ReplyError) this.onError(error);
      else this.#keepUnarmed(queue, ids);
    }
  }

  #keepUnarmed(queue: Queue, ids: Iterable<string>): void {
    this.#unarmed.set(queue, new Set([...(this.#unarmed.get(queue) ?? []), ...ids]));
  }
}
