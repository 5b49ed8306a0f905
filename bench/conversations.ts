/**
 * `npm run bench -- conversations --json [--calls 300] [--rounds 3] [--kib 16,64,256]`: what a
 * server-held conversation costs a `chat` call that continues it, per call, on Redis (`--redis`)
 * and in memory, against the least any Redis-held conversation costs, in the same run.
 *
 * - `redis`: `RedisConversationStore` as the `chat` tool drives it: `get` the conversation, `check`
 *   the turn, measure the request for `maxQueuedBytes` (`requestBytes`, as admission does), `save`
 *   it with the turn and the reply (the store's Lua script keeps the cluster-wide bounds).
 * - `bare` (the baseline): plain ioredis on the same server, `GET` and `JSON.parse` of the same
 *   conversation, then `JSON.stringify` and `SET ... PX` of it with the turn and reply: no bounds,
 *   no checks, no measure.
 * - `memory`: `MemoryConversationStore`, the same steps as `redis` (for scale: no I/O at all).
 *
 * Every call adds a turn and a reply of the conversation's message size; each store drops the
 * oldest turn at `maxMessages` (40), so the conversation stays at its size (`maxBytes` is raised to
 * 1 MiB so that `--kib 256` is not cut). Figures per size: client CPU a call (`process.cpuUsage`,
 * µs) and wall a call, medians of the rounds, each side once per round, order rotating; ratios
 * over `bare`. Starts its own `redis-server` (BENCH_REDIS_URL: use that one).
 * `BENCH_CONVERSATIONS_BEFORE=<checkout>` adds a side `before`: that checkout's built store and
 * request measure (its `dist/`), driven as `redis` is, in the same rounds (`vsBeforeCpuRatio`), and
 * `memoryBefore`, its in-memory store driven as `memory` is (`memoryVsBeforeCpuRatio`).
 */
import { Redis } from 'ioredis';
import { requestBytes } from '../src/core/request-bytes.js';
import { MemoryConversationStore } from '../src/mcp/conversations.js';
import type { ConversationStore } from '../src/ports/conversation-store.js';
import type { ChatMessage } from '../src/providers/port.js';
import { RedisConversationStore } from '../src/scale/redis-conversation-store.js';
import { flag, median, print, round, startRedis } from './support.js';

/** Messages a conversation holds here: the stores' `maxMessages`, so each call drops its oldest turn. */
const MESSAGES = 40;
/** Each store's `maxBytes`, raised so that `--kib 256` is not cut. */
const MAX_BYTES = 1024 * 1024;
const TTL_MS = 3_600_000;

interface Side {
  readonly name: string;
  call(index: number): Promise<void>;
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 300);
  const rounds = flag(argv, 'rounds', 3);
  const at = argv.indexOf('--kib');
  const sizes = (at < 0 ? '16,64,256' : String(argv[at + 1])).split(',').map(Number);
  const redis = await startRedis();
  const figures: Record<string, unknown> = { calls, rounds, messages: MESSAGES };
  try {
    for (const kib of sizes) figures[`kib${kib}`] = await measure(redis.url, kib, calls, rounds);
  } finally {
    redis.stop();
  }
  print(argv, figures);
}

