/**
 * Resumable Streamable HTTP on Redis: two troupe HTTP servers share one redis-server's event store,
 * and a client that reconnects with `Last-Event-ID` to the OTHER instance receives the events it
 * missed. Raw HTTP, so the SSE wire format itself is checked.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventStore } from '../../src/scale/redis-event-store.js';
import { type Harness, startHarness } from '../integration/mcp/harness.js';
import { LEGACY_HEADERS, openLegacySession, postMcp } from '../support/raw-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
const stores: RedisEventStore[] = [];
const harnesses: Harness[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const h of harnesses) await h.close();
  for (const s of stores) await s.close();
  await redis.stop();
});

async function instance(prefix: string, options: { maxEventsPerStream?: number } = {}): Promise<Harness> {
  const store = await RedisEventStore.connect(redis.url, { prefix, ...options });
  stores.push(store);
  const h = await startHarness({ http: { eventStore: store, retryIntervalMs: 1500 } });
  harnesses.push(h);
  return h;
}

interface SseEvent {
  id?: string;
  retry?: string;
  data: string;
}

function parseSse(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const event: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'retry') event.retry = value;
        else if (field === 'data') event.data += value;
      }
      return event;
    });
}

/** A 2025-era session on `h` and one `chat` call on it, read to the end. */
async function callOn(h: Harness): Promise<{ sid: string; priming: SseEvent; rest: SseEvent[] }> {
  const sid = await openLegacySession(h.url);
  const call = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hello', provider: 'fast' }, _meta: { progressToken: 'p' } },
  });
  const [priming, ...rest] = parseSse(await call.text());
  return { sid, priming: priming as SseEvent, rest };
}

function resume(url: URL, sid: string, lastEventId: string): Promise<Response> {
  return fetch(url, {
    method: 'GET',
    headers: {
      ...LEGACY_HEADERS,
      Accept: 'text/event-stream',
      'Mcp-Session-Id': sid,
      'Last-Event-ID': lastEventId,
    },
  });
}

describe('resumable streams on Redis', () => {
  it('a client resumes on another instance: it replays the events after Last-Event-ID, with retry', async () => {
    const a = await instance('r1');
    const b = await instance('r1');
    const { sid, priming, rest } = await callOn(a);
    expect(priming).toMatchObject({ data: '', retry: '1500' });
    const result = rest.map((e) => JSON.parse(e.data)).find((m) => m.id === 2);
    expect(result?.result.structuredContent.ok).toBe(true);

    const resumed = await resume(b.url, sid, priming.id as string);
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    expect(resumed.headers.get('mcp-session-id')).toBe(sid);
    const events = parseSse(await resumed.text());
    expect(events[0]).toEqual({ data: '', retry: '1500' });
    // The same ids and messages instance A sent, the priming event not repeated.
    expect(events.slice(1).map((e) => [e.id, e.data])).toEqual(rest.map((e) => [e.id, e.data]));

    // From the middle: only what followed.
    const middle = rest[0]?.id as string;
    const tail = parseSse(await (await resume(b.url, sid, middle)).text()).slice(1);
    expect(tail.map((e) => e.id)).toEqual(rest.slice(1).map((e) => e.id));
  });

  it("refuses another session's event, an unknown one, and a session on no instance", async () => {
    const a = await instance('r2');
    const b = await instance('r2');
    const one = await callOn(a);
    const two = await callOn(a);
    // Session two cannot read session one's stream, on either instance.
    expect((await resume(b.url, two.sid, one.priming.id as string)).status).toBe(404);
    expect((await resume(a.url, two.sid, one.priming.id as string)).status).toBe(400);
    expect((await resume(b.url, one.sid, `${one.priming.id}999`)).status).toBe(404);
    expect((await resume(b.url, 'no-such-session', 'x|1')).status).toBe(404);
  });

  it("a session's other requests sent to another instance get 404 naming the instance that holds it", async () => {
    const a = await instance('r4');
    const b = await instance('r4');
    const sid = await openLegacySession(a.url);
    const list = await postMcp(b.url, sid, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(list.status).toBe(404);
    expect((await list.json()).error.message).toBe(
      'Session not found: start a new session with initialize (a session is served only by the instance that opened it: behind a load balancer, send each Mcp-Session-Id to that instance)',
    );
    expect((await postMcp(a.url, sid, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).status).toBe(200);
  });

  it('is bounded: a stream keeps its last maxEventsPerStream events and expires after ttlMs', async () => {
    const a = await instance('r3', { maxEventsPerStream: 2 });
    const b = await instance('r3', { maxEventsPerStream: 2 });
    const { sid, priming, rest } = await callOn(a);
    expect(rest.length).toBe(2);
    // The priming event was trimmed away: resuming from it is refused, from the last two works.
    expect((await resume(b.url, sid, priming.id as string)).status).toBe(404);
    const kept = rest.at(-2)?.id as string;
    const events = parseSse(await (await resume(b.url, sid, kept)).text()).slice(1);
    expect(events.map((e) => e.id)).toEqual([rest.at(-1)?.id]);
    const raw = new Redis(redis.url);
    const keys = await raw.keys('r3:mcp-events:s:*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(await raw.llen(key)).toBeLessThanOrEqual(2);
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(900_000);
    }
    // Its caller (no token: `anonymous`) is counted in bytes, with the same TTL.
    const counted = Number(await raw.get('r3:mcp-events:ob:anonymous'));
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(await raw.pttl('r3:mcp-events:o:anonymous')).toBeGreaterThan(0);
    await raw.quit();
  });
});
