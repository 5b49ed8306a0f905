/**
 * One client's slow calls cannot hold every running slot while the others' calls wait
 * (`limits.maxRunningPerCaller`; `troupe serve` gives each caller three quarters of
 * `--max-concurrent`). An audit (2026-12-05) ran two slow calls of one token under
 * `--max-concurrent 2`: they held both slots, and another token's call timed out in the queue.
 * The SDK's real client over Streamable HTTP; each call takes 4 s (long beside the test's own steps,
 * so the order below is admission's alone).
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { clientWith, type Harness, startHarness, structured, text } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    providers: [createSimulatedProvider({ name: 'slow', latencyMs: { min: 4000, max: 4000 } })],
    limits: { maxConcurrent: 2, maxRunningPerCaller: 1 },
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

it("runs another token's call while one token's slow calls wait for its share, and shows the share", async () => {
  const alice = await clientWith(h, 'alice-token-1');
  const bob = await clientWith(h, 'bob-token-22');
  const first = chat(alice, 'alice runs');
  const second = chat(alice, 'alice waits');
  await expect.poll(() => h.mcp.runtime.status().queued).toBe(1);
  expect(h.mcp.runtime.status().running).toBe(1);
  // Alice sees why her call waits, and the bound.
  const answer = await alice.callTool({ name: 'sessions', arguments: {} });
  expect(structured(answer)).toMatchObject({ max_concurrent: 2, max_running_per_caller: 1 });
  expect(text(answer)).toContain('1 running (max 2, 1 per caller), 1 queued');
  const bobs = structured(await chat(bob, 'bob runs'));
  expect(bobs.ok).toBe(true);
  const one = structured(await first);
  const two = structured(await second);
  expect([one.ok, two.ok]).toEqual([true, true]);
  const startedAt = (r: typeof one) =>
    h.mcp.runtime.session((r.session as { sessionId: string }).sessionId)?.startedAt as number;
  // Bob's call started at once, beside alice's first; without the share alice's two held both
  // slots and bob's started only once they ended.
  expect(startedAt(bobs)).toBeLessThan(startedAt(two));
  expect(h.mcp.runtime.metrics().limits?.waits.maxRunningPerCaller).toBe(1);
  await Promise.all([alice.close(), bob.close()]);
}, 30_000);
