/**
 * The `review` prompt's `models` list is bounded as its completion is (`MAX_TYPED_LIST`, 4,096
 * characters: 16 `provider/model` pairs of 256, beyond the 10 models `consensus` takes). Each entry
 * became an object written out as JSON in the prompt's text: a 4 MB body of `a,` came back as
 * 42 MB and held `troupe serve`'s event loop for about 4.5 s (a ping waited that long), so a client
 * sending such requests one after another kept every other client waiting (the attacker audit).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// Literals, not MAX_TYPED_LIST: a list built from the constant would pass whatever it became.
it.each(['legacy', 'modern'] as const)(
  'refuses a review models list over 4,096 characters (%s)',
  async (era) => {
    const client = await h.client(era);
    const over = `${'a,'.repeat(2048)}b`;
    await expect(
      client.getPrompt({ name: 'review', arguments: { content: 'x', models: over } }),
    ).rejects.toThrow(/4096/);
    const at = `${'a,'.repeat(2047)}bc`;
    expect(at).toHaveLength(4096);
    const got = await client.getPrompt({ name: 'review', arguments: { content: 'x', models: at } });
    const text = got.messages[0]?.content.type === 'text' ? got.messages[0].content.text : '';
    expect(text).toContain('{"provider":"bc"}');
  },
);
