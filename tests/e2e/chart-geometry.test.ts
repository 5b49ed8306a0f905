/**
 * Every registered machine's chart (and a fixture machine with parallel regions, history, delayed
 * and eventless transitions), laid out by ELK and drawn as SVG, loaded into a real headless
 * Chromium (Debian's `/usr/bin/chromium` via playwright-core; fails, never skips, without it): no
 * edge crosses a state box other than the compound states its ends sit in, every edge runs from
 * its source's border to its target's, no label lies on a box it does not belong to (nor on a
 * state's name or count, nor on another label), every state's text fits in its box.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartModel, MACHINES } from '../../src/observe/chart.js';
import { layoutChart } from '../../src/observe/chart-layout.js';
import { chartSvg } from '../../src/observe/chart-svg.js';
import { gadgetMachine } from '../fixtures/gadget-machine.js';
import { checkCharts } from '../support/chart-geometry.js';
import { launchChromium } from '../support/chromium.js';

let browser: Browser | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe('statecharts laid out by ELK, measured in Chromium', () => {
  // Every registered machine, and one with the kinds of states and transitions they do not have yet.
  for (const [name, machine] of Object.entries({ ...MACHINES, gadget: gadgetMachine })) {
    it(`${name}: no edge through a state box, no label on a box, every edge between its states`, async () => {
      const model = chartModel(machine);
      const svg = chartSvg(model, await layoutChart(model), { standalone: true });
      const page = await browser!.newPage();
      try {
        await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
        const [geometry, ...more] = await checkCharts(page);
        expect(more).toEqual([]);
        expect(geometry!.problems).toEqual([]);
        const transitions = new Set(
          model.transitions
            .filter((t) => t.target !== null && t.target !== t.source)
            .map((t) => `${t.source}>${t.target}`),
        );
        const initials = model.states.filter((s) => s.initial !== null).length;
        expect(geometry).toMatchObject({
          machine: model.id,
          states: model.states.length - 1,
          edges: transitions.size + initials,
          labels: transitions.size,
        });
      } finally {
        await page.close();
      }
    });
  }
});
