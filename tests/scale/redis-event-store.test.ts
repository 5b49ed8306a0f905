/**
 * The Redis event store is bounded in bytes per caller, across all its streams and sessions: before,
 * only the events per stream (1,000) and the TTL bounded it, and every POST is a stream of its own,
 * so a client holding one token could make Redis keep whatever it asked for in 15 minutes. A private
 * redis-server; the stores are driven directly and Redis is read back to check what it holds.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionEventStore } from '../../src/mcp/event-store.js';
import { type EventStore, UnknownEventError } from '../../src/ports/event-store.js';
import { RedisEventStore } from '../../src/scale/redis-event-store.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let server: RedisServer;
let raw: Redis;
const stores: RedisEventStore[] = [];

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await raw.quit();
  await server.stop();
});

async function store(prefix: string, options: ConstructorParameters<typeof RedisEventStore>[1] = {}) {
  const s = await RedisEventStore.connect(server.url, { prefix, ...options });
  stores.push(s);
  return s;
}

const big = (n: number) => ({
  jsonrpc: '2.0' as const,
  method: 'notifications/message',
  params: { n, text: 'x'.repeat(10_000) },
});

async function replay(s: EventStore, after: string): Promise<string[]> {
  const sent: string[] = [];
  await s.replayEventsAfter(after, {
    send: async (id) => {
      sent.push(id);
    },
  });
  return sent;
}

/** What Redis holds for `caller` under `prefix`: its byte count, its index lines, and the bytes of its streams. */
async function holding(prefix: string, caller: string) {
  const counted = Number((await raw.get(`${prefix}:mcp-events:ob:${caller}`)) ?? 0);
  const lines = await raw.lrange(`${prefix}:mcp-events:o:${caller}`, 0, -1);
  let streamBytes = 0;
  let events = 0;
  const tag = `/${encodeURIComponent(caller)}/`;
  for (const key of await raw.keys(`${prefix}:mcp-events:s:*`)) {
    if (!key.includes(tag)) continue;
    for (const entry of await raw.lrange(key, 0, -1)) {
      streamBytes += Buffer.byteLength(entry);
      events += 1;
    }
  }
  return { counted, lines, streamBytes, events };
}

