/**
 * `limits.maxQueuedBytes` through the MCP front, with the SDK's real client over Streamable HTTP:
 * a `chat` call whose request does not fit beside the bytes already waiting is refused with
 * `QUEUE_FULL` (a tool error a model can read), one larger than the whole bound with
 * `INVALID_REQUEST`; the `sessions` tool shows the bytes waiting and the bound; and the server
 * goes on answering once the queue drains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, structured, text } from './harness.js';

const LIMIT = 3_000;
let h: Harness;

beforeAll(async () => {
  // One call at a time; `slow` answers in 1.5 s, so a second call waits in the queue.
  h = await startHarness({ limits: { maxConcurrent: 1, maxQueuedBytes: LIMIT } });
});
afterAll(async () => {
  await h.close();
});

describe('chat with the queue’s bytes full', () => {
  it('refuses with QUEUE_FULL past the bound, INVALID_REQUEST past the whole bound, and keeps working', async () => {
    const client = await h.client('legacy');
    const chat = (prompt: string) =>
      client.callTool({ name: 'chat', arguments: { prompt, provider: 'slow' } });
    const running = chat('runs first');
    await expect.poll(() => h.mcp.runtime.status().running).toBe(1);
    const waiting = chat('w'.repeat(2_000));
    await expect.poll(() => h.mcp.runtime.status().queued).toBe(1);
    const held = h.mcp.runtime.status().queuedBytes;
    expect(held).toBeGreaterThan(2_000);
    expect(held).toBeLessThan(LIMIT - 500);

    const refused = await chat('r'.repeat(1_000));
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(
      new RegExp(
        `^QUEUE_FULL: Expected room for a request of \\d+ bytes in the queue, got ${held} bytes waiting \\(limit ${LIMIT}, limits.maxQueuedBytes\\)\\n`,
      ),
    );
    const huge = await chat('h'.repeat(LIMIT));
    expect(huge.isError).toBe(true);
    expect(text(huge)).toMatch(/^INVALID_REQUEST: Expected a request of at most 3000 bytes of JSON/);

    const sessions = await client.callTool({ name: 'sessions', arguments: {} });
    expect(structured(sessions)).toMatchObject({
      queued: 1,
      max_queued_bytes: LIMIT,
      max_queued_bytes_per_caller: LIMIT,
      queued_bytes: held,
    });
    expect(text(sessions)).toContain(`1 queued (max 10000; ${held} of ${LIMIT} bytes)`);

    expect(structured(await running).ok).toBe(true);
    expect(structured(await waiting).ok).toBe(true);
    expect(h.mcp.runtime.status().queuedBytes).toBe(0);
    // The same call that was refused fits now.
    expect(structured(await chat('r'.repeat(1_000))).ok).toBe(true);
    expect(h.mcp.runtime.metrics().rejected).toMatchObject({ QUEUE_FULL: 1, INVALID_REQUEST: 1 });
  }, 20_000);
});
