/**
 * The dashboard's layout in a real headless Chromium (Debian's `/usr/bin/chromium`; fails, never
 * skips, without it): at 800 px wide the page does not scroll sideways and the header stays on
 * one line; the statecharts on the page pass the same geometry checks as on their own; the
 * throughput and latency charts have clock-time axes whose ticks move as time passes.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINES } from '../../src/observe/chart.js';
import { planLoad } from '../../src/observe/load-plan.js';
import { runLoad } from '../../src/observe/run-load.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { checkCharts } from '../support/chart-geometry.js';
import { type ServedDashboard, serveDashboard } from '../support/dashboard.js';
import { until } from '../support/until.js';

/** A 20 s window: ticks every 5 s (the first round step of at least a sixth of the window). */
const WINDOW_MS = 20_000;
const STEP_MS = 5_000;

let served: ServedDashboard | undefined;
let browser: Browser;
let runtime: Runtime;
let base: string;

beforeAll(async () => {
  runtime = createRuntime({
    providers: [createSimulatedProvider({ seed: 11, retryAfterMs: 50 })],
    limits: { maxConcurrent: 16, perProvider: { simulated: 4 } },
    defaults: { model: 'sim-fast', backoffBaseMs: 20, backoffMaxMs: 100 },
  });
  served = await serveDashboard(runtime, {
    events: { intervalMs: 200 },
    monitor: { bucketMs: 1000, windowMs: WINDOW_MS },
  });
  ({ browser, base } = served);
});

afterAll(async () => {
  await served?.close();
});

/** The page's widths and the header's items, with the header showing the widest figures it can. */
function measure(page: Page) {
  return page.evaluate(() => {
    // The widest figures the header can show (ms() turns 10 s and more into seconds).
    const widest: Record<string, string> = {
      lifecycle: 'accepting',
      scope: 'instance',
      'queued-total': '10000',
      'running-total': '1000',
      'ended-total': '9999999',
      rate: '999.9/s',
      p50: '9999 ms',
      p95: '9999 ms',
      conn: 'reconnecting…',
    };
    for (const [id, text] of Object.entries(widest)) document.getElementById(id)!.textContent = text;
    const header = document.querySelector('header')!;
    const box = header.getBoundingClientRect();
    const items = Array.from(header.children).map((c) => {
      const r = c.getBoundingClientRect();
      return { id: c.id || c.tagName, top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    });
    return {
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      bodyScrollWidth: document.body.scrollWidth,
      header: { left: box.left, right: box.right, height: box.height },
      items,
    };
  });
}

const updates = (page: Page) => page.evaluate(() => Number(document.body.getAttribute('data-updates')));

describe('dashboard layout in headless Chromium', () => {
  it('at 800 px (and 1024-1440): no sideways scroll, the header on one line, the charts clean', async () => {
    const page = await browser!.newPage({ viewport: { width: 800, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}/`);
      // Sessions fill the table (its widest content) before the page is measured.
      const run = runLoad(runtime, planLoad({ sessions: 40, seed: 5 }), { ratePerSec: 200, label: 'load' });
      await run.finished;
      await until(
        () => page.evaluate(() => document.querySelectorAll('#sessions tbody tr').length),
        (rows) => rows >= 20,
        'the sessions table to fill',
      );
      // At 800 px and at the widths around the header's breakpoint, with the header's widest figures.
      for (const width of [800, 1024, 1300, 1440]) {
        await page.setViewportSize({ width, height: 900 });
        const layout = await measure(page);
        expect(layout.clientWidth).toBe(width);
        expect(layout.scrollWidth, `page width at ${width} px`).toBeLessThanOrEqual(layout.clientWidth);
        expect(layout.bodyScrollWidth).toBeLessThanOrEqual(layout.clientWidth);
        // One line: every item of the header (but the title, larger) shares its top and fits inside.
        expect(layout.items.length).toBeGreaterThan(8);
        const line = layout.items.filter((i) => i.id !== 'H1');
        for (const item of line) {
          expect(
            Math.abs(item.top - line[0]!.top),
            `${item.id} is on another line at ${width} px`,
          ).toBeLessThan(4);
          expect(item.right, `${item.id} sticks out of the header at ${width} px`).toBeLessThanOrEqual(
            layout.header.right,
          );
        }
        expect(layout.header.height).toBeLessThan(60);
      }
      await page.setViewportSize({ width: 800, height: 900 });

      const charts = await checkCharts(page);
      expect(charts.map((c) => c.machine).sort()).toEqual(
        Object.values(MACHINES)
          .map((m) => m.id)
          .sort(),
      );
      for (const chart of charts) expect(chart.problems, chart.machine).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('throughput and latency have clock-time axes whose ticks move with time', async () => {
    const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
    try {
      await page.goto(`${base}/`);
      await until(
        () => updates(page),
        (n) => n > 0,
        'the first snapshot',
      );
      const ticks = () =>
        page.evaluate(() =>
          ['throughput', 'latency'].map((chart) =>
            Array.from(document.querySelectorAll(`#${chart} g.tick.x`)).map((g) => {
              const t = Number(g.getAttribute('data-t'));
              return {
                t,
                text: g.querySelector('text')!.textContent,
                expected: new Date(t).toTimeString().slice(0, 8),
                x: Number(g.querySelector('text')!.getAttribute('x')),
              };
            }),
          ),
        );
      const first = await ticks();
      const now = Date.now();
      for (const axis of first) {
        expect(axis.length).toBeGreaterThanOrEqual(3);
        expect(axis.length).toBeLessThanOrEqual(WINDOW_MS / STEP_MS + 1);
        for (const tick of axis) {
          expect(tick.text).toMatch(/^\d\d:\d\d:\d\d$/);
          expect(tick.text).toBe(tick.expected);
          expect(tick.t % STEP_MS).toBe(0);
          expect(tick.t).toBeGreaterThan(now - WINDOW_MS - 2000);
          expect(tick.t).toBeLessThanOrEqual(now);
        }
        for (let i = 1; i < axis.length; i++) expect(axis[i]!.x).toBeGreaterThan(axis[i - 1]!.x);
      }
      // A second later the same times sit further left; within a step a newer tick has come.
      const tick = first[0]![first[0]!.length - 1]!;
      const moved = await until(
        ticks,
        (axes) => (axes[0]!.find((k) => k.t === tick.t)?.x ?? Number.POSITIVE_INFINITY) < tick.x - 5,
        'the ticks to move left',
        5000,
      );
      expect(moved[1]!.find((k) => k.t === tick.t)!.x).toBeLessThan(first[1]!.find((k) => k.t === tick.t)!.x);
      const later = await until(
        ticks,
        (axes) => axes.every((axis) => axis.some((k) => k.t > tick.t)),
        'a newer tick',
        STEP_MS + 3000,
      );
      expect(later[0]!.map((k) => k.t)).not.toEqual(first[0]!.map((k) => k.t));
    } finally {
      await page.close();
    }
  });
});
