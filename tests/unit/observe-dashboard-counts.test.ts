/**
 * The dashboard's statecharts are drawn from the machines (`chartModel`), but their counts come
 * from elsewhere: the monitor's per-leaf counts (session), `status().state` (supervisor), each
 * breaker's `state` and each provider's `cooldown`, matched to the boxes by the state's key in the
 * page's script. A state added to a machine got a box that stayed 0, and a count whose state was
 * renamed went nowhere, with nothing to say so. Here the served page's own script (against
 * stand-ins for the DOM; the real Chromium tests are tests/e2e/dashboard*.test.ts) renders a
 * snapshot with a different count in every state, and every box must show its state's.
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import type { BreakerState } from '../../machines/breaker.js';
import type { ProviderStateValue } from '../../machines/provider.js';
import { type ChartModel, chartModel, MACHINES } from '../../src/observe/chart.js';
import { layoutChart } from '../../src/observe/chart-layout.js';
import { chartSvg } from '../../src/observe/chart-svg.js';
import { dashboardHtml } from '../../src/observe/dashboard.js';
import { RuntimeMonitor } from '../../src/observe/monitor.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { RuntimeStatus } from '../../src/runtime/types.js';
import { gadgetMachine } from '../fixtures/gadget-machine.js';

interface CountNode {
  readonly id: string;
  textContent: string;
}

/** Whatever the script touches besides the counts: every property, call and number is one more of it. */
const anything: unknown = new Proxy(() => {}, {
  get: (_, key) => (key === Symbol.toPrimitive ? () => 0 : anything),
  apply: () => anything,
  construct: () => anything as object,
  set: () => true,
});

interface DrawnEdge {
  readonly pair: string;
  readonly initial: boolean;
  /** Lines in its tooltip: one per transition it stands for. */
  readonly transitions: number;
}

/** What each state's tooltip says it does without an arrow: lines marked `(stays)` and `(re-enters`. */
function keptIn(svg: string): Map<string, { stays: number; reenters: number }> {
  const states = svg.matchAll(/<g class="state[^"]*" data-state="([^"]+)"[^>]*><title>([^<]*)<\/title>/g);
  return new Map(
    [...states].map(([, id, title]) => {
      const lines = title!.split('\n');
      return [
        id!,
        {
          stays: lines.filter((l) => l.includes(' (stays)')).length,
          reenters: lines.filter((l) => l.includes(' (re-enters')).length,
        },
      ];
    }),
  );
}

/** The edges of one drawing. */
function edgesIn(svg: string): DrawnEdge[] {
  const drawn = svg.matchAll(
    /<g class="edge( initial)?" data-source="([^"]+)" data-target="([^"]+)"[^>]*><title>([^<]*)<\/title>/g,
  );
  return [...drawn].map(([, initial, source, target, title]) => ({
    pair: `${source} → ${target}`,
    initial: initial !== undefined,
    transitions: title!.split('\n').length,
  }));
}

/** The served page: its script, and each machine's drawing and its `data-count` ids. */
async function page() {
  const html = await dashboardHtml();
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
  if (script === undefined) throw new Error('Expected the page to hold its script');
  const boxes = new Map<string, string[]>();
  const svgs = new Map<string, string>();
  for (const [, machine, svg] of html.matchAll(/<svg [^>]*data-machine="([^"]+)"([\s\S]*?)<\/svg>/g)) {
    boxes.set(
      machine!,
      [...svg!.matchAll(/data-count="([^"]+)"/g)].map((m) => m[1]!),
    );
    svgs.set(machine!, svg!);
  }
  return { script, boxes, svgs };
}

interface JsonTransition {
  readonly source: string;
  readonly target?: readonly string[];
  readonly reenter?: boolean;
}

interface JsonNode {
  readonly id: string;
  readonly initial?: { readonly target: readonly string[] };
  readonly states?: Readonly<Record<string, JsonNode>>;
  readonly transitions?: readonly JsonTransition[];
}

/**
 * A machine's arrows as XState serialises it (`toJSON()`, what Stately's tools import, not
 * `chartModel`): each pair of distinct states a transition joins, with how many transitions join
 * them, and each initial arrow. `toJSON()` leaves out eventless (`always`) transitions: those are
 * read off the state node itself.
 */
