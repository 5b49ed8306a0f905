/**
 * Geometry of rendered statecharts, measured in a real browser page: every edge path is sampled
 * along its length (`getPointAtLength`) and every text measured (`getBBox`), so the checks see what
 * Chromium draws, not what the layout meant. Used by tests/e2e/chart-geometry.test.ts and the
 * dashboard tests.
 */
import type { Page } from 'playwright-core';

export interface ChartGeometry {
  readonly machine: string;
  readonly states: number;
  readonly edges: number;
  readonly labels: number;
  /** Each problem in words; empty when the chart is clean. */
  readonly problems: readonly string[];
}

/** Checks every `svg.chart` on the page. */
export function checkCharts(page: Page): Promise<ChartGeometry[]> {
  return page.evaluate(() => {
    type Box = { x: number; y: number; width: number; height: number };
    const inside = (b: Box, x: number, y: number, margin: number) =>
      x > b.x + margin && x < b.x + b.width - margin && y > b.y + margin && y < b.y + b.height - margin;
    const overlap = (a: Box, b: Box) =>
      a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const contains = (outer: Box, inner: Box) =>
      inner.x >= outer.x &&
      inner.y >= outer.y &&
      inner.x + inner.width <= outer.x + outer.width &&
      inner.y + inner.height <= outer.y + outer.height;
    const onBorder = (b: Box, x: number, y: number, tol: number) =>
      x >= b.x - tol &&
      x <= b.x + b.width + tol &&
      y >= b.y - tol &&
      y <= b.y + b.height + tol &&
      !inside(b, x, y, tol);
    const fmt = (n: number) => n.toFixed(0);
    const results: ChartGeometry[] = [];
    for (const svg of Array.from(document.querySelectorAll<SVGSVGElement>('svg.chart'))) {
      const problems: string[] = [];
      const states = Array.from(svg.querySelectorAll<SVGGElement>('g.state')).map((g) => ({
        id: g.dataset.state!,
        parent: g.dataset.parent || null,
        box: g.querySelector<SVGRectElement>(':scope > rect.box')!.getBBox(),
        texts: Array.from(g.querySelectorAll<SVGTextElement>(':scope > text')).map((t) => t.getBBox()),
      }));
      const byId = new Map(states.map((s) => [s.id, s]));
      const ancestors = (id: string): string[] => {
        const out: string[] = [];
        for (let s = byId.get(id); s?.parent && byId.has(s.parent); s = byId.get(s.parent))
          out.push(s.parent);
        return out;
      };
      for (const s of states)
        for (const t of s.texts)
          if (!contains(s.box, t)) problems.push(`the text of ${s.id} does not fit in its box`);
      const labels: { edge: string; box: Box }[] = [];
      const edges = Array.from(svg.querySelectorAll<SVGGElement>('g.edge'));
      for (const g of edges) {
        const source = g.dataset.source!;
        const target = g.dataset.target!;
        const initial = g.dataset.initial === 'true';
        const name = initial ? `initial arrow of ${source}` : `${source} → ${target}`;
        if (!byId.has(target) || (!initial && !byId.has(source))) {
          problems.push(`${name}: an end is not a drawn state`);
          continue;
        }
        // Boxes an edge may pass through: the compound states its ends sit in.
        const allowed = new Set([...ancestors(source), ...ancestors(target), ...(initial ? [source] : [])]);
        const path = g.querySelector<SVGPathElement>('path')!;
        const length = path.getTotalLength();
        const crossed = new Set<string>();
        const samples: { x: number; y: number }[] = [];
        for (let at = 0; at <= length; at += 1) {
          const p = path.getPointAtLength(at);
          samples.push({ x: p.x, y: p.y });
          for (const s of states)
            if (!allowed.has(s.id) && !crossed.has(s.id) && inside(s.box, p.x, p.y, 1.5)) {
              crossed.add(s.id);
              problems.push(`${name} crosses the box of ${s.id} at (${fmt(p.x)}, ${fmt(p.y)})`);
            }
        }
        const start = path.getPointAtLength(0);
        const end = path.getPointAtLength(length);
        if (!initial && !onBorder(byId.get(source)!.box, start.x, start.y, 2))
          problems.push(`${name} does not start on the border of ${source}`);
        if (!onBorder(byId.get(target)!.box, end.x, end.y, 2))
          problems.push(`${name} does not end on the border of ${target}`);
        const label = g.querySelector<SVGTextElement>('text.label');
        if (label === null) continue;
        const box = label.getBBox();
        labels.push({ edge: name, box });
        // A label names its own edge: it sits beside that edge's route.
        const gap = Math.min(
          ...samples.map((p) =>
            Math.hypot(
              Math.max(box.x - p.x, 0, p.x - (box.x + box.width)),
              Math.max(box.y - p.y, 0, p.y - (box.y + box.height)),
            ),
          ),
        );
        if (gap > 8)
          problems.push(`the label "${label.textContent}" of ${name} is ${fmt(gap)} px from its edge`);
        for (const s of states) {
          if (!overlap(box, s.box)) continue;
          if (!allowed.has(s.id))
            problems.push(`the label "${label.textContent}" of ${name} lies on the box of ${s.id}`);
          else if (s.texts.some((t) => overlap(box, t)))
            problems.push(`the label "${label.textContent}" of ${name} lies on the name or count of ${s.id}`);
        }
      }
      for (let i = 0; i < labels.length; i++)
        for (let j = i + 1; j < labels.length; j++)
          if (overlap(labels[i]!.box, labels[j]!.box))
            problems.push(`the labels of ${labels[i]!.edge} and ${labels[j]!.edge} overlap`);
      results.push({
        machine: svg.dataset.machine!,
        states: states.length,
        edges: edges.length,
        labels: labels.length,
        problems,
      });
    }
    return results;
  });
}
