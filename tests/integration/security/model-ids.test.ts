/**
 * Model ids are bounded where the tools take them. Some providers pass any id through (Kimi, an
 * OpenAI-compatible server), and a session keeps its model in its metadata, the ended-session
 * history (1,000 of them) and the event stream: 150 chat calls with 3.9 MB ids made `troupe serve`
 * hold 780 MB. An id over `MAX_MODEL_ID_LENGTH` (256 characters) is now refused before any session,
 * naming the bound.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness, structured } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// Literals, not `MAX_MODEL_ID_LENGTH`: ids built from the constant would pass whatever it became.
const over = 'm'.repeat(257);
const at = 'm'.repeat(256);

it('refuses a model id over the bound in chat, fallbacks and consensus, before any session', async () => {
  const client = await h.client('legacy');
  const calls = [
    { name: 'chat', arguments: { prompt: 'hi', model: over } },
    { name: 'chat', arguments: { prompt: 'hi', fallbacks: [{ model: over }] } },
    { name: 'consensus', arguments: { prompt: 'hi', models: [{ model: over }] } },
  ];
  for (const call of calls) {
    const result = structured(await client.callTool(call));
    expect(result.error.code).toBe('INVALID_REQUEST');
    expect(result.error.message).toContain('256');
  }
  // One at the bound passes the schema; this provider does not serve it.
  const atBound = structured(await client.callTool({ name: 'chat', arguments: { prompt: 'hi', model: at } }));
  expect(atBound.error.code).toBe('MODEL_NOT_FOUND');
  expect(h.mcp.runtime.status({ recent: 10 }).recent).toEqual([]);
});

it('refuses a provider name over the bound in chat, fallbacks and consensus, before any session', async () => {
  const client = await h.client('legacy');
  // A consensus entry with one took the runtime's refusal as that model's failure: the other
  // models were called (and paid for), and the answer echoed the name whole, twice.
  const long = 'p'.repeat(257);
  const calls = [
    { name: 'chat', arguments: { prompt: 'hi', provider: long } },
    { name: 'chat', arguments: { prompt: 'hi', fallbacks: [{ provider: long, model: 'm' }] } },
    { name: 'consensus', arguments: { prompt: 'hi', models: [{ provider: long }, {}] } },
    {
      name: 'consensus',
      arguments: { prompt: 'hi', models: [{ fallbacks: [{ provider: long, model: 'm' }] }, {}] },
    },
  ];
  for (const call of calls) {
    const result = await client.callTool(call);
    const answer = structured(result);
    expect(answer.ok).toBe(false);
    expect(answer.error.code).toBe('INVALID_REQUEST');
    expect(answer.error.message).toContain('256');
    expect(JSON.stringify(result)).not.toContain(long);
  }
  expect(h.mcp.runtime.status({ recent: 10 }).recent).toEqual([]);
});