function arrowsOf(machine: AnyStateMachine) {
  const pairs = new Map<string, number>();
  const initials: string[] = [];
  /** Per state, its transitions that draw no arrow: `stays` (no target, or back without exit) and `reenters`. */
  const kept = new Map<string, { stays: number; reenters: number }>();
  const id = (ref: string) => ref.replace(/^#/, '');
  const visit = (node: JsonNode): void => {
    const first = node.initial?.target[0];
    if (first !== undefined) initials.push(`${node.id} → ${id(first)}`);
    const always = JSON.parse(
      JSON.stringify(machine.getStateNodeById(node.id).always ?? []),
    ) as JsonTransition[];
    const own = { stays: 0, reenters: 0 };
    for (const t of [...(node.transitions ?? []), ...always]) {
      if ((t.target ?? []).length === 0) own.stays++;
      for (const target of t.target ?? [])
        if (id(target) !== id(t.source)) {
          const pair = `${id(t.source)} → ${id(target)}`;
          pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
        } else if (t.reenter === true) own.reenters++;
        else own.stays++;
    }
    kept.set(node.id, own);
    for (const child of Object.values(node.states ?? {})) visit(child);
  };
  visit(JSON.parse(JSON.stringify(machine.toJSON())) as JsonNode);
  return { pairs, initials, kept };
}

/** Runs the page's script and hands it one snapshot; returns each machine's count boxes as shown. */
function render(script: string, boxes: ReadonlyMap<string, string[]>, snapshot: unknown) {
  const nodes = new Map(
    [...boxes].map(([machine, ids]) => [machine, ids.map((id): CountNode => ({ id, textContent: '0' }))]),
  );
  const document = new Proxy(
    {
      querySelectorAll: (selector: string) => {
        const machine = /^svg\[data-machine="([^"]+)"\] \[data-count\]$/.exec(selector)?.[1];
        return (nodes.get(machine ?? '') ?? []).map((n) => ({
          getAttribute: () => n.id,
          closest: () => ({ classList: { toggle: () => {}, contains: () => false } }),
          set textContent(v: string) {
            n.textContent = v;
          },
        }));
      },
    },
    { get: (target, key) => (key === 'querySelectorAll' ? target.querySelectorAll : anything) },
  );
  const listeners = new Map<string, (m: { data: string }) => void>();
  class StandInSource {
    static readonly CLOSED = 2;
    addEventListener(type: string, listener: (m: { data: string }) => void) {
      listeners.set(type, listener);
    }
  }
  new Function('document', 'EventSource', 'setTimeout', script)(document, StandInSource, () => {});
  listeners.get('snapshot')!({ data: JSON.stringify(snapshot) });
  return new Map([...nodes].map(([m, list]) => [m, new Map(list.map((n) => [n.id, Number(n.textContent)]))]));
}

function snapshotWith(options: {
  counts: Record<string, number>;
  state: RuntimeStatus['state'];
  breakers: Record<BreakerState, number>;
  cooldowns: Record<ProviderStateValue, number>;
}) {
  const many = <T>(per: Record<string, number>, make: (state: string, i: number) => T): T[] =>
    Object.entries(per).flatMap(([state, n]) => Array.from({ length: n }, (_, i) => make(state, i)));
  const breakers = many(options.breakers, (state, i) => ({
    provider: `${state}-${i}`,
    state,
    failures: 0,
    threshold: 5,
    openUntil: null,
    opened: 0,
    lastError: null,
  }));
  const limits = Object.fromEntries(
    many(options.cooldowns, (cooldown, i) => [
      `${cooldown}-${i}`,
      {
        cooldown,
        cooldownUntil: null,
        cooldowns: 0,
        remaining: {
          requestsPerMinute: null,
          tokensPerMinute: null,
          tokensPerDay: null,
          maxConcurrent: null,
        },
      },
    ]),
  );
  return {
    at: 0,
    scope: { kind: 'instance' },
    status: {
      state: options.state,
      queued: 0,
      running: 0,
      queuedByPriority: {},
      providers: [],
      maxConcurrent: 1,
      recent: [],
      breakers,
      limits,
    },
    counts: options.counts,
    live: [],
    cost: {},
    series: [],
    bucketMs: 10_000,
  };
}

