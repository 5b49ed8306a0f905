/**
 * `oversized` sends an answer of the size asked, so a test can put it on either side of a
 * `maxResponseBytes`. Until 2026-12-05 it wrote 64 KiB pieces until it had sent at least `bytes`:
 * `bytes=5000` sent 64 KiB, past a 10 KB cap the test meant to stay under.
 */
import { describe, expect, it } from 'vitest';
import { createOpenAIServer } from '../../../src/testing/openai-server.js';

describe('the fault server’s oversized answer', () => {
  it('carries `bytes` of content, whatever its size against the 64 KiB pieces', async () => {
    const server = createOpenAIServer();
    await server.start();
    try {
      for (const bytes of [1, 5000, 65_536, 70_000]) {
        const response = await fetch(`${server.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: `fault:oversized:bytes=${bytes}`, messages: [] }),
        });
        const body = (await response.json()) as { choices: { message: { content: string } }[] };
        expect(body.choices[0]?.message.content).toBe('x'.repeat(bytes));
      }
    } finally {
      await server.close();
    }
  });
});