describe('RedisEventStore bytes per caller', () => {
  it("cuts one caller's flood past maxBytesPerCaller, across sessions and streams, oldest first; another caller keeps all", async () => {
    const cap = 100_000;
    const s = await store('b1', { maxBytesPerCaller: cap });
    const alice = sessionEventStore(s, 'sa', 'alice');
    const aliceIds = [];
    for (let n = 0; n < 3; n++) aliceIds.push(await alice.storeEvent('call', big(n)));
    // Mallory opens 10 sessions of 4 streams each: more streams get her nothing.
    const flood: { store: EventStore; id: string }[] = [];
    for (let session = 0; session < 10; session++) {
      const mallory = sessionEventStore(s, `sm${session}`, 'mallory');
      for (let stream = 0; stream < 4; stream++) {
        for (let n = 0; n < 2; n++)
          flood.push({ store: mallory, id: await mallory.storeEvent(`call${stream}`, big(n)) });
      }
    }
    const m = await holding('b1', 'mallory');
    expect(m.counted).toBeLessThanOrEqual(cap);
    expect(m.streamBytes).toBeLessThanOrEqual(cap);
    expect(m.events).toBeGreaterThanOrEqual(8); // about 9 of 80 fit
    expect(m.events).toBeLessThan(80);
    // Her oldest went first: resuming from them is refused; her newest stream resumes.
    const first = flood[0] as { store: EventStore; id: string };
    await expect(replay(first.store, first.id)).rejects.toThrow(UnknownEventError);
    await expect(replay(first.store, first.id)).rejects.toThrow(/dropped past the event store's bound/);
    const [before, last] = flood.slice(-2) as { store: EventStore; id: string }[];
    expect(await replay(before!.store, before!.id)).toEqual([last!.id]);
    // Alice holds all of hers and resumes from the first.
    expect(await replay(alice, aliceIds[0]!)).toEqual(aliceIds.slice(1));
    const a = await holding('b1', 'alice');
    expect(a.events).toBe(3);
    expect(a.lines.length).toBe(3);
  });

  it('holds the sessions opened without a token to one bound together: opening more gets a client nothing', async () => {
    const cap = 100_000;
    const s = await store('b0', { maxBytesPerCaller: cap });
    for (let session = 0; session < 10; session++) {
      const anonymous = sessionEventStore(s, `sn${session}`, 'anonymous');
      for (let n = 0; n < 4; n++) await anonymous.storeEvent('call', big(n));
    }
    const held = Number((await raw.get('b0:mcp-events:ob:anonymous')) ?? 0);
    expect(held).toBeGreaterThan(cap - 20_000);
    expect(held).toBeLessThanOrEqual(cap);
    expect(await raw.keys('b0:mcp-events:ob:*')).toEqual(['b0:mcp-events:ob:anonymous']);
  });

  it('counts exactly what the index holds, and an event LTRIM took costs no live one its place', async () => {
    const unit = Buffer.byteLength(JSON.stringify(big(0))) + 20; // an entry and its index line
    const cap = Math.floor(6.5 * unit);
    const s = await store('b2', { maxBytesPerCaller: cap, maxEventsPerStream: 2 });
    const caller = sessionEventStore(s, 's', 'carol');
    // Stream `a` keeps its last two of five: three index lines count events already gone.
    const a = [];
    for (let n = 0; n < 5; n++) a.push(await caller.storeEvent('a', big(n)));
    // Seven counted past 6.5: the oldest line goes, an event LTRIM took; `a`'s last two stay.
    const b = [await caller.storeEvent('b', big(0)), await caller.storeEvent('b', big(1))];
    expect(await replay(caller, a[3]!)).toEqual([a[4]]);
    expect(await replay(caller, b[0]!)).toEqual([b[1]]);
    // Two more lines of gone events, then `a`'s oldest live one: `a` keeps only its last.
    for (let n = 2; n < 5; n++) b.push(await caller.storeEvent('b', big(n)));
    await expect(replay(caller, a[3]!)).rejects.toThrow(UnknownEventError);
    expect(await raw.lrange('b2:mcp-events:s:s/carol/a', 0, -1)).toHaveLength(1);
    expect(await replay(caller, b[3]!)).toEqual([b[4]]);
    const h = await holding('b2', 'carol');
    const sizes = h.lines.map((line) => Number(line.slice(0, line.indexOf('\n'))));
    expect(h.counted).toBe(sizes.reduce((x, y) => x + y, 0));
    expect(h.counted).toBeLessThanOrEqual(cap);
    expect(h.lines).toHaveLength(6);
  });

  it("keeps no event over maxBytesPerCaller alone, nor its caller's older ones, and nobody else's are touched", async () => {
    const s = await store('b3', { maxBytesPerCaller: 50_000 });
    const alice = sessionEventStore(s, 'sa', 'alice');
    const mallory = sessionEventStore(s, 'sm', 'mallory');
    const a = [await alice.storeEvent('call', big(0)), await alice.storeEvent('call', big(1))];
    const m = await mallory.storeEvent('call', big(2));
    const huge = await mallory.storeEvent('call', {
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { text: 'y'.repeat(60_000) },
    });
    await expect(replay(mallory, m)).rejects.toThrow(UnknownEventError);
    await expect(replay(mallory, huge)).rejects.toThrow(UnknownEventError);
    expect(await holding('b3', 'mallory')).toMatchObject({ events: 0, lines: [] });
    expect(await replay(alice, a[0]!)).toEqual([a[1]]);
  });

  it('keeps the TTL on the streams and on the caller index and count', async () => {
    const s = await store('b4', { ttlMs: 60_000 });
    await sessionEventStore(s, 's', 'dave').storeEvent('call', big(0));
    const keys = await raw.keys('b4:mcp-events:*');
    expect(keys.sort()).toEqual(
      ['b4:mcp-events:o:dave', 'b4:mcp-events:ob:dave', 'b4:mcp-events:s:s/dave/call'].sort(),
    );
    for (const key of keys) {
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('gives ids that tell a client nothing of the events of other callers, and still resumes an id numbered before', async () => {
    const s = await store('b5');
    const alice = sessionEventStore(s, 'sa', 'alice');
    const bob = sessionEventStore(s, 'sb', 'bob');
    const before = await alice.storeEvent('_GET_stream', big(0));
    for (let n = 0; n < 20; n++) await bob.storeEvent(`call-${n}`, big(n));
    const after = await alice.storeEvent('_GET_stream', big(1));
    // Until 2026-12-05 the part after the stream was one INCR for the cluster: Alice's ids ended
    // `|1` and `|22`, and she read off them that the other callers' streams had 20 events meanwhile.
    const tail = (id: string) => id.slice(id.lastIndexOf('|') + 1);
    expect(tail(before)).toMatch(/^[0-9a-f]{32}$/);
    expect(tail(after)).toMatch(/^[0-9a-f]{32}$/);
    expect(tail(after)).not.toBe(tail(before));
    expect(await replay(alice, before)).toEqual([after]);
    // An id an instance gave before the change (a number) resumes on one after it, during a rolling upgrade.
    await raw.rpush(
      'b5:mcp-events:s:sc/carol/call',
      `7\n${JSON.stringify(big(7))}`,
      `8\n${JSON.stringify(big(8))}`,
    );
    expect(await replay(sessionEventStore(s, 'sc', 'carol'), 'sc/carol/call|7')).toEqual(['sc/carol/call|8']);
  });

  it('holds the bound when instances store for one caller at once', async () => {
    const cap = 80_000;
    const [one, two] = [
      await store('b5', { maxBytesPerCaller: cap }),
      await store('b5', { maxBytesPerCaller: cap }),
    ];
    await Promise.all(
      Array.from({ length: 60 }, (_, n) =>
        sessionEventStore(n % 2 === 0 ? one! : two!, `s${n % 5}`, 'erin').storeEvent(`c${n}`, big(n)),
      ),
    );
    const h = await holding('b5', 'erin');
    const sizes = h.lines.map((line) => Number(line.slice(0, line.indexOf('\n'))));
    expect(h.counted).toBe(sizes.reduce((x, y) => x + y, 0));
    expect(h.counted).toBeLessThanOrEqual(cap);
    expect(h.events).toBe(h.lines.length);
  });

  it('refuses a bound that is not a positive integer, before connect opens a connection', async () => {
    expect(() => new RedisEventStore(raw, { maxBytesPerCaller: 0 })).toThrow(
      /`maxBytesPerCaller` to be a positive integer, got 0/,
    );
    const clients = async () => ((await raw.client('LIST')) as string).trim().split('\n').length;
    const before = await clients();
    await expect(RedisEventStore.connect(server.url, { maxEventsPerStream: 1.5 })).rejects.toThrow(
      /`maxEventsPerStream` to be a positive integer, got 1.5/,
    );
    // Before, the connection was opened first and left open, keeping the process alive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await clients()).toBe(before);
  });

  it('holds each caller to its bytes, newest kept, no stream with a gap, whatever the stores (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 2000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.record({
            owner: fc.constantFrom('a', 'b'),
            stream: fc.constantFrom('1', '2', '3'),
            pad: fc.integer({ min: 0, max: 400 }),
          }),
          { maxLength: 30 },
        ),
        async (cap, perStream, ops) => {
          run += 1;
          const prefix = `p${run}`;
          const s = new RedisEventStore(raw, {
            prefix,
            maxBytesPerCaller: cap,
            maxEventsPerStream: perStream,
          });
          const stored: { owner: string; stream: string; id: string; seq: string; size: number }[] = [];
          for (const { owner, stream, pad } of ops) {
            const message = { jsonrpc: '2.0' as const, method: 'm', params: { t: 'x'.repeat(pad) } };
            const id = await s.storeEvent(`${owner}/${stream}`, message, owner);
            const seq = id.slice(id.lastIndexOf('|') + 1);
            // What the store counts: its entry `<seq>\n<json>` and its index line `<seq>\n<stream>`.
            const size = 2 * (seq.length + 1) + JSON.stringify(message).length + `${owner}/${stream}`.length;
            stored.push({ owner, stream: `${owner}/${stream}`, id, seq, size });
          }
          for (const owner of ['a', 'b']) {
            const lines = await raw.lrange(`${prefix}:mcp-events:o:${owner}`, 0, -1);
            const sizes = lines.map((line) => Number(line.slice(0, line.indexOf('\n'))));
            const counted = Number((await raw.get(`${prefix}:mcp-events:ob:${owner}`)) ?? 0);
            expect(counted).toBe(sizes.reduce((x, y) => x + y, 0));
            expect(counted).toBeLessThanOrEqual(cap);
            // The lines are the owner's newest events; the one before them did not fit.
            const mine = stored.filter((e) => e.owner === owner);
            const seqs = lines.map((line) => line.split('\n')[1]);
            expect(seqs).toEqual(mine.slice(mine.length - lines.length).map((e) => e.seq));
            expect(sizes).toEqual(mine.slice(mine.length - lines.length).map((e) => e.size));
            const before = mine[mine.length - lines.length - 1];
            if (before !== undefined) expect(counted + before.size).toBeGreaterThan(cap);
          }
          for (const stream of new Set(stored.map((e) => e.stream))) {
            const owner = stream.split('/')[0] as string;
            const lines = new Set(
              (await raw.lrange(`${prefix}:mcp-events:o:${owner}`, 0, -1)).map((line) => line.split('\n')[1]),
            );
            // A stream holds exactly its events that `LTRIM` left (its last `perStream`) and its
            // caller still counts: a run of its newest, so a replay never skips one.
            const all = stored.filter((e) => e.stream === stream).map((e) => e.seq);
            const expected = all.slice(-perStream).filter((seq) => lines.has(seq));
            const held = (await raw.lrange(`${prefix}:mcp-events:s:${stream}`, 0, -1)).map(
              (x) => x.split('\n')[0],
            );
            expect(held).toEqual(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
