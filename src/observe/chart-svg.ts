/**
 * A statechart as SVG, drawn from its ELK layout (`chart-layout.ts`): finished markup, no browser
 * code. Hooks for the dashboard and the tests: each state group carries `data-state` and
 * `data-parent`, each count `data-count`, each edge `data-source` and `data-target`.
 */
import type { ChartModel } from './chart.js';
import { type ChartLayout, METRICS, type Point } from './chart-layout.js';

export interface ChartSvgOptions {
  /** Draw a count in each state (the dashboard fills them in). @default true */
  readonly counts?: boolean;
  /** Embed the chart's CSS, for an SVG shown on its own. @default false */
  readonly standalone?: boolean;
}

/** CSS for charts; the dashboard includes it, a standalone SVG embeds it. */
export const CHART_CSS = `
svg.chart .state > rect { fill:#fff; stroke:#9aa3b5; stroke-width:1.2; }
svg.chart .state.compound > rect { fill:#fafbfd; }
svg.chart .state.region > rect { stroke-dasharray:5 3; }
svg.chart .state.final rect.inner { fill:none; stroke:#9aa3b5; stroke-width:1; }
svg.chart .state.busy > rect { fill:#e8efff; stroke:#3563e9; stroke-width:2; }
svg.chart .state.compound.busy > rect { fill:#f3f6ff; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
svg.chart text.name { font-size:13px; fill:#1d2330; font-weight:600; }
svg.chart text.count { font-size:15px; fill:#3563e9; font-weight:700; font-variant-numeric:tabular-nums; }
svg.chart .final text.count { fill:#687082; }
svg.chart .edge path { fill:none; stroke:#8c95a8; stroke-width:1.2; }
svg.chart .edge text.label { font:10px ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; fill:#4b5365; }
svg.chart .arrowhead, svg.chart circle.start { fill:#8c95a8; }
`;

/** An SVG drawing of a chart from its layout. */
export function chartSvg(model: ChartModel, layout: ChartLayout, options: ChartSvgOptions = {}): string {
  const counts = options.counts ?? true;
  const id = esc(model.id);
  const w = Math.ceil(layout.width);
  const h = Math.ceil(layout.height);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-machine="${id}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${id} statechart">`,
  ];
  if (options.standalone) out.push(`<style>${CHART_CSS}</style>`);
  out.push(
    `<defs><marker id="arrow-${id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  // The regions of a parallel state are drawn dashed, as in Stately's editor.
  const regions = new Set(model.states.filter((s) => s.type === 'parallel').map((s) => s.id));
  for (const state of model.states) {
    if (state.id === model.root) continue;
    const b = layout.boxes.get(state.id);
    if (b === undefined) throw new Error(`Expected a box for state ${state.id} in the layout, got none`);
    const compound = state.children.length > 0;
    const stays = model.transitions
      .filter((t) => t.source === state.id && (t.target === null || t.target === t.source))
      .map(
        (t) =>
          `on ${t.event}${t.guard === null ? '' : ` [${t.guard}]`} ${t.target !== null && t.reenter === true ? '(re-enters: exit and entry run)' : '(stays)'}${t.actions.length > 0 ? ` / ${t.actions.join(', ')}` : ''}`,
      );
    const about = [
      state.id,
      ...(state.entry.length > 0 ? [`entry / ${state.entry.join(', ')}`] : []),
      ...(state.exit.length > 0 ? [`exit / ${state.exit.join(', ')}`] : []),
      ...stays,
    ];
    out.push(
      `<g class="state ${state.type}${compound ? ' compound' : ''}${regions.has(state.parent ?? '') ? ' region' : ''}" data-state="${esc(state.id)}" data-parent="${esc(state.parent ?? '')}"><title>${esc(about.join('\n'))}</title>`,
      `<rect class="box" x="${r(b.x)}" y="${r(b.y)}" width="${r(b.w)}" height="${r(b.h)}" rx="9"/>`,
    );
    if (state.type === 'final')
      out.push(
        `<rect class="inner" x="${r(b.x + 3)}" y="${r(b.y + 3)}" width="${r(b.w - 6)}" height="${r(b.h - 6)}" rx="7"/>`,
      );
    if (compound) {
      const ty = b.y + METRICS.headH / 2 + 6;
      out.push(`<text class="name" x="${r(b.x + 10)}" y="${r(ty)}">${esc(state.key)}</text>`);
      if (counts)
        out.push(
          `<text class="count" data-count="${esc(state.id)}" x="${r(b.x + b.w - 10)}" y="${r(ty)}" text-anchor="end">0</text>`,
        );
    } else {
      const cx = b.x + b.w / 2;
      out.push(
        `<text class="name" x="${r(cx)}" y="${r(counts ? b.y + 20 : b.y + b.h / 2 + 5)}" text-anchor="middle">${esc(state.key)}</text>`,
      );
      if (counts)
        out.push(
          `<text class="count" data-count="${esc(state.id)}" x="${r(cx)}" y="${r(b.y + 40)}" text-anchor="middle">0</text>`,
        );
    }
    out.push('</g>');
  }
  for (const [, s] of layout.starts)
    out.push(
      `<circle class="start" cx="${r(s.x + s.w / 2)}" cy="${r(s.y + s.h / 2)}" r="${METRICS.startR}"/>`,
    );
  for (const e of layout.edges) {
    const initial = e.source.startsWith('initial:');
    out.push(
      `<g class="edge${initial ? ' initial' : ''}" data-source="${esc(initial ? e.source.slice('initial:'.length) : e.source)}" data-target="${esc(e.target)}"${initial ? ' data-initial="true"' : ''}><title>${esc(e.title)}</title>`,
      `<path d="${pathData(e.points)}" marker-end="url(#arrow-${id})"/>`,
    );
    if (e.labelBox !== null) {
      const l = e.labelBox;
      out.push(
        `<text class="label" x="${r(l.x + l.w / 2)}" y="${r(l.y + l.h - 4)}" text-anchor="middle">${esc(e.label)}</text>`,
      );
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('');
}

/** The route as a polyline; the arrowhead's tip sits on its last point, the target's border. */
function pathData(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(p.x)},${r(p.y)}`).join(' ');
}

function r(n: number): number {
  return Math.round(n * 10) / 10;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
