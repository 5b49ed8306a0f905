/**
 * `cost_total` on a Redis cluster: two instances, each serving MCP over real HTTP with the SDK's
 * own client, keep what each caller's sessions cost in one `RedisCostLedger`, so a named token reads
 * the same total through either, an instance started after some of its sessions ended included, and
 * an end both instances hear counts once, and the admin reads every instance's ends, through either.
 * Before, each instance counted the ends it heard in a table of its own: the instance started later
 * read none of the earlier ones; and the admin read the ends its own instance ran
 * (`metrics().cost`). Over a real `redis-server`.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { RedisCostLedger } from '../../src/scale/redis-cost-ledger.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { clientWith, type Harness, startHarness, structured, text } from '../integration/mcp/harness.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const PRICES = { fast: { 'sim-pro': { input: 1, output: 10, currency: 'USD' } } };
const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
  { name: 'ops', token: 'admin-token-333', admin: true },
];
let redis: RedisServer;
const harnesses: Harness[] = [];
const ledgers: RedisCostLedger[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(harnesses.map((h) => h.close()));
  await Promise.allSettled(ledgers.map((l) => l.close()));
  await redis?.stop();
});

async function instance(): Promise<Harness> {
  const costLedger = await RedisCostLedger.connect(redis.url, { prefix: 'cai' });
  ledgers.push(costLedger);
  const h = await startHarness({
    providers: [createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } })],
    runtime: { prices: PRICES, backend: await redisBackend({ url: redis.url, prefix: 'cai' }) },
    context: { costLedger },
    http: { tokens },
  });
  await h.mcp.runtime.ready;
  harnesses.push(h);
  return h;
}

async function chat(client: Client): Promise<number> {
  const r = await client.callTool({
    name: 'chat',
    arguments: { prompt: 'hi', provider: 'fast', model: 'sim-pro' },
  });
  return structured(r).session.cost.amount as number;
}

async function costSeen(client: Client): Promise<{ total: Record<string, number>; line: string }> {
  const r = await client.callTool({ name: 'sessions', arguments: {} });
  const line = text(r)
    .split('\n')
    .find((l) => l.startsWith('Cost of')) as string;
  return { total: structured(r).cost_total, line };
}

it('shows a named token the same cost of its own sessions through every instance, ends before one started included', async () => {
  const a = await instance();
  const aliceOnA = await clientWith(a, 'alice-token-1');
  const bobOnA = await clientWith(a, 'bob-token-22');
  const before = [await chat(aliceOnA), await chat(aliceOnA)];
  const bobs = await chat(bobOnA);

  // Started after those ended: it heard none of them.
  const b = await instance();
  const aliceOnB = await clientWith(b, 'alice-token-1');
  const bobOnB = await clientWith(b, 'bob-token-22');
  const sum = (amounts: number[]) => Math.round(amounts.reduce((x, y) => x + y, 0) * 1e9) / 1e9;
  expect((await costSeen(aliceOnB)).total).toEqual({ USD: sum(before) });
  expect((await costSeen(bobOnB)).total).toEqual({ USD: bobs });

  // Ended now, heard by both instances, counted once, the same through either.
  const after = [await chat(aliceOnB), await chat(aliceOnA)];
  const all = { USD: sum([...before, ...after]) };
  const onA = await costSeen(aliceOnA);
  expect(onA.total).toEqual(all);
  expect(onA.line).toBe(`Cost of your ended sessions: ${all.USD} USD.`);
  expect((await costSeen(aliceOnB)).total).toEqual(all);
  expect((await costSeen(bobOnA)).total).toEqual({ USD: bobs });
});

it('shows the admin what every instance’s sessions cost, through either instance', async () => {
  const c = await instance();
  const d = await instance();
  // Ends of the first test (run by instances a and b), if it ran: neither c nor d ran them.
  const before = (await costSeen(await clientWith(c, 'admin-token-333'))).total.USD ?? 0;
  const onC = await chat(await clientWith(c, 'alice-token-1'));
  const onD = [
    await chat(await clientWith(d, 'bob-token-22')),
    await chat(await clientWith(d, 'bob-token-22')),
  ];
  const all = Math.round((before + onC + onD[0]! + onD[1]!) * 1e9) / 1e9;
  for (const h of [c, d]) {
    const seen = await costSeen(await clientWith(h, 'admin-token-333'));
    expect(seen.total).toEqual({ USD: all });
    expect(seen.line).toBe(`Cost of ended sessions: ${all} USD.`);
  }
});