/** The states with no children (leaves and finals), by key; the root is not drawn. */
function leaves(model: ChartModel): string[] {
  return model.states.filter((s) => s.children.length === 0).map((s) => s.key);
}

/** Each state's count as shown: a leaf its own, a compound one the sum of its leaves. */
function expectShown(model: ChartModel, shown: ReadonlyMap<string, number>, per: Record<string, number>) {
  const drawn = model.states.filter((s) => s.id !== model.root);
  expect([...shown.keys()].sort(), `${model.id}: a count box per state`).toEqual(
    drawn.map((s) => s.id).sort(),
  );
  for (const state of drawn) {
    const below = model.states.filter(
      (s) => s.children.length === 0 && (s.id === state.id || s.id.startsWith(`${state.id}.`)),
    );
    expect(shown.get(state.id), state.id).toBe(below.reduce((n, s) => n + (per[s.key] ?? Number.NaN), 0));
  }
}

describe('the dashboard’s statecharts and what feeds their counts', () => {
  it('draws every transition of every machine as XState defines it, and no arrow it does not', async () => {
    const { svgs } = await page();
    // The gadget has what no machine of troupe's has yet: parallel regions, history, `after`, `always`.
    const gadget = chartModel(gadgetMachine);
    svgs.set('gadget', chartSvg(gadget, await layoutChart(gadget)));
    for (const [name, machine] of Object.entries({ ...MACHINES, gadget: gadgetMachine })) {
      const { pairs, initials, kept } = arrowsOf(machine);
      // What the state's tooltip lists instead; the root has no box.
      kept.delete(machine.id);
      expect(keptIn(svgs.get(name)!), name).toEqual(kept);
      const drawn = edgesIn(svgs.get(name)!);
      expect(
        drawn
          .filter((e) => !e.initial)
          .map((e) => [e.pair, e.transitions])
          .sort(),
        name,
      ).toEqual([...pairs].sort());
      expect(
        drawn
          .filter((e) => e.initial)
          .map((e) => e.pair)
          .sort(),
        name,
      ).toEqual(initials.sort());
    }
  });

  it('every state the machines draw is fed a count, and every count fed has a state drawn', async () => {
    const { script, boxes } = await page();
    expect([...boxes.keys()].sort()).toEqual(Object.keys(MACHINES).sort());
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const monitor = new RuntimeMonitor(runtime);
    // A different number in every state: the monitor's own keys, and the typed state unions.
    const distinct = (keys: readonly string[]) => Object.fromEntries(keys.map((k, i) => [k, i + 1]));
    const counts = distinct(Object.keys(monitor.snapshot().counts));
    monitor.close();
    await runtime.shutdown({ deadlineMs: 0 });
    const breakers: Record<BreakerState, number> = { closed: 1, open: 2, halfOpen: 3 };
    const cooldowns: Record<ProviderStateValue, number> = { open: 1, coolingDown: 2, probing: 3 };
    const fed = { session: counts, breaker: breakers, provider: cooldowns };
    const supervisor: Record<RuntimeStatus['state'], true> = {
      accepting: true,
      draining: true,
      stopped: true,
    };
    for (const state of Object.keys(supervisor) as RuntimeStatus['state'][]) {
      const shown = render(script, boxes, snapshotWith({ counts, state, breakers, cooldowns }));
      for (const [name, per] of Object.entries(fed)) {
        const model = chartModel(MACHINES[name as keyof typeof fed]);
        expect(leaves(model).sort(), `${name}: the states fed are the states drawn`).toEqual(
          Object.keys(per).sort(),
        );
        expectShown(model, shown.get(name)!, per);
      }
      const model = chartModel(MACHINES.supervisor);
      expect(leaves(model).sort()).toEqual(Object.keys(supervisor).sort());
      expectShown(model, shown.get('supervisor')!, { accepting: 0, draining: 0, stopped: 0, [state]: 1 });
    }
  });
});
