/**
 * The Redis cost ledger against the shared contract (a real redis-server), plus what only a shared
 * ledger does: two instances charging every end they hear count it once and read the same totals,
 * a ledger opened later reads the ends charged before it, and what it keeps is bounded in Redis
 * (the owners' hashes with the owners held, each session's mark with its TTL).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCostLedger } from '../../../src/scale/redis-cost-ledger.js';
import { type RedisServer, startRedis } from '../../support/redis.js';
import { costLedgerContract } from './cost-ledger-contract.js';

let server: RedisServer;
let redis: Redis;
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

costLedgerContract(
  'RedisCostLedger',
  async (options) => new RedisCostLedger(redis, { prefix: `l${++prefixSeq}`, ...options }),
);

describe('RedisCostLedger across instances', () => {
  it('counts an end once when both instances charge it, and a ledger opened later reads it', async () => {
    const prefix = `x${++prefixSeq}`;
    const a = await RedisCostLedger.connect(server.url, { prefix });
    const b = await RedisCostLedger.connect(server.url, { prefix });
    for (const id of ['s1', 's2']) {
      const end = { sessionId: id, owner: 'user:alice', currency: 'USD', amount: 0.25 };
      await Promise.all([a.charge(end), b.charge(end)]);
    }
    expect(await a.of('user:alice')).toEqual({ USD: 0.5 });
    expect(await b.of('user:alice')).toEqual({ USD: 0.5 });
    const later = await RedisCostLedger.connect(server.url, { prefix });
    expect(await later.of('user:alice')).toEqual({ USD: 0.5 });
    await Promise.all([a.close(), b.close(), later.close()]);
  });

  it('keeps in Redis only the owners held and a mark per charged session, which expires', async () => {
    const prefix = `k${++prefixSeq}`;
    const ledger = new RedisCostLedger(redis, { prefix, maxOwners: 3, markTtlMs: 60_000 });
    for (let i = 0; i < 20; i++)
      await ledger.charge({ sessionId: `s${i}`, owner: `mcp:${i}`, currency: 'USD', amount: 1 });
    expect((await redis.keys(`${prefix}:cost:o:*`)).sort()).toEqual(
      [17, 18, 19].map((i) => `${prefix}:cost:o:mcp:${i}`),
    );
    expect(await redis.zcard(`${prefix}:cost:lru`)).toBe(3);
    const ttl = await redis.pttl(`${prefix}:cost:ended:s0`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await expect(RedisCostLedger.connect(server.url, { markTtlMs: 0 })).rejects.toThrow(/markTtlMs/);
  });
});
