/**
 * Charts drawn from the machine definitions themselves, never by hand: a flat model of states and
 * transitions read off `machine.root`, the XState `toJSON()` definition (what Stately's tools
 * import) and Mermaid `stateDiagram-v2` text.
 */
import type { AnyStateMachine } from 'xstate';
import { breakerMachine } from '../../machines/breaker.js';
import { providerMachine } from '../../machines/provider.js';
import { sessionMachine } from '../../machines/session.js';
import { supervisorMachine } from '../../machines/supervisor.js';

/**
 * Every machine that `troupe chart`, the dashboard and docs/machines.md draw, by name: the one
 * place to register a machine (one line; its chart, layout and tables follow from its definition).
 */
export const MACHINES = {
  session: sessionMachine,
  supervisor: supervisorMachine,
  breaker: breakerMachine,
  provider: providerMachine,
} as const satisfies Readonly<Record<string, AnyStateMachine>>;

export type ChartName = keyof typeof MACHINES;

export interface ChartState {
  /** Full id, e.g. `session.running.attempt`. */
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Id of the initial child of a compound state. */
  readonly initial: string | null;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly children: readonly string[];
}

export interface ChartTransition {
  readonly source: string;
  /** `null` for a targetless (self, no exit) transition. */
  readonly target: string | null;
  readonly event: string;
  readonly guard: string | null;
  readonly actions: readonly string[];
  /** Present on a transition that leaves its state and enters it again (`reenter: true`): exit and entry run. */
  readonly reenter?: true;
}

export interface ChartModel {
  readonly id: string;
  readonly root: string;
  /** In document order, parents before children. */
  readonly states: readonly ChartState[];
  readonly transitions: readonly ChartTransition[];
}

interface NodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: ChartState['type'];
  readonly states: Readonly<Record<string, NodeLike>>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly initial?: { readonly target: readonly { readonly id: string }[] };
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
}

interface TransitionLike {
  readonly target?: readonly { readonly id: string }[];
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly eventType: string;
  readonly reenter?: boolean;
}

/** The states and transitions of a machine, read off its state nodes. */
export function chartModel(machine: AnyStateMachine): ChartModel {
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];
  const visit = (node: NodeLike, parent: string | null): void => {
    const children = Object.values(node.states);
    states.push({
      id: node.id,
      key: node.key,
      parent,
      type: node.type,
      initial: children.length > 0 ? (node.initial?.target[0]?.id ?? null) : null,
      entry: node.entry.map(actionName),
      exit: node.exit.map(actionName),
      children: children.map((c) => c.id),
    });
    const all = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of all) {
      const targets = t.target ?? [];
      const guard = t.guard === undefined ? null : guardName(t.guard);
      const actions = t.actions.map(actionName);
      if (targets.length === 0)
        transitions.push({ source: node.id, target: null, event: t.eventType, guard, actions });
      for (const target of targets)
        transitions.push({
          source: node.id,
          target: target.id,
          event: t.eventType,
          guard,
          actions,
          ...(t.reenter === true ? { reenter: true as const } : {}),
        });
    }
    for (const child of children) visit(child, node.id);
  };
  const root = machine.root as unknown as NodeLike;
  visit(root, null);
  return { id: machine.id, root: root.id, states, transitions };
}

