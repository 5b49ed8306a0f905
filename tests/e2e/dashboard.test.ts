/**
 * The dashboard in a real headless Chromium (Debian's `chromium` via playwright-core): the page
 * served by `troupe serve`'s HTTP app with the observe routes, loaded while a mixed load runs.
 * Counts on the page must change, and match `runtime.status()` / `metrics()` at quiet moments.
 * Refreshes the screenshot kept in docs/dashboard.png when TROUPE_UPDATE_SCREENSHOT is set. Fails (never skips) without /usr/bin/chromium.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planLoad } from '../../src/observe/load-plan.js';
import type { Observability } from '../../src/observe/routes.js';
import { runLoad } from '../../src/observe/run-load.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionHandle } from '../../src/runtime/types.js';
import { type ServedDashboard, serveDashboard } from '../support/dashboard.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

const LIMIT = 6;

let served: ServedDashboard | undefined;
let browser: Browser;
let observe: Observability;
let runtime: Runtime;
let base: string;

beforeAll(async () => {
  runtime = createRuntime({
    providers: [createSimulatedProvider({ seed: 7, retryAfterMs: 50 })],
    limits: {
      maxConcurrent: 32,
      perProvider: { simulated: LIMIT },
      // Far above what the test reaches: the limits panel and the provider chart have something to show.
      providers: { simulated: { requestsPerMinute: 100_000 } },
    },
    defaults: { model: 'sim-fast', backoffBaseMs: 20, backoffMaxMs: 100 },
  });
  served = await serveDashboard(runtime, {
    events: { intervalMs: 200 },
    monitor: { bucketMs: 2000, windowMs: 60_000 },
  });
  ({ browser, observe, base } = served);
});

afterAll(async () => {
  await served?.close();
});

/** The numbers the page shows. */
async function shown(page: Page) {
  return page.evaluate(() => {
    const n = (sel: string) => Number(document.querySelector(sel)?.textContent ?? Number.NaN);
    const count = (id: string) => n(`svg[data-machine="session"] [data-count="${id}"]`);
    return {
      updates: Number(document.body.getAttribute('data-updates')),
      queuedTotal: n('#queued-total'),
      runningTotal: n('#running-total'),
      queued: count('session.queued'),
      running: count('session.running'),
      done: count('session.done'),
      failed: count('session.failed'),
      timedOut: count('session.timedOut'),
      cancelled: count('session.cancelled'),
      accepting: Number(
        document.querySelector('svg[data-machine="supervisor"] [data-count="supervisor.accepting"]')
          ?.textContent,
      ),
      inFlight: document.querySelector('#in-flight [data-key="simulated"] .bar-value')?.textContent ?? '',
      queueP9: document.querySelector('#queue-depth [data-key="p9"] .bar-value')?.textContent ?? '',
      rows: document.querySelectorAll('#sessions tbody tr').length,
      limits: document.querySelector('#limits [data-key="simulated"] .bar-value')?.textContent ?? '',
      providersCounted: ['open', 'coolingDown', 'probing'].reduce(
        (sum, state) =>
          sum +
          Number(
            document.querySelector(`svg[data-machine="provider"] [data-count="provider.${state}"]`)
              ?.textContent,
          ),
        0,
      ),
    };
  });
}

describe('dashboard in headless Chromium', () => {
  it('shows live counts that change under load and match status() when quiet; saves docs/dashboard.png', async () => {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // What a user sees in the console too: before 2026-12-04 every load logged a 404 for /favicon.ico.
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${base}/`);
    await until(
      () => shown(page),
      (s) => s.updates > 0,
      'the first snapshot',
    );
    expect((await shown(page)).accepting).toBe(1);
    // One process: its supervisor is the whole picture, and needs no "this instance" (a cluster's
    // page says it: dashboard-cluster.test.ts).
    expect(await page.textContent('#chart-supervisor figcaption')).toBe('supervisor');

    // Quiet moment 1: sessions that hang hold every slot; the rest wait at priority 9.
    const held: SessionHandle[] = [];
    for (let i = 0; i < LIMIT + 9; i++)
      held.push(
        runtime.submit(
          { messages: [{ role: 'user', content: 'hold' }], extra: { simulate: 'hang' } },
          { priority: 9, label: 'chat' },
        ),
      );
    const status = runtime.status();
    expect([status.running, status.queued]).toEqual([LIMIT, 9]);
    const quiet = await until(
      () => shown(page),
      (s) => s.queued === 9 && s.running === LIMIT,
      'held counts',
    );
    expect(quiet).toMatchObject({ queuedTotal: status.queued, runningTotal: status.running, queueP9: '9' });
    expect(quiet.inFlight).toContain(`${LIMIT} / ${LIMIT}`);
    // The provider machine counts the one provider; the limits panel says what it has left.
    expect(quiet.providersCounted).toBe(1);
    expect(quiet.limits).toMatch(/^open · left: \d+ req\/min · cooled down 0x$/);

    // Load runs behind the held sessions, then they are released: counts move.
    const run = runLoad(runtime, planLoad({ sessions: 120, seed: 3 }), { ratePerSec: 300, label: 'load' });
    setTimeout(() => {
      for (const h of held) h.cancel('released by the test');
    }, 300);
    const seen = new Set<string>();
    const moving = until(
      async () => {
        const s = await shown(page);
        seen.add(`${s.queued}/${s.running}/${s.done}`);
        return s;
      },
      (s) => s.done > 70,
      'sessions to finish on the page',
      15_000,
    );
    await moving;
    // The kept screenshot is refreshed on request only, so a test run leaves the tree clean.
    const shot = process.env.TROUPE_UPDATE_SCREENSHOT
      ? 'docs/dashboard.png'
      : join(tempDir('troupe-dashboard-'), 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    await run.finished;
    expect(seen.size).toBeGreaterThan(3);

    // Quiet moment 2: everything ended; the page's totals are the runtime's.
    const ended = runtime.metrics().ended;
    const final = await until(
      () => shown(page),
      (s) => s.queued === 0 && s.running === 0 && s.done === ended.done && s.cancelled === ended.cancelled,
      'final counts',
    );
    expect(final).toMatchObject({ ...ended, queuedTotal: 0, runningTotal: 0 });
    expect(ended.cancelled).toBeGreaterThanOrEqual(LIMIT + 9);
    expect(ended.failed + ended.timedOut).toBeGreaterThan(0);
    expect(final.rows).toBeGreaterThan(5);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('each browser holds one runtime subscription, dropped when it goes away', async () => {
    // The first test's page closed: its stream ends too.
    await until(
      async () => observe.eventClients,
      (n) => n === 0,
      'earlier streams to close',
    );
    const page = await browser!.newPage();
    await page.goto(`${base}/`);
    await until(
      () => shown(page),
      (s) => s.updates > 0,
      'the first snapshot',
    );
    expect(observe.eventClients).toBe(1);
    await page.close();
    await until(
      async () => observe.eventClients,
      (n) => n === 0,
      'the stream to close',
    );
  });
});
