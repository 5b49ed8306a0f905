/**
 * A session id a client names is the runtime's (a 36-character UUID): one longer than 128
 * characters is refused by the tool's schema, and the error does not carry it back whole (an
 * audit sent 100 KB to `sessions` and `cancel_session` and got the 100 KB back in the error).
 */
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

it('refuses a session id past 128 characters in sessions and cancel_session, without echoing it', async () => {
  const h = await startHarness();
  harnesses.push(h);
  const client = await h.client('modern');
  const long = 's'.repeat(100_000);
  for (const name of ['sessions', 'cancel_session']) {
    const result = await client.callTool({ name, arguments: { session_id: long } });
    expect(result.isError, name).toBe(true);
    const text = JSON.stringify(result.content);
    expect(text, name).toMatch(/session_id/);
    expect(text, name).toMatch(/128/);
    expect(text.length, name).toBeLessThan(2000);
  }
  // An id of the runtime's shape still gets the tool's own answer: not one of this caller's sessions.
  const unknown = await client.callTool({
    name: 'cancel_session',
    arguments: { session_id: 'x'.repeat(128) },
  });
  expect(unknown.isError).toBe(true);
  expect(JSON.stringify(unknown.content)).toContain('to name a live or recent session');
  await client.close();
});
