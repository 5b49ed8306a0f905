/**
 * The check stdio and HTTP share (tests/e2e/stdio-vendor-host.test.ts, serve-vendor-host.test.ts):
 * a provider answer within its 64 MiB cap but over the front's bound as a tool result (34 MB of
 * text, in `content` and again in `structuredContent`) gets an error for that call, keeping the
 * session's metadata, while another call held at the provider lives on and a later call is answered.
 */
import type { Client } from '@modelcontextprotocol/client';
import { expect } from 'vitest';
import type { OpenAIServer } from '../../src/testing/openai-server.js';

export async function expectOversizedAnswerRefused(
  client: Client,
  kimi: OpenAIServer,
  message: RegExp,
): Promise<void> {
  const held = 'fault:ok:latency=3000';
  const slow = client.callTool({ name: 'chat', arguments: { prompt: 'slow', model: held } });
  await kimi.waitForRequest((r) => (r.body as { model?: string } | undefined)?.model === held);
  const model = 'fault:oversized:bytes=34000000';
  const large = await client.callTool(
    { name: 'chat', arguments: { prompt: 'large', model } },
    { timeout: 60_000 },
  );
  expect(large.isError).toBe(true);
  expect(large.structuredContent).toMatchObject({
    ok: false,
    error: { code: 'INVALID_REQUEST', message: expect.stringMatching(message) },
    session: { state: 'done', provider: 'kimi', model },
  });
  expect(await slow).toMatchObject({ structuredContent: { ok: true, content: 'echo: slow' } });
  const after = await client.callTool({ name: 'chat', arguments: { prompt: 'after' } });
  expect(after.structuredContent).toMatchObject({ ok: true, content: 'echo: after' });
}
