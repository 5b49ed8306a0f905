/**
 * An operator can cap the priority clients ask for (`maxCallerPriority`): the per-caller share of
 * the queue bounds how many places a client takes, not their order, so on a shared server a client
 * asking 9 for everything went ahead of every other client's calls. Past the cap a call is refused
 * with INVALID_REQUEST before it takes a place; at or under it, and for admins, calls run as asked.
 * The SDK's real client over Streamable HTTP, named tokens.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { clientWith, type Harness, startHarness, structured, text } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    context: { maxCallerPriority: 6 },
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'ops', token: 'admin-token-333', admin: true },
      ],
    },
  });
});
afterAll(async () => {
  await h.close();
});

const chat = (client: Client, args: Record<string, unknown>) =>
  client.callTool({ name: 'chat', arguments: { prompt: 'hi', provider: 'fast', ...args } });

it("refuses a client's priority past the cap, before the call takes a place; at the cap, and for admins, calls run", async () => {
  const alice = await clientWith(h, 'alice-token-1');
  const admin = await clientWith(h, 'admin-token-333');

  const refused = await chat(alice, { priority: 7 });
  expect(refused.isError).toBe(true);
  expect(text(refused)).toContain(
    "INVALID_REQUEST: Expected `priority` at most 6 for this client (the server's maxCallerPriority; admins are not capped), got 7",
  );
  // Refused before the runtime: nothing was submitted for it.
  expect(h.mcp.runtime.metrics().submitted).toBe(0);

  const atCap = structured(await chat(alice, { priority: 6 }));
  expect(atCap).toMatchObject({ ok: true, session: { priority: 6 } });
  const unasked = structured(await chat(alice, {}));
  expect(unasked).toMatchObject({ ok: true, session: { priority: 5 } });
  const byAdmin = structured(await chat(admin, { priority: 9 }));
  expect(byAdmin).toMatchObject({ ok: true, session: { priority: 9 } });

  // consensus asks each of its models at its one priority: capped the same way.
  const consensus = await alice.callTool({
    name: 'consensus',
    arguments: { prompt: 'q', priority: 8, models: [{ provider: 'fast' }, { provider: 'fast' }] },
  });
  expect(text(consensus)).toContain('got 8');
  await Promise.all([alice.close(), admin.close()]);
}, 20_000);

it('refuses a cap that is no priority', async () => {
  const runtime = createRuntime({ providers: [] });
  for (const cap of [-1, 10, 2.5, Number.NaN])
    expect(() => createMcpContext({ runtime, maxCallerPriority: cap })).toThrow(
      `Expected \`maxCallerPriority\` to be an integer from 0 to 9, got ${String(cap)}`,
    );
  await runtime.shutdown({ deadlineMs: 0 });
});
