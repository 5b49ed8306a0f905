/**
 * A statechart as SVG, laid out from the chart model: each compound state's children in columns by
 * their longest path from its initial state (back edges ignored), finals last. No layout library,
 * no browser code: the dashboard gets finished markup with a `data-state` hook per state for counts.
 */
import { type ChartModel, type ChartState, lift, transitionLabel } from './chart.js';

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const LEAF_W = 132;
const LEAF_H = 54;
const PAD = 14;
const HEAD = 24;
const GAP_X = 64;
const GAP_Y = 16;

/** An SVG drawing of the chart; each state group carries `data-state="<id>"`, each count `data-count="<id>"`. */
export function chartSvg(model: ChartModel): string {
  const byId = new Map(model.states.map((s) => [s.id, s]));
  const boxes = new Map<string, Box>();
  const root = byId.get(model.root)!;
  const size = measure(root, byId, model, boxes);
  place(root, 0, 0, byId, boxes);
  const out: string[] = [];
  const width = size.w + 16;
  const height = size.h + 16;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-machine="${esc(model.id)}" viewBox="-8 -8 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(model.id)} statechart">`,
    '<defs><marker id="arrow-' +
      esc(model.id) +
      '" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
  );
  for (const state of model.states) {
    if (state.id === model.root) continue;
    const b = boxes.get(state.id)!;
    const compound = state.children.length > 0;
    const cls = `state ${state.type}${compound ? ' compound' : ''}`;
    const effects = [
      ...(state.entry.length > 0 ? [`entry / ${state.entry.join(', ')}`] : []),
      ...(state.exit.length > 0 ? [`exit / ${state.exit.join(', ')}`] : []),
    ];
    out.push(
      `<g class="${cls}" data-state="${esc(state.id)}"><title>${esc([state.id, ...effects].join('\n'))}</title>`,
      `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="10"/>`,
    );
    if (state.type === 'final')
      out.push(
        `<rect class="inner" x="${b.x + 3}" y="${b.y + 3}" width="${b.w - 6}" height="${b.h - 6}" rx="8"/>`,
      );
    if (compound) {
      out.push(
        `<text class="name" x="${b.x + 10}" y="${b.y + 17}">${esc(state.key)}</text>`,
        `<text class="count" data-count="${esc(state.id)}" x="${b.x + b.w - 10}" y="${b.y + 17}" text-anchor="end">0</text>`,
      );
    } else {
      out.push(
        `<text class="name" x="${b.x + b.w / 2}" y="${b.y + 20}" text-anchor="middle">${esc(state.key)}</text>`,
        `<text class="count" data-count="${esc(state.id)}" x="${b.x + b.w / 2}" y="${b.y + 42}" text-anchor="middle">0</text>`,
      );
    }
    out.push('</g>');
  }
  const initial = root.initial === null ? undefined : boxes.get(root.initial);
  if (initial !== undefined)
    out.push(`<circle class="start" cx="${initial.x - 18}" cy="${initial.y + initial.h / 2}" r="5"/>`);
  // One arrow per pair of sibling states (ends lifted to the ancestors that share a parent, so no
  // arrow cuts through a box); its title lists every transition it stands for, with exact ends.
  const pairs = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const t of model.transitions) {
    if (t.target === null || t.target === t.source) continue;
    const [from, to] = lift(byId, t.source, t.target);
    if (from === to) continue;
    const key = `${from}>${to}`;
    const pair = pairs.get(key) ?? { from, to, labels: [] };
    pair.labels.push(`${t.source} → ${t.target}: ${transitionLabel(t)}`);
    pairs.set(key, pair);
  }
  for (const { from, to, labels } of pairs.values()) {
    const a = boxes.get(from)!;
    const b = boxes.get(to)!;
    const back = pairs.has(`${to}>${from}`) ? 5 : 0;
    const [x1, y1, x2, y2] = connect(a, b, back);
    const events = [
      ...new Set(
        labels.map((l) =>
          l
            .split(': ')[1]!
            .split(' ')[0]!
            .replace(/^(session|provider|supervisor)\./, ''),
        ),
      ),
    ];
    out.push(
      `<g class="edge"><title>${esc(labels.join('\n'))}</title>`,
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" marker-end="url(#arrow-${esc(model.id)})"/>`,
      `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" text-anchor="middle">${esc(events.join(', '))}</text></g>`,
    );
  }
  out.push('</svg>');
  return out.join('');
}

function measure(
  state: ChartState,
  byId: ReadonlyMap<string, ChartState>,
  model: ChartModel,
  boxes: Map<string, Box>,
): Box {
  if (state.children.length === 0) {
    const box = { x: 0, y: 0, w: LEAF_W, h: LEAF_H };
    boxes.set(state.id, box);
    return box;
  }
  const columns = columnsOf(state, byId, model);
  let w = 0;
  let h = 0;
  for (const column of columns) {
    let cw = 0;
    let ch = 0;
    for (const id of column) {
      const child = measure(byId.get(id)!, byId, model, boxes);
      cw = Math.max(cw, child.w);
      ch += child.h + (ch > 0 ? GAP_Y : 0);
    }
    w += cw + (w > 0 ? GAP_X : 0);
    h = Math.max(h, ch);
  }
  const isRoot = state.parent === null;
  const box = isRoot
    ? { x: 0, y: 0, w: w + GAP_X / 2, h }
    : { x: 0, y: 0, w: w + 2 * PAD, h: h + HEAD + PAD };
  boxes.set(state.id, box);
  (box as Box & { columns?: string[][] }).columns = columns;
  return box;
}

