/**
 * The Redis conversation store against the shared contract (a real redis-server), plus what only a
 * shared store does: a conversation saved by one instance is continued by another, and the byte
 * total holds across instances.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConversationStore } from '../../../src/scale/redis-conversation-store.js';
import { type RedisServer, startRedis } from '../../support/redis.js';
import { conversationStoreContract, turn } from './conversation-store-contract.js';

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

conversationStoreContract(
  'RedisConversationStore',
  async (options) => new RedisConversationStore(redis, { prefix: `c${++prefixSeq}`, ...options }),
);

describe('RedisConversationStore across instances', () => {
  it('lets another instance continue a conversation, and bounds the bytes cluster-wide', async () => {
    const prefix = `x${++prefixSeq}`;
    const a = await RedisConversationStore.connect(server.url, { prefix, maxTotalBytes: 4000 });
    const b = await RedisConversationStore.connect(server.url, { prefix, maxTotalBytes: 4000 });
    const id = await a.save(turn(1));
    expect(await b.get(id)).toEqual(turn(1));
    await b.save([...turn(1), ...turn(2)], id);
    expect((await a.get(id))?.length).toBe(4);
    for (let i = 0; i < 10; i++) await (i % 2 === 0 ? a : b).save(turn(i, 900));
    expect((await a.usage()).bytes).toBeLessThanOrEqual(4000);
    expect(await a.get(id)).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('lets Redis drop a conversation at its TTL', async () => {
    const store = new RedisConversationStore(redis, { prefix: `t${++prefixSeq}`, ttlMs: 100 });
    const id = await store.save(turn(1));
    expect(await redis.pttl(`t${prefixSeq}:conv:c:${id}`)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await redis.exists(`t${prefixSeq}:conv:c:${id}`)).toBe(0);
  });
});
