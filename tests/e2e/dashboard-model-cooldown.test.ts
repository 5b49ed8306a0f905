/**
 * The dashboard's limits row for a provider that cools down per model (GLM's default,
 * `cooldownScope: 'model'`): after one model's 429 the provider stays open and the row names the
 * model cooling down, in a real headless Chromium. Fails (never skips) without /usr/bin/chromium.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpContext } from '../../src/mcp/context.js';
import { createHttpApp, type HttpApp } from '../../src/mcp/http.js';
import { createObservability, type Observability } from '../../src/observe/routes.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { launchChromium } from '../support/chromium.js';
import { until } from '../support/until.js';

let browser: Browser | undefined;
let app: HttpApp;
let observe: Observability;
let runtime: Runtime;
let base: string;

beforeAll(async () => {
  runtime = createRuntime({
    // The 429's hint outlasts the test: the model stays cooling down while the page is read.
    providers: [createSimulatedProvider({ seed: 7, retryAfterMs: 600_000 })],
    limits: { providers: { simulated: { cooldownScope: 'model' } } },
    defaults: { model: 'sim-fast', maxAttempts: 1 },
  });
  const mcp = createMcpContext({ runtime, log: () => {} });
  observe = createObservability(runtime, { events: { intervalMs: 200 } });
  app = createHttpApp({ mcp, routes: observe.routes, port: 0 });
  base = (await app.listen()).url.replace(/\/mcp$/, '');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  observe?.close();
  await runtime?.shutdown({ deadlineMs: 0 });
  await app?.close();
});

describe('dashboard, a provider cooling down per model', () => {
  it('keeps the provider open and names the model cooling down, until when', async () => {
    const limited = await runtime.submit({
      model: 'sim-pro',
      messages: [{ role: 'user', content: 'hi' }],
      extra: { simulate: 'rate_limited' },
    }).result;
    expect(limited.ok || limited.error.code).toBe('RATE_LIMITED');
    // Another model still answers.
    expect((await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result).ok).toBe(true);
    const page = await browser!.newPage();
    await page.goto(`${base}/`);
    const row = await until(
      () =>
        page.evaluate(
          () => document.querySelector('#limits [data-key="simulated"] .bar-value')?.textContent ?? '',
        ),
      (text) => text !== '',
      'the limits row',
    );
    expect(row).toMatch(
      /^open · left: no limits in its units · cooled down 0x · models cooling down: sim-pro until \d\d:\d\d:\d\d$/,
    );
  });
});
