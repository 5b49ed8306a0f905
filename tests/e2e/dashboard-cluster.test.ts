/**
 * The dashboard of one instance of a cluster, in a real headless Chromium: the session counts are
 * the cluster's, the supervisor (its chart and the lifecycle in the header) is this instance's, and
 * the page says so. Until 2026-12-07 the supervisor chart showed this instance's state under a
 * "cluster" label that said every figure covered every instance: an instance draining beside one
 * that accepts read "accepting" on the other's page, as if the cluster were. Two instances on one
 * in-process hub (`memoryClusterBackend`, the composition Redis runs), each with its own dashboard.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionHandle } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { type ServedDashboard, serveDashboard } from '../support/dashboard.js';

const A_ID = 'aaaaaaaa-1111-4111-8111-111111111111';
const B_ID = 'bbbbbbbb-2222-4222-8222-222222222222';
const served: ServedDashboard[] = [];
let a: Runtime;
let b: Runtime;
const handles: SessionHandle[] = [];

beforeAll(async () => {
  const hub = new MemoryClusterHub();
  const instance = (work: boolean) =>
    createRuntime({
      providers: [createSimulatedProvider({ seed: 3 })],
      defaults: { model: 'sim-fast' },
      backend: memoryClusterBackend({ hub, work }),
    });
  // A runs every session; B only submits, then drains.
  a = instance(true);
  b = instance(false);
  await Promise.all([a.ready, b.ready]);
  for (const [runtime, instanceId] of [
    [a, A_ID],
    [b, B_ID],
  ] as const) {
    served.push(
      await serveDashboard(runtime, { events: { intervalMs: 200 }, scope: { kind: 'cluster', instanceId } }),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const handle of handles) handle.cancel('test over');
  for (const dashboard of served) await dashboard.close();
});

/** What one instance's page shows of the cluster and of its supervisor, once it has an update. */
async function shown(dashboard: ServedDashboard, running: number) {
  const page: Page = await dashboard.browser.newPage();
  await page.goto(`${dashboard.base}/`);
  await page.waitForFunction(
    (n) => Number(document.querySelector('#running-total')?.textContent) === n,
    running,
    { timeout: 20_000 },
  );
  const read = await page.evaluate(() => {
    const count = (state: string) =>
      Number(
        document.querySelector(`svg[data-machine="supervisor"] [data-count="supervisor.${state}"]`)
          ?.textContent,
      );
    const caption = document.querySelector('#chart-supervisor figcaption') as HTMLElement;
    const lifecycle = document.querySelector('#lifecycle') as HTMLElement;
    return {
      sessionsRunning: Number(
        document.querySelector('svg[data-machine="session"] [data-count="session.running"]')?.textContent,
      ),
      accepting: count('accepting'),
      notAccepting: count('draining') + count('stopped'),
      caption: caption.textContent,
      captionTitle: caption.title,
      lifecycle: lifecycle.textContent,
      lifecycleTitle: lifecycle.title,
      scopeTitle: (document.querySelector('#scope') as HTMLElement).title,
    };
  });
  await page.close();
  return read;
}

it('shows the cluster’s sessions on each instance’s page, and each its own supervisor, labelled as its own', async () => {
  for (let i = 0; i < 2; i++) {
    handles.push(
      b.submit(
        { messages: [{ role: 'user', content: `long ${i}` }], extra: { simulateLatencyMs: 60_000 } },
        { timeoutMs: 90_000 },
      ),
    );
  }
  // B drains (its two sessions run on A); A accepts.
  const draining = b.shutdown({ deadlineMs: 60_000 });
  expect(b.status({ recent: 0 }).state).not.toBe('accepting');

  const onA = await shown(served[0]!, 2);
  expect(onA.sessionsRunning).toBe(2);
  expect({ accepting: onA.accepting, notAccepting: onA.notAccepting }).toEqual({
    accepting: 1,
    notAccepting: 0,
  });
  expect(onA.lifecycle).toBe('accepting');
  expect(onA.caption).toBe('supervisor — this instance (aaaaaaaa)');
  expect(onA.captionTitle).toBe(`the lifecycle of instance ${A_ID} alone, not the cluster's`);
  expect(onA.lifecycleTitle).toBe(
    `this instance's lifecycle (${A_ID}); other instances show theirs on their own dashboards`,
  );
  expect(onA.scopeTitle).toBe(
    `Counts, live and recent sessions cover every instance on this Redis; the lifecycle and the supervisor chart are this instance's, ${A_ID}`,
  );

  // The same two sessions on B's page, under B's own lifecycle.
  const onB = await shown(served[1]!, 2);
  expect(onB.sessionsRunning).toBe(2);
  expect({ accepting: onB.accepting, notAccepting: onB.notAccepting }).toEqual({
    accepting: 0,
    notAccepting: 1,
  });
  expect(onB.lifecycle).not.toBe('accepting');
  expect(onB.caption).toBe('supervisor — this instance (bbbbbbbb)');
  for (const handle of handles) handle.cancel('test over');
  await draining;
});
