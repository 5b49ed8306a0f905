/**
 * The dashboard's charts are laid out in a worker thread: ELK runs synchronously for seconds the
 * first time, and on the server's own thread it stalled every MCP call meanwhile. Runs the built
 * module (dist/), as `troupe serve` does; from TypeScript source there is no compiled worker.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { chartModel, MACHINES } from '../../src/observe/chart.js';
import { layoutChart } from '../../src/observe/chart-layout.js';

const DIST = '../../dist/src/observe/dashboard.js';

describe('the dashboard page, built by the compiled server', () => {
  it('lays the charts out off the main thread: this thread idles while ELK runs', async () => {
    const { chartLayouts } = (await import(DIST)) as typeof import('../../src/observe/dashboard.js');
    const before = performance.eventLoopUtilization();
    const layouts = await chartLayouts();
    const during = performance.eventLoopUtilization(before);
    expect(Object.keys(layouts).sort()).toEqual(Object.keys(MACHINES).sort());
    // Laid out on this thread, ELK keeps it busy (utilization near 1) for the whole build; waiting
    // for the worker, it idles however loaded the machine is.
    expect(during.utilization).toBeLessThan(0.5);
  });

  it('draws the same layouts as laying out on this thread', async () => {
    const { chartLayouts } = (await import(DIST)) as typeof import('../../src/observe/dashboard.js');
    const layouts = await chartLayouts();
    for (const [name, machine] of Object.entries(MACHINES)) {
      expect(layouts[name], name).toEqual(await layoutChart(chartModel(machine)));
    }
  });

  it('serves the page with every chart', async () => {
    const { dashboardHtml } = (await import(DIST)) as typeof import('../../src/observe/dashboard.js');
    const html = await dashboardHtml();
    for (const name of Object.keys(MACHINES)) expect(html).toContain(`id="chart-${name}"`);
  });
});
