/**
 * Over stdio, as over HTTP, a request whose JSON outside `params.arguments` (its id, `_meta`, any
 * other field) is over 64 KiB is refused with -32600 by its id before anything runs: the server
 * holds a request whole while it waits (a call in the queue, a `tasks/result` wait), and the queue's
 * byte bound counts only the arguments. Until 2026-12-07 only the HTTP front checked it: 60 queued
 * calls with 3 MB of `_meta` each took `troupe stdio` from 82 to 371 MB, and the line bound (4 MiB)
 * times the queue (10,000) allowed 40 GB. The MCP SDK's own client, of both eras, on the BUILT CLI.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ENVELOPE_BYTES } from '../../../src/mcp/http-body.js';
import { connectStdioCli } from '../../support/stdio-cli.js';

const junk = 'j'.repeat(DEFAULT_MAX_ENVELOPE_BYTES);
const refusal =
  /^Invalid Request: expected at most 65536 bytes of a request's JSON outside `params.arguments` \(its id, `_meta` and other fields, held while it waits\), got \d+$/;

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => e as { code?: number; message: string },
  );

for (const era of ['legacy', 'modern'] as const) {
  describe(`troupe stdio, ${era === 'modern' ? '2026-07-28' : '2025-11-25'} client`, () => {
    let client: Client;
    beforeAll(async () => {
      client = await connectStdioCli(
        `envelope-${era}`,
        100,
        era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
      );
    });
    afterAll(() => client.close());

    it('refuses a call with more than 64 KiB outside its arguments at once, by its id, and runs nothing', async () => {
      const started = performance.now();
      const calls = [
        client.callTool({ name: 'chat', arguments: { prompt: 'hi' }, _meta: { junk } }, { timeout: 30_000 }),
        // Another field of `params` than `arguments` (the SDK passes it on as it is).
        client.callTool({ name: 'chat', arguments: { prompt: 'hi' }, junk } as never, { timeout: 30_000 }),
      ];
      for (const call of calls) {
        const error = await failure(call);
        expect(error?.code).toBe(-32600);
        expect(error?.message).toMatch(refusal);
      }
      // Answered by id at once, not after the 30 s the client would otherwise wait.
      expect(performance.now() - started).toBeLessThan(20_000);
      const sessions = await client.callTool({ name: 'sessions', arguments: {} });
      const listed = sessions.structuredContent as { recent: unknown[]; running: number; queued: number };
      expect([listed.recent, listed.running, listed.queued]).toEqual([[], 0, 0]);
    });

    it('takes arguments larger than the bound, and a request within it', async () => {
      const result = await client.callTool({
        name: 'chat',
        arguments: { prompt: 'p '.repeat(40_000), extra: { simulateLatencyMs: 0 } },
        _meta: { small: 'j'.repeat(DEFAULT_MAX_ENVELOPE_BYTES - 4096) },
      });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { ok: boolean }).ok).toBe(true);
    });
  });
}