/** XState's own definition (`machine.toJSON()`), with inline actions named by their type, as JSON text. */
export function chartJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(
    machine.toJSON(),
    (key, value: unknown) => {
      if (key === 'toJSON') return undefined;
      if (typeof value !== 'function') return value;
      const type = (value as { type?: unknown }).type;
      return { type: typeof type === 'string' ? type : actionName(value) };
    },
    2,
  )}\n`;
}

/**
 * Mermaid `stateDiagram-v2`. Mermaid cannot draw an edge between states inside different composite
 * states, so each edge is drawn between the ancestors of its ends that share a parent; the label then
 * names the state it really leaves (`from calling`). The transition table in docs keeps the exact ends.
 */
export function chartMermaid(machine: AnyStateMachine): string {
  const model = chartModel(machine);
  const byId = new Map(model.states.map((s) => [s.id, s]));
  const lines = ['stateDiagram-v2', '  direction LR'];
  const edgesIn = new Map<string, string[]>();
  for (const t of model.transitions) {
    if (t.target === null) continue;
    const [from, to, level] = lift(byId, t.source, t.target);
    const notes: string[] = [];
    if (from !== t.source) notes.push(`from ${relative(t.source, from)}`);
    if (to !== t.target) notes.push(`to ${relative(t.target, to)}`);
    const edge = `${mid(from)} --> ${mid(to)}: ${transitionLabel(t)}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    const list = edgesIn.get(level) ?? [];
    list.push(edge);
    edgesIn.set(level, list);
  }
  const write = (state: ChartState, indent: string): void => {
    if (state.initial !== null) lines.push(`${indent}[*] --> ${mid(state.initial)}`);
    for (const childId of state.children) {
      const child = byId.get(childId)!;
      const label = child.type === 'final' ? `${child.key} (final)` : child.key;
      if (child.children.length > 0) {
        lines.push(`${indent}state "${label}" as ${mid(child.id)} {`);
        write(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${label}" as ${mid(child.id)}`);
      }
      const effects = [
        ...(child.entry.length > 0 ? [`entry / ${child.entry.join(', ')}`] : []),
        ...(child.exit.length > 0 ? [`exit / ${child.exit.join(', ')}`] : []),
      ];
      // Mermaid gives composite states no description line; their entry/exit go in a note.
      if (effects.length > 0 && child.children.length === 0)
        for (const e of effects) lines.push(`${indent}${mid(child.id)} : ${e}`);
      else if (effects.length > 0)
        lines.push(
          `${indent}note right of ${mid(child.id)}`,
          ...effects.map((e) => `${indent}  ${e}`),
          `${indent}end note`,
        );
      if (child.type === 'final') lines.push(`${indent}${mid(child.id)} --> [*]`);
    }
    for (const edge of edgesIn.get(state.id) ?? []) lines.push(`${indent}${edge}`);
  };
  write(byId.get(model.root)!, '  ');
  return `${lines.join('\n')}\n`;
}

/** `event [guard] / action, action`, the label used by every rendering. */
export function transitionLabel(t: ChartTransition): string {
  return `${t.event || '(always)'}${t.guard === null ? '' : ` [${t.guard}]`}${t.actions.length > 0 ? ` / ${t.actions.join(', ')}` : ''}`;
}

/** The ancestors of `source` and `target` that are children of one state, and that state. */
export function lift(
  byId: ReadonlyMap<string, ChartState>,
  source: string,
  target: string,
): [string, string, string] {
  const chain = (id: string): string[] => {
    const out: string[] = [];
    for (let s = byId.get(id); s !== undefined; s = s.parent === null ? undefined : byId.get(s.parent))
      out.unshift(s.id);
    return out;
  };
  const a = chain(source);
  const b = chain(target);
  let i = 0;
  while (i < a.length - 1 && i < b.length - 1 && a[i + 1] === b[i + 1]) i++;
  // A transition from a state to its own descendant (or itself) stays on that state's level.
  const level = a[i]!;
  return [
    a[i + 1] ?? source,
    b[i + 1] ?? target,
    level === source || level === target ? (byId.get(level)?.parent ?? level) : level,
  ];
}

function relative(full: string, ancestor: string): string {
  return full.startsWith(`${ancestor}.`) ? full.slice(ancestor.length + 1) : full;
}

/** A Mermaid-safe id for a state id. */
function mid(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action !== null && (typeof action === 'object' || typeof action === 'function')) {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') return type === 'xstate.assign' ? 'assign' : type;
    const name = (action as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'anonymous';
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (guard !== null && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string')
    return (guard as { type: string }).type;
  if (typeof guard === 'function' && guard.name) return guard.name;
  return 'guard';
}
