/**
 * What a client can make the resumable-stream store keep is bounded in bytes, not only in events:
 * a `review` prompt echoes its `content`, so each 1 MB request left 1 MB in the store (20 of them
 * left 20 MB; at the 10,000-event bound and the 4 MiB body cap, 40 GB). SDK client over HTTP.
 */
import { expect, it } from 'vitest';
import { MemoryEventStore } from '../../../src/mcp/event-store.js';
import { startHarness } from '../mcp/harness.js';

it('keeps at most maxBytes of events however large the answers a client asks for', async () => {
  const store = new MemoryEventStore({ maxBytes: 3 * 1024 * 1024 });
  const h = await startHarness({ http: { eventStore: store } });
  try {
    const client = await h.client('legacy');
    for (let i = 0; i < 8; i++) {
      const prompt = await client.getPrompt({
        name: 'review',
        arguments: { content: `${i}`.repeat(1_000_000) },
      });
      expect(JSON.stringify(prompt)).toContain(`${i}`.repeat(1000));
    }
    expect(store.bytes).toBeGreaterThan(2_000_000);
    expect(store.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    // Small events still flow and are kept.
    expect((await client.callTool({ name: 'list_models', arguments: {} })).isError).not.toBe(true);
    expect(store.size).toBeGreaterThan(0);
  } finally {
    await h.close();
  }
});
