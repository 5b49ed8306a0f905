/**
 * The dashboard's limits row for a provider that cools down per model (GLM's default,
 * `cooldownScope: 'model'`): after one model's 429 the provider stays open and the row names the
 * model cooling down, in a real headless Chromium. Fails (never skips) without /usr/bin/chromium.
 */
import type { Browser } from 'playwright-core';
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
    // The 429's hint outlasts the test: the model stays cooling down while the page is read.
    providers: [createSimulatedProvider({ seed: 7, retryAfterMs: 600_000 })],
    limits: { providers: { simulated: { cooldownScope: 'model' } } },
    defaults: { model: 'sim-fast', maxAttempts: 1 },
  });
  served = await serveDashboard(runtime, { events: { intervalMs: 200 } });
  ({ browser, base } = served);
});

afterAll(async () => {
  await served?.close();
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
