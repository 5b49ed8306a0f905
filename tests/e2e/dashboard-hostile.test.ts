/**
 * What clients and providers choose reaches the dashboard: a model id (any id passes through an
 * OpenAI-compatible provider, fallbacks included), a label, an error code, a provider's name. None
 * may run script, add a row to the sessions table or a line to the events list. The page is served
 * as `troupe serve` serves it; `/events` here sends one hand-made batch and snapshot carrying such
 * strings. Real headless Chromium (Debian's `/usr/bin/chromium`; fails, never skips, without it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardHtml } from '../../src/observe/dashboard.js';
import { launchChromium } from '../support/chromium.js';
import { until } from '../support/until.js';

/** A model id a client may send: markup, then lines that read as events of their own, then 250 characters without a break. */
const HOSTILE = `m<img src=x onerror="window.__pwned=1">\n12:00:00.000  supervisor.draining\r\n12:00:00.001  session.ended  deadbeef  done\u2028x\u202eevil${'x'.repeat(250)}`;

const at = 1_796_000_000_000;
const session = (id: string, state: string) => ({
  sessionId: id,
  requestId: '1',
  provider: 'openai',
  model: HOSTILE,
  priority: 5,
  state,
  label: HOSTILE,
  createdAt: at - 2000,
  startedAt: at - 1500,
  ...(state === 'running' ? {} : { endedAt: at - 100, code: HOSTILE }),
  attempts: 1,
});

const snapshot = {
  at,
  scope: { kind: 'instance' },
  status: {
    state: 'accepting',
    queued: 0,
    running: 1,
    queuedByPriority: {},
    providers: [{ name: 'openai', queued: 0, running: 1, limit: null }],
    maxConcurrent: 4,
    maxQueued: 10,
    maxQueuedPerCaller: 10,
    maxQueuedBytes: 1000,
    queuedBytes: 0,
    recent: [session('22222222-r', 'failed')],
    breakers: [
      {
        provider: 'openai',
        state: 'closed',
        failures: 1,
        threshold: 5,
        opened: 0,
        openUntil: null,
        lastError: HOSTILE,
      },
    ],
  },
  counts: {
    queued: 0,
    calling: 1,
    streaming: 0,
    backingOff: 0,
    fallingBack: 0,
    done: 0,
    failed: 1,
    timedOut: 0,
    cancelled: 0,
  },
  live: [{ ...session('11111111-l', 'running'), leaf: 'calling' }],
  cost: {},
  series: [],
  bucketMs: 10_000,
};

const batch = {
  events: [
    {
      type: 'session.fallback',
      at,
      sessionId: '11111111-l',
      provider: 'openai',
      code: 'MODEL_NOT_FOUND',
      to: `openai/${HOSTILE}`,
    },
    {
      type: 'session.ended',
      at,
      sessionId: '22222222-r',
      provider: 'openai',
      label: HOSTILE,
      state: 'failed',
      code: HOSTILE,
    },
  ],
  deltas: 0,
  dropped: 0,
};

let server: Server;
let base: string;
let browser: Browser | undefined;

beforeAll(async () => {
  const html = await dashboardHtml();
  server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(`event: batch\ndata: ${JSON.stringify(batch)}\n\n`);
      res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
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

describe('dashboard with hostile strings from clients and providers', () => {
  it('runs no script, adds no row and no event line, and shows each string on one line', async () => {
    // 800 px, the narrowest the dashboard is laid out for: a long id without a break widened the page.
    const page = await browser!.newPage({ viewport: { width: 800, height: 900 } });
    try {
      await page.goto(`${base}/`);
      const shown = await until(
        () =>
          page.evaluate(() => ({
            updates: Number(document.body.getAttribute('data-updates')),
            ticker: document.getElementById('ticker')!.textContent ?? '',
            rows: Array.from(document.querySelectorAll('#sessions tbody tr')).map((tr) =>
              Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? ''),
            ),
            breakers: document.getElementById('breakers')!.textContent ?? '',
            images: document.querySelectorAll('img').length,
            pwned: (window as unknown as { __pwned?: number }).__pwned ?? 0,
            width: document.documentElement.scrollWidth,
          })),
        (s) => s.updates > 0 && s.ticker !== '',
        'the page to render the snapshot and the batch',
      );
      expect(shown.pwned).toBe(0);
      expect(shown.width).toBeLessThanOrEqual(800);
      expect(shown.images).toBe(0);
      // One row per session, one line per event: the model id's line breaks made none of their own.
      expect(shown.rows).toHaveLength(2);
      const lines = shown.ticker.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/session\.ended {2}22222222 {2}failed/);
      expect(lines[1]).toMatch(/session\.fallback {2}11111111/);
      for (const line of lines) expect(line).not.toMatch(/^12:00:00/);
      // Shown, not dropped: the markup as text, each line break and bidi control spelled out.
      expect(lines[1]).toContain(
        'openai/m<img src=x onerror="window.__pwned=1">\\u000a12:00:00.000  supervisor.draining\\u000d\\u000a',
      );
      expect(lines[1]).toContain('\\u2028x\\u202eevil');
      const [live] = shown.rows;
      expect(live![1]).toBe(live![3]);
      expect(live![3]).toContain('\\u000a12:00:00.000');
      expect(live![3]).not.toMatch(/[\n\r\u2028\u202e]/);
      expect(shown.breakers).not.toMatch(/[\n\r\u2028\u202e]/);
    } finally {
      await page.close();
    }
  }, 60_000);
});
