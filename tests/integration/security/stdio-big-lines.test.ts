/**
 * A request too large (or too deeply nested) for the stdio server's guard, sent by the MCP SDK's
 * own client: the call fails at once with -32600, matched to it by id. Before, the error went out
 * with `id: null`, and the host's call (a pasted file, say) waited out its own timeout. The BUILT
 * CLI (`npm run build` first).
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectStdioCli } from '../../support/stdio-cli.js';

let client: Client;

beforeAll(async () => {
  client = await connectStdioCli('big-lines', 100);
});
afterAll(() => client.close());

it('fails a call whose line is over 4 MiB at once, by its id, and keeps serving', async () => {
  const started = performance.now();
  const error = await client
    .callTool({ name: 'chat', arguments: { prompt: 'x'.repeat(5 * 1024 * 1024) } }, { timeout: 30_000 })
    .then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
  expect(error?.code).toBe(-32600);
  expect(error?.message).toContain('line over 4194304 bytes');
  // Well inside the 30 s it would otherwise have waited.
  expect(performance.now() - started).toBeLessThan(20_000);
  const deep = JSON.parse(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`);
  const tooDeep = await client
    .callTool({ name: 'chat', arguments: { prompt: 'x', extra: deep } }, { timeout: 30_000 })
    .then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
  expect(tooDeep?.message).toContain('nested deeper than 64 levels');
  const ok = await client.callTool({
    name: 'chat',
    arguments: { prompt: 'hi', extra: { simulateLatencyMs: 0 } },
  });
  expect(ok.isError).toBeFalsy();
});
