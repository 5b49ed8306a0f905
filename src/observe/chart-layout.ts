/**
 * A statechart laid out by ELK (elkjs, the layout library Stately's visualizer uses): states are
 * nested nodes, every transition is an edge between its exact ends (ELK routes edges across the
 * borders of compound states, `hierarchyHandling: INCLUDE_CHILDREN`), and each edge's label is a
 * node of the layout, so ELK keeps edges out of state boxes and labels off them. elkjs is loaded on
 * first use and lays out asynchronously: callers compute a layout once and keep it.
 */
import type { ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk-api.js';
import {
  type ChartModel,
  type ChartState,
  type ChartTransition,
  chartModel,
  MACHINES,
  transitionLabel,
} from './chart.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface LaidOutEdge {
  /** A state id, or `initial:<parent id>` for the start dot of a compound state. */
  readonly source: string;
  readonly target: string;
  /** Short event names, e.g. `tick, idle`; empty for an initial arrow. */
  readonly label: string;
  /** Every transition the edge stands for, with exact ends, guards and actions (its tooltip). */
  readonly title: string;
  /** Polyline from the source's border to the target's border. */
  readonly points: readonly Point[];
  readonly labelBox: Rect | null;
}

export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  /** Absolute boxes of every state but the root. */
  readonly boxes: ReadonlyMap<string, Rect>;
  /** Start dots, by the id of the state whose initial child they point to. */
  readonly starts: ReadonlyMap<string, Rect>;
  readonly edges: readonly LaidOutEdge[];
}

/** Sizes the renderer relies on: `chart-svg.ts` draws text to fit them. */
export const METRICS = {
  /** Edge labels: 10px monospace, so their width is known without a browser. */
  labelCharW: 6.4,
  labelH: 14,
  /** State names: bold 13px; a generous width per character. */
  nameCharW: 8.6,
  leafMinW: 104,
  leafH: 50,
  /** Space for a compound state's name and count. */
  headH: 28,
  pad: 16,
  startR: 5,
} as const;

type Elk = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Promise<Elk> | undefined;

async function loadElk(): Promise<Elk> {
  const mod = (await import('elkjs/lib/elk.bundled.js')) as unknown as {
    default: (new () => Elk) | { default: new () => Elk };
  };
  const Ctor = typeof mod.default === 'function' ? mod.default : mod.default.default;
  return new Ctor();
}

/** The chart's layout; throws if ELK fails (never for the machines in `MACHINES`, which tests lay out). */
export async function layoutChart(model: ChartModel): Promise<ChartLayout> {
  elk ??= loadElk();
  const byId = new Map(model.states.map((s) => [s.id, s]));
  const root = byId.get(model.root)!;
  const edges = edgesOf(model);
  const rootNode: ElkNode = {
    id: model.root,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      // A cycle is broken against the definition's order: states read left to right from the initial one.
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.spacing.nodeNode': '18',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.edgeLabel': '3',
      'elk.spacing.edgeNode': '12',
      'elk.layered.spacing.edgeNodeBetweenLayers': '12',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: nodesOf(root, byId),
    edges: edges.map(
      (e, i): ElkExtendedEdge => ({
        id: `e${i}`,
        sources: [e.source],
        targets: [e.target],
        // As in Stately's visualizer: arrows from a start dot point right, so initial states sit leftmost.
        ...(e.source.startsWith('initial:')
          ? { layoutOptions: { 'elk.layered.priority.direction': '1' } }
          : {}),
        labels:
          e.label === ''
            ? []
            : [
                {
                  id: `e${i}.label`,
                  text: e.label,
                  width: Math.ceil(e.label.length * METRICS.labelCharW) + 4,
                  height: METRICS.labelH,
                  layoutOptions: { 'elk.edgeLabels.placement': 'CENTER', 'elk.edgeLabels.inline': 'false' },
                },
              ],
      }),
    ),
  };
  const out = await (await elk).layout(rootNode);
  const boxes = new Map<string, Rect>();
  const starts = new Map<string, Rect>();
  const walk = (node: ElkNode): void => {
    for (const child of node.children ?? []) {
      const rect = { x: child.x ?? 0, y: child.y ?? 0, w: child.width ?? 0, h: child.height ?? 0 };
      if (child.id.startsWith('initial:')) starts.set(child.id.slice('initial:'.length), rect);
      else boxes.set(child.id, rect);
      walk(child);
    }
  };
  walk(out);
  const laidOut = (out.edges ?? []).map((e, i): LaidOutEdge => {
    const section = (e as ElkExtendedEdge).sections?.[0];
    if (section === undefined) throw new Error(`ELK returned no route for ${edges[i]!.title}`);
    const label: ElkLabel | undefined = e.labels?.[0];
    return {
      ...edges[i]!,
      points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => ({
        x: p.x,
        y: p.y,
      })),
      labelBox:
        label === undefined
          ? null
          : { x: label.x ?? 0, y: label.y ?? 0, w: label.width ?? 0, h: label.height ?? 0 },
    };
  });
  return { width: out.width ?? 0, height: out.height ?? 0, boxes, starts, edges: laidOut };
}

