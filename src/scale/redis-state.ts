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

export class RedisSharedState implements SharedState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The last update queued for each key by this instance: they run one after another. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /**
   * Updates of one key from this instance run one after another: run together they would only
   * conflict with each other (64 leases at once each re-read and retried, and some gave up after
   * `MAX_TRIES`). Conflicts are left for changes by other instances.
   */
  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R> {
    const full = this.key(key);
    const previous = this.tails.get(full);
    const run =
      previous === undefined
        ? this.change(full, key, init, change, ttlMs)
        : previous.then(
            () => this.change(full, key, init, change, ttlMs),
            () => this.change(full, key, init, change, ttlMs),
          );
    // The caller gets `run` and its rejection; the tail only orders the next update after it.
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(full, tail);
    void tail.then(() => {
      if (this.tails.get(full) === tail) this.tails.delete(full);
    });
    return run;
  }

  private async change<S, R>(
    full: string,
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs: number | undefined,
  ): Promise<R> {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const raw = await this.redis.get(full);
      const { tag, state, json } = raw === null ? { tag: '', state: init(), json: undefined } : parse<S>(raw);
      const next = change(state);
      const nextJson = JSON.stringify(next.state);
      // Nothing changed (a check that found room it does not take, a closed breaker): no write, so
      // no conflict. Only for a stored state without a ttl: an absent key is written (its `init()`
      // may be the value being set), and a write with a ttl also renews its expiry.
      if (json !== undefined && ttlMs === undefined && nextJson === json) return next.result;
      const value = `${randomUUID()}|${nextJson}`;
      const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
      const written = await this.redis.eval(COMPARE_AND_SET, 1, full, tag, value, ttl);
      if (written === 1) return next.result;
    }
    throw runtimeError(
      'BACKEND_UNAVAILABLE',
      `Expected to change the shared state "${key}" within ${MAX_TRIES} tries, got a conflict every time; lower the number of instances or retry`,
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