async function measure(url: string, kib: number, calls: number, rounds: number) {
  // Each message about its share of the conversation's bytes (the cap is 256 KiB of JSON).
  const chars = Math.floor((kib * 1024) / MESSAGES) - 40;
  const text = (i: number) =>
    `${i} ${'lorem ipsum dolor sit amet, café '.repeat(Math.ceil(chars / 33)).slice(0, chars)}`;
  const start: ChatMessage[] = Array.from({ length: MESSAGES }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: text(i),
  }));
  const redisStore = await RedisConversationStore.connect(url, {
    prefix: `bench${kib}`,
    ttlMs: TTL_MS,
    maxMessages: MESSAGES,
    maxBytes: MAX_BYTES,
  });
  const memoryStore = new MemoryConversationStore({
    ttlMs: TTL_MS,
    maxMessages: MESSAGES,
    maxBytes: MAX_BYTES,
  });
  const plain = new Redis(url);
  const bareKey = `bench${kib}:bare`;
  await plain.set(bareKey, JSON.stringify({ messages: start, expiresAt: Date.now() + TTL_MS }), 'PX', TTL_MS);
  const through = async (store: ConversationStore, measure = requestBytes): Promise<Side['call']> => {
    const id = await store.save(start);
    return async (i) => {
      const prior = (await store.get(id)) ?? [];
      const turn: ChatMessage[] = [{ role: 'user', content: text(i) }];
      if (store.check(prior, turn) !== undefined) throw new Error('bench: the turn does not fit');
      measure({ messages: [...prior, ...turn] });
      // As `chat` saves it: the whole conversation with the reply; the store drops the oldest turn (`maxMessages`).
      await store.save([...prior, ...turn, { role: 'assistant', content: text(i + 1) }], id);
    };
  };
  const before = process.env.BENCH_CONVERSATIONS_BEFORE;
  let closeBefore = async () => {};
  const beforeSides: Side[] = [];
  if (before !== undefined) {
    const old = (await import(`${before}/dist/src/scale/redis-conversation-store.js`)) as {
      RedisConversationStore: typeof RedisConversationStore;
    };
    const oldBytes = (await import(`${before}/dist/src/core/request-bytes.js`)) as {
      requestBytes: typeof requestBytes;
    };
    const oldMemory = (await import(`${before}/dist/src/mcp/conversations.js`)) as {
      MemoryConversationStore: typeof MemoryConversationStore;
    };
    const memoryBefore = new oldMemory.MemoryConversationStore({
      ttlMs: TTL_MS,
      maxMessages: MESSAGES,
      maxBytes: MAX_BYTES,
    });
    const store = await old.RedisConversationStore.connect(url, {
      prefix: `before${kib}`,
      ttlMs: TTL_MS,
      maxMessages: MESSAGES,
      maxBytes: MAX_BYTES,
    });
    closeBefore = async () => {
      memoryBefore.close();
      await store.close();
    };
    beforeSides.push(
      { name: 'before', call: await through(store, oldBytes.requestBytes) },
      { name: 'memoryBefore', call: await through(memoryBefore, oldBytes.requestBytes) },
    );
  }
  const sides: Side[] = [
    ...beforeSides,
    { name: 'redis', call: await through(redisStore) },
    {
      name: 'bare',
      call: async (i) => {
        const raw = await plain.get(bareKey);
        const prior = (JSON.parse(raw ?? '{"messages":[]}') as { messages: ChatMessage[] }).messages;
        const messages = [
          ...prior,
          { role: 'user', content: text(i) },
          { role: 'assistant', content: text(i + 1) },
        ].slice(-MESSAGES);
        await plain.set(bareKey, JSON.stringify({ messages, expiresAt: Date.now() + TTL_MS }), 'PX', TTL_MS);
      },
    },
    { name: 'memory', call: await through(memoryStore) },
  ];
  const runs = new Map<string, { cpuUs: number; wallUs: number }[]>(sides.map((s) => [s.name, []]));
  for (const side of sides) for (let i = 0; i < Math.min(100, calls); i++) await side.call(i); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(k + round) % sides.length] as Side;
      const cpu = process.cpuUsage();
      const began = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) await side.call(i);
      const wallUs = Number(process.hrtime.bigint() - began) / 1000 / calls;
      const used = process.cpuUsage(cpu);
      runs.get(side.name)?.push({ cpuUs: (used.user + used.system) / calls, wallUs });
    }
  }
  await redisStore.close();
  await closeBefore();
  plain.disconnect();
  const of = (name: string) => {
    const r = runs.get(name) ?? [];
    return {
      cpuUsPerCall: round(median(r.map((x) => x.cpuUs)), 1),
      wallUsPerCall: round(median(r.map((x) => x.wallUs)), 1),
    };
  };
  const [redisSide, bare, memory] = [of('redis'), of('bare'), of('memory')];
  const beforeSide =
    before === undefined
      ? {}
      : {
          before: of('before'),
          vsBeforeCpuRatio: round(redisSide.cpuUsPerCall / of('before').cpuUsPerCall, 2),
          memoryBefore: of('memoryBefore'),
          memoryVsBeforeCpuRatio: round(memory.cpuUsPerCall / of('memoryBefore').cpuUsPerCall, 2),
        };
  return {
    ...beforeSide,
    conversationBytes: Buffer.byteLength(JSON.stringify(start)),
    redis: redisSide,
    bare,
    memory,
    redisCpuRatio: round(redisSide.cpuUsPerCall / bare.cpuUsPerCall, 2),
    redisWallRatio: round(redisSide.wallUsPerCall / bare.wallUsPerCall, 2),
  };
}
