/**
 * A client that cancels requests it has not sent yet, or closes the response streams of batched
 * requests, makes the server remember an abort for each request id that had no call running yet
 * (in case its call starts later). Those are bounded: before, 20 closed batches of 100 left 1,980
 * entries with a 30 s timer each, and nothing capped them. (Since 2026-12-07 an answered request
 * leaves none: answered-batch-ids.test.ts.) Raw HTTP, since the SDK's client sends no batches.
 */
import { expect, it } from 'vitest';
import { MAX_EARLY_ABORTS } from '../../../src/mcp/call-registry.js';
import { startHarness } from '../mcp/harness.js';

const BASE = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

it(`remembers at most ${MAX_EARLY_ABORTS} aborts for calls that never started, however many come`, async () => {
  // Every closed stream aborts at once (no grace for a resume).
  const h = await startHarness({ http: { disconnectGraceMs: 0 } });
  try {
    const post = (body: unknown, sid?: string, signal?: AbortSignal) =>
      fetch(h.url, {
        method: 'POST',
        headers: { ...BASE, ...(sid === undefined ? {} : { 'mcp-session-id': sid }) },
        body: JSON.stringify(body),
        ...(signal === undefined ? {} : { signal }),
      });
    const init = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const sid = init.headers.get('mcp-session-id') ?? '';
    await init.text();
    await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).text();
    const batches = Math.ceil((MAX_EARLY_ABORTS * 1.5) / 99);
    for (let k = 0; k < batches; k++) {
      const closing = new AbortController();
      // Cancels of 99 requests not sent yet (remembered for their calls to find), and one slow call
      // that holds the stream open. An answered request is not remembered as cancelled when its
      // stream closes (answered-batch-ids.test.ts), and a running one is cancelled, not remembered.
      const batch = [
        ...Array.from({ length: 99 }, (_, i) => ({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: `n-${k}-${i}`, reason: 'not wanted' },
        })),
        {
          jsonrpc: '2.0',
          id: `slow-${k}`,
          method: 'tools/call',
          params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' } },
        },
      ];
      const res = await post(batch, sid, closing.signal);
      expect(res.status).toBe(200);
      closing.abort();
    }
    // Each closed stream cancelled its slow call; what is left is remembered aborts, capped.
    await expect.poll(() => h.mcp.calls.size, { timeout: 5000 }).toBe(0);
    expect(h.mcp.calls.earlyAborts).toBeGreaterThan(MAX_EARLY_ABORTS / 2);
    expect(h.mcp.calls.earlyAborts).toBeLessThanOrEqual(MAX_EARLY_ABORTS);
    expect(h.mcp.runtime.sessions()).toEqual([]);
  } finally {
    await h.close();
  }
});
