/**
 * The session store and event bus on Redis. Live sessions are a hash (`<prefix>:live`, id ->
 * summary JSON) that every instance mirrors in memory from the bus, so `status()`, `session(id)`
 * and `sessions()` stay synchronous and show the whole cluster. A session ends through `settle`:
 * one script that sets the result key only if none is set, drops the live entry and publishes
 * `session.ended`; whoever sets it first ends the session, so each session ends exactly once.
 */
import type { Redis } from 'ioredis';
import { History } from '../runtime/history.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from '../runtime/types.js';
import { endedSummary } from './job-data.js';

/** What goes over the event channel: an event and the session's summary after it. */
export interface BusMessage {
  readonly origin: string;
  readonly event: RuntimeEvent;
  readonly summary?: SessionSummary;
}

export interface CancelMessage {
  readonly sessionId: string;
  readonly reason: string;
}

const SETTLE = `
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('DEL', KEYS[4])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 1
end
return 0`;

const PUT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return 0`;

export class RedisKeys {
  constructor(readonly prefix: string) {}
  get live(): string {
    return `${this.prefix}:live`;
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

export class RedisSessionStore {
  /** The cluster's live sessions, as this instance last heard. */
  readonly live = new Map<string, SessionSummary>();
  readonly history: History<SessionSummary>;

  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
    private readonly origin: string,
    historySize: number,
    /** How long a result stays readable after the session ended, in ms. */
    private readonly resultTtlMs = 600_000,
  ) {
    this.history = new History<SessionSummary>(historySize);
  }

  /** Loads the live hash, for an instance that just joined. */
  async load(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.live);
    for (const [id, json] of Object.entries(all)) this.live.set(id, JSON.parse(json) as SessionSummary);
  }

  /**
   * Replaces the mirror with the live hash, after a reconnect: a Redis that came back empty has
   * no live sessions, and events missed while cut off are not replayed.
   */
  async reload(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.live);
    this.live.clear();
    for (const [id, json] of Object.entries(all)) this.live.set(id, JSON.parse(json) as SessionSummary);
  }

  /** Applies one bus message to the mirror. */
  apply(message: BusMessage): void {
    const event = message.event;
    if (!('sessionId' in event)) return;
    if (event.type === 'session.ended') {
      this.live.delete(event.sessionId);
      this.history.add(endedSummary(event.result as SessionResult));
    } else if (message.summary !== undefined && this.history.get(event.sessionId) === undefined) {
      this.live.set(event.sessionId, message.summary);
    }
  }

  /** Writes a live summary and tells the cluster, unless the session has ended meanwhile. */
  async put(summary: SessionSummary, event: RuntimeEvent): Promise<void> {
    const message: BusMessage = { origin: this.origin, event, summary };
    await this.redis.eval(
      PUT,
      2,
      this.keys.result(summary.sessionId),
      this.keys.live,
      summary.sessionId,
      JSON.stringify(summary),
      this.keys.events,
      JSON.stringify(message),
    );
  }

  /** Tells the cluster an event that changes no summary (a delta, progress). */
  async publish(event: RuntimeEvent): Promise<void> {
    const message: BusMessage = { origin: this.origin, event };
    await this.redis.publish(this.keys.events, JSON.stringify(message));
  }

  /** Ends a session if nobody has; `true` when this call did. */
  async settle(result: SessionResult, label: string | undefined): Promise<boolean> {
    const m = result.metadata;
    const event: RuntimeEvent = {
      type: 'session.ended',
      sessionId: m.sessionId,
      result,
      at: Date.now(),
      provider: m.provider,
      ...(label === undefined ? {} : { label }),
    };
    const message: BusMessage = { origin: this.origin, event };
    const done = await this.redis.eval(
      SETTLE,
      4,
      this.keys.result(m.sessionId),
      this.keys.live,
      this.keys.queueDeadlines,
      this.keys.run(m.sessionId),
      m.sessionId,
      JSON.stringify(result),
      String(this.resultTtlMs),
      `${m.provider}|${m.sessionId}`,
      this.keys.events,
      JSON.stringify(message),
    );
    return done === 1;
  }

  async result(id: string): Promise<SessionResult | undefined> {
    const json = await this.redis.get(this.keys.result(id));
    return json === null ? undefined : (JSON.parse(json) as SessionResult);
  }
}
