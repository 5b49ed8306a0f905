/**
 * The Redis conversation store against the shared contract (a real redis-server), plus what only a
 * shared store does: a conversation saved by one instance is continued by another, and the byte
 * total holds across instances.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBytes } from '../../../src/core/request-bytes.js';
import { RedisConversationStore } from '../../../src/scale/redis-conversation-store.js';
import { type RedisServer, startRedis } from '../../support/redis.js';
import { conversationFairnessContract } from './conversation-fairness-contract.js';
import { conversationStoreContract, type StoreFactory, turn } from './conversation-store-contract.js';

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

const makeStore: StoreFactory = async (options) =>
  new RedisConversationStore(redis, { prefix: `c${++prefixSeq}`, ...options });
conversationStoreContract('RedisConversationStore', makeStore);
conversationFairnessContract('RedisConversationStore', makeStore);

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

  it('loads a record saved before models were kept, or holding a model of another shape, without one', async () => {
    const prefix = `m${++prefixSeq}`;
    const store = new RedisConversationStore(redis, { prefix });
    const id = await store.save(turn(1), undefined, undefined, { provider: 'kimi', model: 'kimi-k2.6' });
    const key = `${prefix}:conv:c:${id}`;
    const record = JSON.parse((await redis.get(key)) ?? '{}') as Record<string, unknown>;
    expect(record.model).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
    for (const model of [undefined, null, { provider: { name: 'kimi' }, model: 'k' }, ['kimi', 'k']]) {
      await redis.set(key, JSON.stringify({ ...record, model }));
      const held = await store.load(id);
      expect(held?.messages, JSON.stringify(model)).toEqual(turn(1));
      expect(held && 'model' in held, JSON.stringify(model)).toBe(false);
    }
  });

  it('reads a conversation back frozen, its sizes as saved: counting it again walks only what is new', async () => {
    const prefix = `s${++prefixSeq}`;
    const store = new RedisConversationStore(redis, { prefix });
    const saved = [
      { role: 'system' as const, content: 'be brief' },
      { role: 'user' as const, content: 'héllo 中文 "quoted"' },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [
          { id: 't1', type: 'function' as const, function: { name: 'f', arguments: '{"a":[1,{"b":2}]}' } },
        ],
      },
    ];
    const id = await store.save(saved);
    const read = (await store.get(id)) ?? [];
    expect(read).toEqual(saved);
    for (const message of read) expect(Object.isFrozen(message)).toBe(true);
    expect(Object.isFrozen(read[2]?.tool_calls?.[0]?.function)).toBe(true);
    // Counted exactly, as JSON has it.
    expect(requestBytes({ messages: read })).toBe(Buffer.byteLength(JSON.stringify({ messages: saved })));
    // The sizes come from what was saved, not from walking the messages again: a record whose
    // sizes say otherwise (written here by hand) is counted by them.
    const key = `${prefix}:conv:c:${id}`;
    const record = JSON.parse((await redis.get(key)) ?? '{}');
    expect(record.sizes).toEqual(saved.map((m) => Buffer.byteLength(JSON.stringify(m))));
    await redis.set(key, JSON.stringify({ ...record, sizes: [100, 200, 300] }), 'PX', 60_000);
    const again = (await store.get(id)) ?? [];
    expect(requestBytes({ messages: again })).toBe(Buffer.byteLength('{"messages":[]}') + 2 + 600);
    // Sizes that do not match the messages one for one are not trusted: measured.
    await redis.set(key, JSON.stringify({ ...record, sizes: [100] }), 'PX', 60_000);
    expect(requestBytes({ messages: (await store.get(id)) ?? [] })).toBe(
      Buffer.byteLength(JSON.stringify({ messages: saved })),
    );
    // A record without sizes (saved before they were kept) is measured.
    await redis.set(
      key,
      JSON.stringify({ messages: record.messages, expiresAt: record.expiresAt }),
      'PX',
      60_000,
    );
    expect(requestBytes({ messages: (await store.get(id)) ?? [] })).toBe(
      Buffer.byteLength(JSON.stringify({ messages: saved })),
    );
  });

  it('saves by the script hash, and sends the script again to a Redis that forgot it (SCRIPT FLUSH, a restart)', async () => {
    const store = new RedisConversationStore(redis, { prefix: `f${++prefixSeq}` });
    const first = await store.save(turn(1));
    await redis.script('FLUSH');
    const second = await store.save(turn(2));
    expect(await store.get(first)).toEqual(turn(1));
    expect(await store.get(second)).toEqual(turn(2));
    expect((await store.usage()).conversations).toBe(2);
    // Another error is not swallowed: a wrong type under one of the store's keys.
    const broken = new RedisConversationStore(redis, { prefix: `w${++prefixSeq}` });
    await redis.set(`w${prefixSeq}:conv:index`, 'not a sorted set');
    await expect(broken.save(turn(3))).rejects.toThrow(/WRONGTYPE/);
  });

  it('lets Redis drop a conversation at its TTL', async () => {
    const store = new RedisConversationStore(redis, { prefix: `t${++prefixSeq}`, ttlMs: 100 });
    const id = await store.save(turn(1));
    expect(await redis.pttl(`t${prefixSeq}:conv:c:${id}`)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await redis.exists(`t${prefixSeq}:conv:c:${id}`)).toBe(0);
  });
});

it('refuses a bad bound before it opens a connection (one opened first stayed open)', async () => {
  const clients = async () => ((await redis.client('LIST')) as string).trim().split('\n').length;
  const before = await clients();
  await expect(RedisConversationStore.connect(server.url, { maxConversations: 0 })).rejects.toThrow(
    /maxConversations/,
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await clients()).toBe(before);
});