function place(
  state: ChartState,
  x: number,
  y: number,
  byId: ReadonlyMap<string, ChartState>,
  boxes: Map<string, Box>,
): void {
  const box = boxes.get(state.id)! as Box & { columns?: string[][] };
  box.x = x;
  box.y = y;
  if (box.columns === undefined) return;
  const isRoot = state.parent === null;
  let cx = x + (isRoot ? GAP_X / 2 : PAD);
  const top = y + (isRoot ? 0 : HEAD);
  const innerH = box.h - (isRoot ? 0 : HEAD + PAD);
  for (const column of box.columns) {
    const heights = column.map((id) => boxes.get(id)!.h);
    const total = heights.reduce((s, v) => s + v, 0) + GAP_Y * (column.length - 1);
    let cy = top + (innerH - total) / 2;
    let cw = 0;
    for (const id of column) cw = Math.max(cw, boxes.get(id)!.w);
    for (const id of column) {
      const child = boxes.get(id)!;
      place(byId.get(id)!, cx + (cw - child.w) / 2, cy, byId, boxes);
      cy += child.h + GAP_Y;
    }
    cx += cw + GAP_X;
  }
}

/** Children of `state` in columns: rank = longest path from the initial child over forward edges. */
function columnsOf(state: ChartState, byId: ReadonlyMap<string, ChartState>, model: ChartModel): string[][] {
  const children = state.children;
  const childOf = (id: string): string | undefined => {
    for (let s = byId.get(id); s !== undefined; s = s.parent === null ? undefined : byId.get(s.parent))
      if (s.parent === state.id) return s.id;
    return undefined;
  };
  const next = new Map<string, Set<string>>(children.map((c) => [c, new Set<string>()]));
  for (const t of model.transitions) {
    if (t.target === null) continue;
    const a = childOf(t.source);
    const b = childOf(t.target);
    if (a !== undefined && b !== undefined && a !== b) next.get(a)!.add(b);
  }
  const order =
    state.initial === null ? children : [state.initial, ...children.filter((c) => c !== state.initial)];
  const back = new Set<string>();
  const mark = new Map<string, 'open' | 'done'>();
  const dfs = (id: string): void => {
    mark.set(id, 'open');
    for (const n of next.get(id)!) {
      if (mark.get(n) === 'open') back.add(`${id}>${n}`);
      else if (!mark.has(n)) dfs(n);
    }
    mark.set(id, 'done');
  };
  for (const c of order) if (!mark.has(c)) dfs(c);
  const rank = new Map<string, number>(children.map((c) => [c, 0]));
  for (let pass = 0; pass < children.length; pass++)
    for (const [a, targets] of next)
      for (const b of targets)
        if (!back.has(`${a}>${b}`)) rank.set(b, Math.max(rank.get(b)!, rank.get(a)! + 1));
  const maxRank = Math.max(0, ...rank.values());
  for (const c of children) if (byId.get(c)!.type === 'final') rank.set(c, maxRank);
  const columns: string[][] = [];
  for (const c of order) {
    const r = rank.get(c)!;
    columns[r] = [...(columns[r] ?? []), c];
  }
  return columns.filter((column) => column !== undefined);
}

/** A segment between the borders of two boxes along their centres, shifted sideways by `offset`. */
function connect(a: Box, b: Box, offset: number): [number, number, number, number] {
  const ax = a.x + a.w / 2;
  const ay = a.y + a.h / 2;
  const bx = b.x + b.w / 2;
  const by = b.y + b.h / 2;
  const len = Math.hypot(bx - ax, by - ay) || 1;
  const nx = (-(by - ay) / len) * offset;
  const ny = ((bx - ax) / len) * offset;
  const [x1, y1] = clip(a, ax + nx, ay + ny, bx - ax, by - ay);
  const [x2, y2] = clip(b, bx + nx, by + ny, ax - bx, ay - by);
  return [round(x1), round(y1), round(x2), round(y2)];
}

/** Where a ray from (x, y) inside `box` in direction (dx, dy) leaves it. */
function clip(box: Box, x: number, y: number, dx: number, dy: number): [number, number] {
  const tx = dx > 0 ? (box.x + box.w - x) / dx : dx < 0 ? (box.x - x) / dx : Number.POSITIVE_INFINITY;
  const ty = dy > 0 ? (box.y + box.h - y) / dy : dy < 0 ? (box.y - y) / dy : Number.POSITIVE_INFINITY;
  const t = Math.max(0, Math.min(tx, ty));
  return [x + dx * t, y + dy * t];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
