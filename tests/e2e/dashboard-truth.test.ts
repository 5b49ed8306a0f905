/**
 * What the dashboard highlights and says must be true: a highlighted state has something in it now
 * (the session machine's final states count ended sessions, so they never light up; the supervisor's
 * current state does, `stopped` too), an empty limits or breakers list says why, and figures from
 * before the server went away are marked as old until it answers again. The page is served as
 * `troupe serve` serves it; `/events` here sends hand-made snapshots and can be cut. Real headless
 * Chromium (Debian's `/usr/bin/chromium`; fails, never skips, without it).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardHtml } from '../../src/observe/dashboard.js';
import { launchChromium } from '../support/chromium.js';
import { until } from '../support/until.js';

const at = 1_796_000_000_000;
const ended = { done: 5, failed: 2, timedOut: 0, cancelled: 1 };

const snapshot = (state: 'accepting' | 'stopped', snapAt: number) => ({
  at: snapAt,
  scope: { kind: 'instance' },
  status: {
    state,
    queued: 0,
    running: state === 'accepting' ? 2 : 0,
    queuedByPriority: {},
    providers: [{ name: 'simulated', queued: 0, running: state === 'accepting' ? 2 : 0, limit: null }],
    maxConcurrent: 64,
    maxQueued: 10,
    maxQueuedPerCaller: 10,
    maxQueuedBytes: 1000,
    queuedBytes: 0,
    recent: [],
    breakers: [],
  },
  counts: {
    queued: 0,
    calling: state === 'accepting' ? 2 : 0,
    streaming: 0,
    backingOff: 0,
    fallingBack: 0,
    ...ended,
  },
  live: [],
  cost: {},
  series: [],
  bucketMs: 10_000,
});

let server: Server;
let base: string;
let browser: Browser | undefined;
/** What `/events` answers now: a snapshot, or `down` (the connection cut, as by a stopped server). */
let serving: ReturnType<typeof snapshot> | 'down' = snapshot('accepting', at);
const open = new Set<ServerResponse>();

beforeAll(async () => {
  const html = await dashboardHtml();
  server = createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (serving === 'down') {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    // A quick reconnection, so the test waits 200 ms for it rather than the server's 2 s.
    res.write(`retry: 200\n\nevent: snapshot\ndata: ${JSON.stringify(serving)}\n\n`);
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const seen = (page: Page) =>
  page.evaluate(() => {
    const busy = (id: string) =>
      document.querySelector(`g.state[data-state="${id}"]`)?.classList.contains('busy') ?? null;
    const conn = document.getElementById('conn')!;
    return {
      updates: Number(document.body.getAttribute('data-updates')),
      stale: document.body.classList.contains('stale'),
      conn: conn.textContent ?? '',
      connTitle: conn.title,
      lifecycle: document.getElementById('lifecycle')!.textContent ?? '',
      busy: {
        queued: busy('session.queued'),
        running: busy('session.running'),
        calling: busy('session.running.attempt.calling'),
        done: busy('session.done'),
        failed: busy('session.failed'),
        cancelled: busy('session.cancelled'),
        accepting: busy('supervisor.accepting'),
        stopped: busy('supervisor.stopped'),
      },
      doneCount: document.querySelector('[data-count="session.done"]')?.textContent ?? '',
      breakers: document.getElementById('breakers')!.textContent ?? '',
      limits: document.getElementById('limits')!.textContent ?? '',
      opacity: getComputedStyle(document.querySelector('main')!).opacity,
    };
  });

describe('what the dashboard highlights and says', () => {
  it('lights only the states sessions are in now, says why the limits and breakers are empty, and marks old figures while the server is gone', async () => {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    try {
      await page.goto(`${base}/`);
      const live = await until(
        () => seen(page),
        (s) => s.updates > 0 && s.conn === 'live',
        'the page to render the first snapshot',
      );
      expect(live.busy).toEqual({
        queued: false,
        running: true,
        calling: true,
        // Counted (5 ended there since the start), not lit: nothing is in a final state now.
        done: false,
        failed: false,
        cancelled: false,
        accepting: true,
        stopped: false,
      });
      expect(live.doneCount).toBe('5');
      expect(live.breakers).toBe(
        'none: no provider has its circuit breaker on, so the breaker chart counts 0 everywhere',
      );
      expect(live.limits).toBe(
        'none: no provider has limits configured (a tier, or limits of its own), so the provider chart counts 0 everywhere',
      );
      expect(live.stale).toBe(false);
      expect(live.opacity).toBe('1');

      // The server goes away: the last figures stay, greyed, and the header says from when.
      serving = 'down';
      for (const res of open) res.destroy();
      const gone = await until(
        () => seen(page),
        (s) => s.conn === 'reconnecting…',
        'the page to notice the lost connection',
      );
      expect(gone.stale).toBe(true);
      expect(gone.opacity).toBe('0.45');
      const when = await page.evaluate((t) => new Date(t).toTimeString().slice(0, 8), at);
      expect(gone.connTitle).toBe(
        `lost the connection to the server; reconnecting (the figures are from ${when}, when the server last answered)`,
      );
      expect(gone.lifecycle).toBe('accepting');

      // It answers again, stopped: live once more, and the supervisor's final state is its current one.
      serving = snapshot('stopped', at + 60_000);
      const back = await until(
        () => seen(page),
        (s) => s.conn === 'live' && s.lifecycle === 'stopped',
        'the page to go live again',
      );
      expect(back.stale).toBe(false);
      expect(back.opacity).toBe('1');
      expect(back.busy).toMatchObject({ running: false, calling: false, accepting: false, stopped: true });
    } finally {
      await page.close();
    }
  }, 60_000);
});
