/**
 * The `SessionStore` port on Redis. Live sessions are a hash (`<prefix>:live`, id -> summary JSON)
 * that every instance mirrors in memory from the bus, so `status()`, `session(id)` and `sessions()`
 * stay synchronous and show the whole cluster. A session ends through `settle`: one script that
 * sets the result key only if none is set, drops the live entry (and the caller metadata a submit
 * wrote beside it, `<prefix>:callers`) and publishes `session.ended`;
 * whoever sets it first ends the session, so each session ends exactly once.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { callerKept, endedSummary, History } from '../runtime/backend.js';
import type { BusMessage, CallerOf, LeaseState, RunRecord, SessionStore } from '../runtime/ports.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from '../runtime/types.js';

// 1: this call ended the session; 2: this very end was written before (a retry whose first answer
// was lost: the result as written, or its hash once delivered); 0: another end was.
const SETTLE = `
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('DEL', KEYS[4])
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 1
end
local held = redis.call('GET', KEYS[1])
if held == ARGV[2] or held == 'delivered:' .. redis.sha1hex(ARGV[2]) then return 2 end
return 0`;

// The content goes, the end mark stays with the hash of what was written (for SETTLE's 2).
const DELIVER = `
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, 10) ~= 'delivered:' then
  redis.call('SET', KEYS[1], 'delivered:' .. redis.sha1hex(held), 'KEEPTTL')
end
return 0`;

const PUT = `if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return 0`;

/** `PUT` of a submit, with its caller metadata (ARGV[5]) beside the summary in KEYS[3] (`callers`); `SETTLE` drops it. */
const PUT_WITH_CALLER = `if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return 0`;

/**
 * `PUT`, after the run record (for a takeover) is written to KEYS[3] with ARGV[5] its TTL and the
 * field-value pairs from ARGV[6] on. A script where it was a MULTI: the connection pipelines what a
 * turn of the event loop sends (`enableAutoPipelining`, `connect.ts`), and a MULTI is sent at once,
 * ahead of commands issued before it.
 */
const PUT_RUNNING = `redis.call('HSET', KEYS[3], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[3], ARGV[5])
${PUT}`;

/** What a lease reads at once: whether the session ended, its cancel, its run record (flat pairs), whether its summary landed. */
const LEASE_STATE = `return { redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[3]), redis.call('HGETALL', KEYS[2]),
  redis.call('HEXISTS', KEYS[4], ARGV[1]) }`;

/** What a result key starts with once its submitter has the result (`delivered`); its hash follows. */
const DELIVERED = 'delivered';

export class RedisKeys {
  constructor(readonly prefix: string) {}
  get live(): string {
    return `${this.prefix}:live`;
  }
  /** Live sessions' caller metadata (id -> JSON), written with a submit's summary, dropped at its end. */
  get callers(): string {
    return `${this.prefix}:callers`;
  }
  /** Queued sessions by queue deadline; members are `provider|sessionId`. */
  get queueDeadlines(): string {
    return `${this.prefix}:qdl`;
  }
  get events(): string {
    return `${this.prefix}:events`;
  }
  get cancels(): string {
    return `${this.prefix}:cancels`;
  }
  result(id: string): string {
    return `${this.prefix}:result:${id}`;
  }
  run(id: string): string {
    return `${this.prefix}:run:${id}`;
  }
  cancel(id: string): string {
    return `${this.prefix}:cancel:${id}`;
  }
}