/** A leaf's size: its name fits, and the count below it. */
export function leafSize(state: ChartState): { w: number; h: number } {
  const label = state.type === 'final' ? state.key.length + 1 : state.key.length;
  return {
    w: Math.max(METRICS.leafMinW, Math.ceil(label * METRICS.nameCharW) + 28),
    h: METRICS.leafH,
  };
}

function nodesOf(parent: ChartState, byId: ReadonlyMap<string, ChartState>): ElkNode[] {
  const nodes: ElkNode[] = [];
  if (parent.initial !== null) {
    const d = METRICS.startR * 2;
    nodes.push({ id: `initial:${parent.id}`, width: d, height: d });
  }
  for (const id of parent.children) {
    const state = byId.get(id)!;
    if (state.children.length === 0) {
      const { w, h } = leafSize(state);
      nodes.push({ id, width: w, height: h });
      continue;
    }
    const p = METRICS.pad;
    const headW = Math.ceil(state.key.length * METRICS.nameCharW) + 60;
    nodes.push({
      id,
      layoutOptions: {
        'elk.padding': `[top=${METRICS.headH + 8},left=${p},bottom=${p},right=${p}]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${headW}, 40)`,
      },
      children: nodesOf(state, byId),
    });
  }
  return nodes;
}

type EdgeSpec = Omit<LaidOutEdge, 'points' | 'labelBox'>;

/**
 * One edge per (source, target) pair of states; transitions that stay in their state (no target)
 * or go back to it are not edges: the state's tooltip lists them, one that exits and enters it
 * again (`reenter: true`) marked so (until 2026-12-07 it read "stays" too).
 */
function edgesOf(model: ChartModel): EdgeSpec[] {
  const out: EdgeSpec[] = [];
  for (const s of model.states)
    if (s.initial !== null)
      out.push({
        source: `initial:${s.id}`,
        target: s.initial,
        label: '',
        title: `initial state of ${s.id}`,
      });
  const pairs = new Map<string, ChartTransition[]>();
  for (const t of model.transitions) {
    if (t.target === null || t.target === t.source) continue;
    const key = `${t.source}\n${t.target}`;
    pairs.set(key, [...(pairs.get(key) ?? []), t]);
  }
  for (const ts of pairs.values()) {
    const events = [...new Set(ts.map((t) => shortEvent(t.event)))];
    out.push({
      source: ts[0]!.source,
      target: ts[0]!.target!,
      label: events.join(', '),
      title: ts.map((t) => `${t.source} → ${t.target}: ${transitionLabel(t)}`).join('\n'),
    });
  }
  return out;
}

/**
 * An edge's label for an event type: the last part of a dotted type (`provider.error` → `error`);
 * XState's own events by what they mean (`after 500ms`, `done`, `done: fetch`, `error: fetch`);
 * `(always)` for an eventless transition.
 */
export function shortEvent(event: string): string {
  if (event === '') return '(always)';
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after !== null) return /^\d+$/.test(after[1]!) ? `after ${after[1]}ms` : `after ${after[1]}`;
  const ended = /^xstate\.(done|error)\.(actor|state)\.(.+)$/.exec(event);
  if (ended !== null) return ended[2] === 'state' ? ended[1]! : `${ended[1]}: ${ended[3]}`;
  return event.slice(event.lastIndexOf('.') + 1);
}

/** Every machine in `MACHINES`, laid out, by name (the dashboard's charts). */
export async function layoutMachines(): Promise<Record<string, ChartLayout>> {
  const entries = await Promise.all(
    Object.entries(MACHINES).map(
      async ([name, machine]) => [name, await layoutChart(chartModel(machine))] as const,
    ),
  );
  return Object.fromEntries(entries);
}
