/**
 * One client cannot fill the runtime's queue and shut the others out (`limits.maxQueuedPerCaller`):
 * each named token is one caller with its own share of the queue. Before, a token's burst of calls
 * filled `maxQueued` and every other client's next call got `QUEUE_FULL` until the burst drained.
 * Within the queue callers take turns: a call queued behind another token's two starts second.
 * The SDK's real client over Streamable HTTP; one call runs at a time on the 1.5 s provider.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientWith, type Harness, startHarness, structured, text } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    limits: { maxConcurrent: 1, maxQueued: 4, maxQueuedPerCaller: 2 },
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
      ],
    },
  });
});
afterAll(async () => {
  await h.close();
});

const chat = (client: Client, prompt: string) =>
  client.callTool({ name: 'chat', arguments: { prompt, provider: 'slow' } });

it("refuses a token's calls past its share of the queue, naming the share, while another token's calls still queue and run", async () => {
  const alice = await clientWith(h, 'alice-token-1');
  const bob = await clientWith(h, 'bob-token-22');
  const running = chat(alice, 'runs first');
  await expect.poll(() => h.mcp.runtime.status().running).toBe(1);
  const waiting = [chat(alice, 'waits 1'), chat(alice, 'waits 2')];
  await expect.poll(() => h.mcp.runtime.status().queued).toBe(2);

  const refused = await chat(alice, 'one too many');
  expect(refused.isError).toBe(true);
  expect(text(refused)).toBe(
    'QUEUE_FULL: Expected at most 2 sessions of one caller waiting (limits.maxQueuedPerCaller), got 2 of caller "token:alice" waiting; call again once some have started, or cancel some\n' +
      'The server queue is full, and troupe does not queue or retry a call it refused (so retryable is false): call again in a few seconds, or send fewer calls at once.',
  );
  // Bob still gets a place: Alice's burst took only her share of the queue (4).
  const bobs = chat(bob, 'bob waits');
  await expect.poll(() => h.mcp.runtime.status().queued).toBe(3);
  const sessions = structured(await bob.callTool({ name: 'sessions', arguments: {} }));
  expect(sessions).toMatchObject({ max_queued: 4, max_queued_per_caller: 2 });

  expect(structured(await running).ok).toBe(true);
  const [alice1, alice2] = await Promise.all(waiting);
  const bobsResult = await bobs;
  for (const r of [alice1, alice2, bobsResult]) expect(structured(r).ok).toBe(true);
  // Callers take turns: Bob's first call, queued behind Alice's two, starts before her second.
  const startedAt = (r: unknown) =>
    h.mcp.runtime.session(structured(r).session.sessionId)?.startedAt as number;
  expect(startedAt(alice1)).toBeLessThan(startedAt(bobsResult));
  expect(startedAt(bobsResult)).toBeLessThan(startedAt(alice2));
  expect(h.mcp.runtime.metrics().rejected).toEqual({ QUEUE_FULL: 1 });
  await Promise.all([alice.close(), bob.close()]);
}, 20_000);