export class RedisSessionStore implements SessionStore {
  /** The cluster's live sessions, as this instance last heard. */
  private readonly live = new Map<string, SessionSummary>();
  private readonly history: History<SessionSummary>;

  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
    private readonly origin: string,
    historySize: number,
    private readonly clock: Clock,
    /** How long a result stays readable after the session ended, in ms. */
    private readonly resultTtlMs = 600_000,
  ) {
    this.history = new History<SessionSummary>(historySize);
  }

  liveSession(id: string): SessionSummary | undefined {
    return this.live.get(id);
  }

  liveSessions(): Iterable<SessionSummary> {
    return this.live.values();
  }

  ended(id: string): SessionSummary | undefined {
    return this.history.get(id);
  }

  /** From this instance's history of ends heard on the bus: no Redis command, `limit` entries read at most. */
  recent(limit: number, owner?: string, after?: string): SessionSummary[] {
    return this.history.recent(limit, owner, after);
  }

  /** In this instance's history alone: no Redis command. */
  remember(summary: SessionSummary): void {
    this.history.add(summary);
  }

  /**
   * Replaces the mirror with the live hash: at start, and after a reconnect (a Redis that came
   * back empty has no live sessions, and events missed while cut off are not replayed).
   */
  async load(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.live);
    this.live.clear();
    // A session whose end was heard meanwhile is over: a read answered after its end (on the bus, another
    // connection) brought it back live for good (`tests/scale/reload-after-end.test.ts`).
    for (const [id, json] of Object.entries(all))
      if (this.history.get(id) === undefined) this.live.set(id, JSON.parse(json) as SessionSummary);
  }

  /** Applies one bus message to the mirror. */
  apply(message: BusMessage): void {
    const event = message.event;
    const summary = message.summary;
    if (event?.type === 'session.ended') this.addEnded(event.result as SessionResult, event.at);
    else if (summary !== undefined && this.history.get(summary.sessionId) === undefined)
      this.live.set(summary.sessionId, summary);
  }

  forget(result: SessionResult): void {
    this.addEnded(result, this.clock.now());
  }

  correctEnded(result: SessionResult, endedAt: number): void {
    this.live.delete(result.metadata.sessionId);
    this.history.replace(endedSummary(result, endedAt));
  }

  /** Drops it from the live sessions; its summary in the history, its times counted back from its end. */
  private addEnded(result: SessionResult, endedAt: number): void {
    this.live.delete(result.metadata.sessionId);
    this.history.add(endedSummary(result, endedAt));
  }

  async put(summary: SessionSummary, event: RuntimeEvent, caller?: CallerOf): Promise<void> {
    // This instance's mirror at once, as the in-memory ports do: a read right after `submit`
    // (`session(id)`, `status()`) sees the session; the other instances hear it on the bus.
    const id = summary.sessionId;
    if (this.history.get(id) === undefined && !this.live.has(id)) this.live.set(id, summary);
    // The caller's metadata in Redis alone, beside the summary: no instance mirrors it.
    const kept = callerKept(caller);
    if (kept === undefined)
      await this.redis.eval(PUT, 2, ...this.putKeys(id), ...this.putArgs(summary, event));
    else {
      const [keys, args] = [[...this.putKeys(id), this.keys.callers], this.putArgs(summary, event)];
      await this.redis.eval(PUT_WITH_CALLER, 3, ...keys, ...args, JSON.stringify(kept));
    }
  }

  async callerOf(id: string): Promise<CallerOf | undefined> {
    const json = await this.redis.hget(this.keys.callers, id);
    return json === null ? undefined : (JSON.parse(json) as CallerOf);
  }

  /** `PUT` with a summary-only message: mirrored by every instance, no event for subscribers. */
  async putSummary(summary: SessionSummary): Promise<void> {
    await this.redis.eval(PUT, 2, ...this.putKeys(summary.sessionId), ...this.putArgs(summary));
  }

  async putRunning(
    summary: SessionSummary,
    event: RuntimeEvent,
    run: RunRecord,
    ttlMs: number,
  ): Promise<void> {
    const id = summary.sessionId;
    // One round trip: the run record (for a takeover) and the live summary.
    const fields = [
      'attempts',
      String(run.attempts),
      'startedAt',
      String(run.startedAt),
      'runDeadlineAt',
      String(run.runDeadlineAt),
      'instance',
      this.origin,
      // With fallbacks: the current target and the route so far (plain data, JSON).
      ...(run.routing === undefined ? [] : ['routing', JSON.stringify(run.routing)]),
      ...(run.streamed === true ? ['streamed', '1'] : []),
    ];
    await this.redis.eval(
      PUT_RUNNING,
      3,
      ...this.putKeys(id),
      this.keys.run(id),
      ...this.putArgs(summary, event),
      String(ttlMs),
      ...fields,
    );
  }

  /** `PUT`'s keys: the session's result (its end mark) and the live summaries. */
  private putKeys(id: string): [string, string] {
    return [this.keys.result(id), this.keys.live];
  }

  /** `PUT`'s arguments: the summary under the session's id, and the bus message to publish (the summary alone without `event`). */
  private putArgs(summary: SessionSummary, event?: RuntimeEvent): string[] {
    const { origin } = this;
    const message: BusMessage = event === undefined ? { origin, summary } : { origin, event, summary };
    return [summary.sessionId, JSON.stringify(summary), this.keys.events, JSON.stringify(message)];
  }

  async settle(result: SessionResult, label: string | undefined, endedAt: number): Promise<boolean> {
    const m = result.metadata;
    const event: RuntimeEvent = {
      type: 'session.ended',
      sessionId: m.sessionId,
      result,
      at: endedAt,
      provider: m.provider,
      ...(label === undefined ? {} : { label }),
    };
    const message: BusMessage = { origin: this.origin, event };
    const done = await this.redis.eval(
      SETTLE,
      5,
      this.keys.result(m.sessionId),
      this.keys.live,
      this.keys.queueDeadlines,
      this.keys.run(m.sessionId),
      this.keys.callers,
      m.sessionId,
      JSON.stringify(result),
      String(this.resultTtlMs),
      `${m.provider}|${m.sessionId}`,
      this.keys.events,
      JSON.stringify(message),
    );
    return done === 1 || done === 2;
  }

  async result(id: string): Promise<SessionResult | undefined> {
    const json = await this.redis.get(this.keys.result(id));
    return json === null || json.startsWith(DELIVERED) ? undefined : (JSON.parse(json) as SessionResult);
  }

  /**
   * The result's content goes once its submitter has it; the key stays to its TTL as the session's
   * end mark. Every result was kept whole for 10 minutes: one client's calls with 64 KiB answers
   * held 286 MB of Redis, and with `maxmemory` every other client's calls were refused.
   */
  async delivered(result: SessionResult): Promise<void> {
    // An end told while Redis was away (BACKEND_UNAVAILABLE) left no content here to drop, and a
    // connection cut off (no offline queue) would only refuse: the content stays to the key's TTL.
    if ((!result.ok && result.error.code === 'BACKEND_UNAVAILABLE') || this.redis.status !== 'ready') return;
    await this.redis.eval(DELIVER, 1, this.keys.result(result.metadata.sessionId));
  }

  async leaseState(id: string): Promise<LeaseState> {
    const [ended, cancel, pairs, live] = (await this.redis.eval(
      LEASE_STATE,
      4,
      this.keys.result(id),
      this.keys.run(id),
      this.keys.cancel(id),
      this.keys.live,
      id,
    )) as [number, string | null, string[], number];
    const run: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) run[pairs[i]!] = pairs[i + 1]!;
    return {
      ended: ended === 1,
      run: run.startedAt === undefined ? undefined : runRecordOf(run),
      cancelReason: cancel ?? null,
      confirmed: live === 1,
    };
  }

  /** The first cancel's reason stands (`NX`), as on one process: a later cancel keeps it. */
  async markCancelled(id: string, reason: string): Promise<void> {
    await this.redis.set(this.keys.cancel(id), reason, 'PX', 600_000, 'NX');
  }
}

/** A run record as stored in its hash (every field a string). */
function runRecordOf(run: Record<string, string>): RunRecord {
  const record = {
    attempts: Number(run.attempts),
    startedAt: Number(run.startedAt),
    runDeadlineAt: Number(run.runDeadlineAt),
    ...(run.streamed === '1' ? { streamed: true as const } : {}),
  };
  return run.routing === undefined
    ? record
    : { ...record, routing: JSON.parse(run.routing) as NonNullable<RunRecord['routing']> };
}
