/**
 * A `notifications/cancelled` of a request not in flight is remembered for 30 s, with its reason,
 * in case its call comes after it (`call-registry.ts`). The reason is the client's own text, which a
 * 4 MiB body may fill: until 2026-12-07 it was kept whole, 1,000 of them, and 100 such cancels with
 * 3 MB reasons held 300 MB of the server's heap. Now at most 500 characters of it are kept (as many
 * as `cancel_session` takes), with its length (`tests/unit/mcp/request-ids.test.ts` reads them). The MCP SDK's own client, over Streamable HTTP.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_ABORT_REASON_LENGTH } from '../../../src/mcp/call-registry.js';
import { type Harness, startHarness, structured } from '../mcp/harness.js';

let h: Harness;
let client: Client;
beforeAll(async () => {
  h = await startHarness();
  client = await h.client('legacy');
});
afterAll(() => h.close());

/** The id the SDK's client gives its next request (its own counter). */
const nextId = (c: Client) => (c as unknown as { _requestMessageId: number })._requestMessageId;

it('holds at most 500 characters of each reason of a cancel that came before its call, which still ends cancelled', async () => {
  expect(MAX_ABORT_REASON_LENGTH).toBe(500);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 60; i++) {
    const reason = `${i} ${'why '.repeat(125)}${'r'.repeat(2_000_000)}`;
    await client.notification({
      method: 'notifications/cancelled',
      params: { requestId: 10_000 + i, reason },
    });
  }
  await expect.poll(() => h.mcp.calls.earlyAborts).toBe(60);
  gc();
  // 60 reasons of 2 MB: 120 MB if the entries held them (or slices of them).
  expect(process.memoryUsage().heapUsed - before).toBeLessThan(30 * 1024 * 1024);
  // The call the cancel came before still ends cancelled, saying why in the client's words.
  const reason = `${'why '.repeat(125)}${'r'.repeat(2_000_000)}`;
  await client.notification({
    method: 'notifications/cancelled',
    params: { requestId: nextId(client), reason },
  });
  const result = structured(
    await client.callTool({ name: 'chat', arguments: { prompt: 'x', provider: 'slow' } }),
  );
  expect(result.error.code).toBe('CANCELLED');
  expect(result.error.message).toContain('why why why');
  expect(result.error.message).not.toContain('rrr');
});
