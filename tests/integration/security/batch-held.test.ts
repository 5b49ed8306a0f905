/**
 * What a held 2025-era POST keeps: the SDK holds a batch whole until its last answer, so a call
 * batched with a 3 MB notification, response or request answered at once kept those 3 MB for as
 * long as it waited and ran, counted by nothing (40 calls: 115 MB). And every held POST kept its
 * raw body's bytes beside the parsed request, through the listeners `readBody` left on the request.
 */
import { type IncomingMessage, request } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, startHarness } from '../mcp/harness.js';
import { HEADERS, openSession, post } from '../mcp/raw-legacy.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const hanging = () => [createSimulatedProvider({ name: 'slow', latencyMs: { min: 20_000, max: 20_000 } })];
const call = (id: number, prompt = 'wait') => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt, provider: 'slow', model: 'sim-pro' } },
});
const pad = 'x'.repeat(100_000);

describe('a 2025-era batch that carries a call', () => {
  const beside: Record<string, unknown> = {
    'a notification': { jsonrpc: '2.0', method: 'notifications/roots/list_changed', params: { pad } },
    'a response': { jsonrpc: '2.0', id: 900, result: { pad } },
    'a request answered at once': {
      jsonrpc: '2.0',
      id: 2,
      method: 'prompts/get',
      params: { name: 'review', arguments: { content: pad } },
    },
    'a second call': call(2, pad),
  };
  for (const [what, message] of Object.entries(beside)) {
    it(`is refused with 100 KB in ${what} beside it, naming the bound, and runs nothing`, async () => {
      h = await startHarness({ providers: hanging() });
      const sid = await openSession(h.url);
      const res = await post(h.url, sid, [call(1), message]);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: {
          code: -32600,
          message: expect.stringMatching(
            /^Invalid Request: expected a batch of at most 65536 bytes \(it is held whole until its last answer\), got 100\d{3}: send its large messages as POSTs of their own$/,
          ),
        },
      });
      const status = h.mcp.runtime.status();
      expect(status.queued + status.running + status.recent.length).toBe(0);
    });
  }

  it('is taken within the bound, and a large call alone too', async () => {
    h = await startHarness({ providers: hanging() });
    const sid = await openSession(h.url);
    const stop = new AbortController();
    const batch = await post(
      h.url,
      sid,
      [call(1, 'x'.repeat(60_000)), { jsonrpc: '2.0', id: 2, method: 'ping' }],
      stop.signal,
    );
    expect(batch.status).toBe(200);
    const alone = await post(h.url, sid, call(3, pad), stop.signal);
    expect(alone.status).toBe(200);
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 200 && runtime.status().running < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(runtime.status().running).toBe(2);
    stop.abort();
  });
});

describe('a held POST', () => {
  it('keeps its parsed request only, not its raw body', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    h = await startHarness({ providers: hanging(), limits: { maxConcurrent: 64, maxRunningPerCaller: 64 } });
    const sid = await openSession(h.url);
    const held: WeakRef<IncomingMessage>[] = [];
    h.app.server.on('request', (req: IncomingMessage) => held.push(new WeakRef(req)));
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const calls = 16;
    const prompt = 'y'.repeat(400_000);
    const sockets: (() => void)[] = [];
    for (let i = 0; i < calls; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          h!.url,
          { method: 'POST', agent: false, headers: { ...HEADERS, 'Mcp-Session-Id': sid } },
          (res) => {
            res.resume();
            resolve();
          },
        );
        req.on('error', reject);
        sockets.push(() => req.destroy());
        req.end(JSON.stringify(call(i + 1, prompt)));
      });
    }
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 300 && runtime.status().running < calls; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(runtime.status().running).toBe(calls);
    // The requests are still there (their responses are open), so what they hold is measured.
    expect(held.filter((r) => r.deref() !== undefined).length).toBeGreaterThanOrEqual(calls);
    gc();
    const grew = process.memoryUsage().arrayBuffers - before;
    // 16 raw bodies of 400 KB each were 6.4 MB of buffers; the parsed requests are on the heap.
    expect(grew, `array buffers grew by ${grew} bytes`).toBeLessThan(2_000_000);
    for (const destroy of sockets) destroy();
  });
});
