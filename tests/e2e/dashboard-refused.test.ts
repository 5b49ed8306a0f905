/**
 * A dashboard tab refused by the server's stream limit (`/events` answers 503 past `maxClients`)
 * keeps asking: a browser's `EventSource` gives up for good on a non-200 answer, so the page retries
 * itself, says so in the header, and goes live once a stream is free. Real headless Chromium
 * (Debian's `/usr/bin/chromium`; fails, never skips, without it).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { type ServedDashboard, serveDashboard } from '../support/dashboard.js';
import { until } from '../support/until.js';

let served: ServedDashboard | undefined;
let browser: Browser;
let runtime: Runtime;
let base: string;

beforeAll(async () => {
  runtime = createRuntime({
    providers: [createSimulatedProvider({ seed: 3 })],
    defaults: { model: 'sim-fast' },
  });
  served = await serveDashboard(runtime, { events: { intervalMs: 200, maxClients: 1 } });
  ({ browser, base } = served);
});

afterAll(async () => {
  await served?.close();
});

const connOf = (page: Page) =>
  page.evaluate(() => {
    const el = document.getElementById('conn')!;
    return {
      text: el.textContent ?? '',
      title: el.title,
      updates: Number(document.body.getAttribute('data-updates')),
    };
  });

describe('dashboard past the stream limit', () => {
  it('a refused tab says it retries, and goes live once the other tab closes', async () => {
    const first = await browser!.newPage();
    const second = await browser!.newPage();
    try {
      await first.goto(`${base}/`);
      await until(
        () => connOf(first),
        (c) => c.text === 'live',
        'the first tab to go live',
      );

      await second.goto(`${base}/`);
      const refused = await until(
        () => connOf(second),
        (c) => c.text.startsWith('retry in'),
        'the second tab to be refused',
      );
      expect(refused.title).toContain('refused');
      expect(refused.updates).toBe(0);
      // Still refused a few retries later while the first tab holds the only stream.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await connOf(second)).text).not.toBe('live');

      await first.close();
      const live = await until(
        () => connOf(second),
        (c) => c.text === 'live' && c.updates > 0,
        'the second tab to go live',
        // Its retries back off 1, 2, 4, 8 s: the next one may be 8 s after the first tab closed.
        20_000,
      );
      expect(live.updates).toBeGreaterThan(0);
    } finally {
      if (!first.isClosed()) await first.close();
      await second.close();
    }
  }, 60_000);
});
