/**
 * `SharedState` on Redis, optimistic: each key holds `<tag>|<json>`, where the tag is a random
 * token written with every change. `update` reads the value, applies the (pure) change here, and
 * writes the result with a Lua compare-and-set that succeeds only if the tag is still the one it
 * read (or the key is still absent); on a conflict it reads again and retries. A random tag rather
 * than a counter: a key that expired and was created again never matches an old read.
 *
 * Why optimistic instead of the policy in Lua: the policy (windows, tiers, cooldown) is written
 * once in TypeScript and runs unchanged in memory; only storage differs here.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { runtimeError } from '../core/errors.js';
import type { SharedState } from '../runtime/ports.js';

/** KEYS[1] the state; ARGV: tag read ('' = absent), new value, ttl ms ('' = none). 1 = written. */
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
local tag = ''
if cur then
  local bar = string.find(cur, '|', 1, true)
  tag = string.sub(cur, 1, bar - 1)
end
if tag ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`;

/** Conflicts tolerated before giving up (each means another instance changed the state meanwhile). */
const MAX_TRIES = 100;

/** Most updates of one key written together (the JSON of a state is small; this bounds one write's work). */
const MAX_BATCH = 256;

/** One queued update; `change` and `init` are the caller's, typed at `update`. */
interface Pending {
  readonly init: () => unknown;
  readonly change: (state: unknown) => { readonly state: unknown; readonly result: unknown };
  readonly ttlMs: number | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly result: unknown } | { readonly error: unknown };

export class RedisSharedState implements SharedState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Updates of each key queued at this instance, and whether a batch of them is being written. */
  private readonly queues = new Map<string, { pending: Pending[]; writing: boolean }>();

  /**
   * Updates of one key from this instance are applied together: the ones queued while a write is
   * under way go in the next, one read and one compare-and-set for all of them, each change applied
   * to the state the one before it left, in the order they came (as one after another would). Run
   * together as separate writes they only conflicted with each other (64 leases at once each re-read
   * and retried, and some gave up after `MAX_TRIES`); run one after another, two round trips each,
   * they capped a provider's sessions at about one per four round trips (780 a second on one
   * instance, where BullMQ alone ran 2,800 jobs). Conflicts are left for changes by other instances.
   */
  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const full = this.key(key);
      let queue = this.queues.get(full);
      if (queue === undefined) {
        queue = { pending: [], writing: false };
        this.queues.set(full, queue);
      }
      queue.pending.push({ init, change, ttlMs, resolve, reject } as Pending);
      if (!queue.writing) void this.drain(full, key, queue);
    });
  }

  private async drain(full: string, key: string, queue: { pending: Pending[]; writing: boolean }) {
    queue.writing = true;
    while (queue.pending.length > 0) {
      // One ttl per write (a write with a ttl renews the key's expiry): a batch stops where it changes.
      const ttlMs = queue.pending[0]?.ttlMs;
      let count = 0;
      while (count < queue.pending.length && count < MAX_BATCH && queue.pending[count]?.ttlMs === ttlMs)
        count++;
      const batch = queue.pending.splice(0, count);
      try {
        const outcomes = await this.changeAll(full, key, batch, ttlMs);
        batch.forEach((update, i) => {
          const outcome = outcomes[i] as Outcome;
          if ('error' in outcome) update.reject(outcome.error);
          else update.resolve(outcome.result);
        });
      } catch (error) {
        for (const update of batch) update.reject(error);
      }
    }
    queue.writing = false;
    this.queues.delete(full);
  }

  /** Applies `batch` in order to the stored state and writes the result once; again on a conflict. */
  private async changeAll(full: string, key: string, batch: readonly Pending[], ttlMs: number | undefined) {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const raw = await this.redis.get(full);
      const read = raw === null ? undefined : parse<unknown>(raw);
      let state = read === undefined ? (batch[0] as Pending).init() : read.state;
      // A change that throws fails its own update only; the state goes on from before it.
      const outcomes: Outcome[] = batch.map((update) => {
        try {
          const next = update.change(state);
          state = next.state;
          return { result: next.result };
        } catch (error) {
          return { error };
        }
      });
      const nextJson = JSON.stringify(state);
      // Nothing changed (a check that found room it does not take, a closed breaker): no write, so
      // no conflict. Only for a stored state without a ttl: an absent key is written (its `init()`
      // may be the value being set), and a write with a ttl also renews its expiry.
      if (read !== undefined && ttlMs === undefined && nextJson === read.json) return outcomes;
      const value = `${randomUUID()}|${nextJson}`;
      const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
      const written = await this.redis.eval(COMPARE_AND_SET, 1, full, read?.tag ?? '', value, ttl);
      if (written === 1) return outcomes;
    }
    throw runtimeError(
      'BACKEND_UNAVAILABLE',
      `Expected to change the shared state "${key}" within ${MAX_TRIES} tries, got a conflict every time; lower the number of instances or call again`,
    );
  }

  async read<S>(key: string): Promise<S | undefined> {
    const raw = await this.redis.get(this.key(key));
    return raw === null ? undefined : parse<S>(raw).state;
  }

  private key(key: string): string {
    return `${this.prefix}:state:${key}`;
  }
}

function parse<S>(raw: string): { tag: string; state: S; json: string } {
  const bar = raw.indexOf('|');
  const json = raw.slice(bar + 1);
  return { tag: raw.slice(0, bar), state: JSON.parse(json) as S, json };
}
