/**
 * The cost ledger in Redis (the port and its rules: `src/ports/cost-ledger.ts`), so every instance
 * of a cluster reads the same totals, ends from before it started included. Each owner's amounts
 * are a hash (`<prefix>:cost:o:<owner>`, currency -> sum by `HINCRBYFLOAT`); the owners that are
 * not pinned are a sorted set in charge order (`lru`, by a shared sequence), trimmed to `maxOwners`
 * from its least recently charged, whose hash goes with it; every charge also adds to one hash of
 * the cluster's total (`<prefix>:cost:total`), never trimmed; a charged session leaves a mark
 * (`ended:<id>`) for `markTtlMs`, so the other instances' charges of the same end add nothing.
 * One Lua script does all of it, so the bound holds whatever the instances do at once.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type CostCharge,
  type CostLedger,
  type CostLedgerOptions,
  maxCostOwners,
  positiveOption,
  roundedAmounts,
} from '../ports/cost-ledger.js';
import { connectRedis, quitWithin } from './connect.js';

export interface RedisCostLedgerOptions extends CostLedgerOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
  /**
   * How long a charged session's id is remembered, in ms: every instance hears an end within
   * moments, so this is only how late a copy of it may come. One small key per priced end.
   * @default 600000 (10 min, as long as a session's result is kept)
   */
  readonly markTtlMs?: number;
}

// KEYS: 1 the session's mark, 2 the total's hash, 3 the owner's hash, 4 lru, 5 seq.
// ARGV: 1 currency, 2 amount, 3 mark TTL, 4 '1' when pinned, 5 owner ('' for none), 6 maxOwners,
// 7 owner key prefix.
const CHARGE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('HINCRBYFLOAT', KEYS[2], ARGV[1], ARGV[2])
if ARGV[5] == '' then return 1 end
redis.call('HINCRBYFLOAT', KEYS[3], ARGV[1], ARGV[2])
if ARGV[4] == '1' then return 1 end
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[5])
local over = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])
if over > 0 then
  local gone = redis.call('ZPOPMIN', KEYS[4], over)
  for i = 1, #gone, 2 do redis.call('DEL', ARGV[7] .. gone[i]) end
end
return 1`;
// biome-ignore lint/plugin: our own script's text, ASCII; Redis's SCRIPT LOAD digests the same UTF-8 bytes
const CHARGE_SHA = createHash('sha1').update(CHARGE).digest('hex');

export class RedisCostLedger implements CostLedger {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxOwners: number;
  readonly #markTtlMs: number;
  readonly #ownsConnection: boolean;

  /** Uses `redis` for commands; `close` leaves it open unless `connect` opened it. */
  constructor(redis: Redis, options: RedisCostLedgerOptions = {}, ownsConnection = false) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'troupe'}:cost`;
    this.#maxOwners = maxCostOwners(options);
    this.#markTtlMs = markTtl(options);
    this.#ownsConnection = ownsConnection;
  }

  /** Connects first, so a wrong URL or a Redis that is down is a clear error at start. */
  static async connect(
    url: string,
    options: RedisCostLedgerOptions & { readonly connectTimeoutMs?: number } = {},
  ): Promise<RedisCostLedger> {
    maxCostOwners(options); // a bad bound is refused before a connection is opened (it would stay open)
    markTtl(options);
    const redis = await connectRedis(url, {
      purpose: 'for the cost ledger',
      // One small script for each priced end each instance hears: sent together.
      pipelined: true,
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisCostLedger(redis, options, true);
  }

  async charge(charge: CostCharge): Promise<void> {
    const owner = charge.owner ?? '';
    const args = [
      5,
      `${this.#prefix}:ended:${charge.sessionId}`,
      this.#totalKey(),
      this.#ownerKey(owner),
      `${this.#prefix}:lru`,
      `${this.#prefix}:seq`,
      charge.currency,
      String(charge.amount),
      this.#markTtlMs,
      charge.pinned === true ? '1' : '0',
      owner,
      this.#maxOwners,
      this.#ownerKey(''),
    ] as const;
    // By its hash; a Redis that does not know it yet (restarted, or a first charge) gets it whole once.
    await this.#redis.evalsha(CHARGE_SHA, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#redis.eval(CHARGE, ...args);
    });
  }

  async of(owner: string): Promise<Record<string, number>> {
    return roundedAmounts(await this.#redis.hgetall(this.#ownerKey(owner)));
  }

  async total(): Promise<Record<string, number>> {
    return roundedAmounts(await this.#redis.hgetall(this.#totalKey()));
  }

  async close(): Promise<void> {
    if (this.#ownsConnection) await quitWithin(this.#redis);
  }

  #totalKey(): string {
    return `${this.#prefix}:total`;
  }

  #ownerKey(owner: string): string {
    return `${this.#prefix}:o:${owner}`;
  }
}

function markTtl(options: RedisCostLedgerOptions): number {
  return positiveOption('markTtlMs', options.markTtlMs, 600_000);
}
