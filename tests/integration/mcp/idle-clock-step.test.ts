/**
 * A wall-clock step (NTP stepping, an operator setting the date, a VM resumed) moves no 2025-era
 * session's idle time (`idleSessionMs`, docs/security.md): the sweep measures it on the steady
 * clock. Real HTTP and real timers; the wall clock is `Date.now`, stepped by the test. Until
 * 2026-12-07 the sweep read `Date.now()`: set forward past `idleSessionMs`, every idle session was
 * closed at the next sweep; set back, no idle session was closed for the length of the step.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { HOUR, steppable, wall } from '../../support/wall-step.js';
import { startHarness } from './harness.js';

afterEach(() => {
  vi.restoreAllMocks();
  wall.stepMs = 0;
});

/** Opens a 2025-era session with a raw `initialize`; its id. */
async function open(url: URL): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await res.text();
  expect(res.status).toBe(200);
  return res.headers.get('mcp-session-id') ?? '';
}

it('keeps an idle session open when the wall clock is set forward an hour, and closes it at its idle time', async () => {
  // idleSessionMs 1,200: the sweep runs every 300 ms.
  const h = await startHarness({ http: { idleSessionMs: 1_200 } });
  try {
    steppable();
    // Before the `initialize`: the session's idle time starts as it opens, within the request.
    const openedAt = performance.now();
    await open(h.url);
    expect(h.app.sessionCount).toBe(1);
    wall.stepMs = HOUR;
    // Each sweep reads the session idle an hour on the wall clock: on it, the first closed it.
    await expect.poll(() => h.app.sessionCount, { timeout: 10_000, interval: 25 }).toBe(0);
    expect(performance.now() - openedAt).toBeGreaterThanOrEqual(1_190);
  } finally {
    await h.close();
  }
});

it('closes an idle session at its idle time when the wall clock is set back an hour meanwhile', async () => {
  const h = await startHarness({ http: { idleSessionMs: 400 } });
  try {
    steppable();
    await open(h.url);
    wall.stepMs = -HOUR;
    // Idle 400 ms, found by a sweep within 100 ms more; on the wall clock it would wait an hour.
    await expect.poll(() => h.app.sessionCount, { timeout: 10_000, interval: 25 }).toBe(0);
  } finally {
    await h.close();
  }
});
