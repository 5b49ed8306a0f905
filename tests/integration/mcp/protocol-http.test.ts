/**
 * Resources, subscriptions, prompts and completions over Streamable HTTP, with the SDK's client in
 * both protocol eras; and per-client scoping through `sessionFilter`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import {
  checkPromptsAndCompletions,
  checkRetryLogging,
  checkSessionSubscription,
  checkStaticResources,
  HARNESS_TARGET,
} from './protocol-scenarios.js';

describe.each(['legacy', 'modern'] as const)('over HTTP (%s era)', (era) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists and reads sessions, models and charts', async () => {
    await checkStaticResources(await h.client(era), HARNESS_TARGET);
  });

  it('sends updates for a subscribed session until it ends', async () => {
    await checkSessionSubscription(await h.client(era), era, HARNESS_TARGET);
  });

  it('logs each retry to the client at the level it asked for', async () => {
    await checkRetryLogging(await h.client(era), era, HARNESS_TARGET);
  });

  it('offers prompts with arguments and completes providers, models and template parameters', async () => {
    await checkPromptsAndCompletions(await h.client(era), HARNESS_TARGET);
  });
});

it('shows a caller only the sessions the session filter lets through', async () => {
  const h = await startHarness({ context: { sessionFilter: () => false } });
  try {
    const client = await h.client('legacy');
    const call = client.callTool({ name: 'chat', arguments: { prompt: 'hidden', provider: 'slow' } });
    await new Promise((r) => setTimeout(r, 200));
    const [id] = h.mcp.runtime.sessions().map((s) => s.sessionId);
    expect(id).toBeDefined();
    const view = JSON.parse(
      ((await client.readResource({ uri: 'troupe://sessions' })).contents[0] as { text: string }).text,
    );
    expect([...view.queued, ...view.running]).toEqual([]);
    expect((await client.listResources()).resources.map((r) => r.uri)).not.toContain(
      `troupe://sessions/${id}`,
    );
    await expect(client.readResource({ uri: `troupe://sessions/${id}` })).rejects.toThrow(/session id/);
    const completed = await client.complete({
      ref: { type: 'ref/resource', uri: 'troupe://sessions/{id}' },
      argument: { name: 'id', value: '' },
    });
    expect(completed.completion.values).toEqual([]);
    await call;
    // Ended, the session moves to the view's recent list, which the filter scopes as well.
    expect(h.mcp.runtime.status().recent.map((s) => s.sessionId)).toContain(id);
    const ended = JSON.parse(
      ((await client.readResource({ uri: 'troupe://sessions' })).contents[0] as { text: string }).text,
    );
    expect(ended.recent).toEqual([]);
  } finally {
    await h.close();
  }
});
