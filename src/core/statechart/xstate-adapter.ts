/**
 * Every read of an XState internal that the compiled engine makes, in one place: the machine's
 * root state node and its nodes' transitions, the machine's implementations, its context config,
 * and how a built-in action (`assign`) or guard is told apart from a plain function. None of this
 * is XState's documented API, so each read checks the shape it expects and throws
 * `XState internals changed: ...` when it finds another, rather than compile a wrong table.
 * `tests/unit/core/statechart/xstate-adapter.test.ts` is the canary that runs these reads on every
 * feature the session machine uses; on an XState upgrade, run it and the differential property
 * (see docs/runtime.md, "Upgrading XState").
 */
import type { AnyStateMachine } from 'xstate';

/** The state node shape the compiler reads; XState's `StateNode` has it. */
export interface Node {
  readonly key: string;
  readonly id: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly parent?: Node | undefined;
  readonly states: Readonly<Record<string, Node>>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly transitions: ReadonlyMap<string, readonly Transition[]>;
  /** Every node has one (an atomic node's `target` is empty); a compound node's names its initial child. */
  readonly initial: { readonly target: readonly Node[]; readonly actions: readonly unknown[] };
  readonly invoke: readonly unknown[];
  readonly after: readonly unknown[];
  readonly always?: readonly unknown[] | undefined;
  readonly output?: unknown;
  readonly config: { readonly output?: unknown };
}

export interface Transition {
  readonly source: Node;
  readonly target: readonly Node[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter: boolean;
}

export interface MachineParts {
  readonly root: Node;
  readonly implementations: {
    readonly actions: Readonly<Record<string, unknown>>;
    readonly guards: Readonly<Record<string, unknown>>;
  };
  /** The `context` of the machine's config: a value, a function of `{ input }`, or undefined. */
  readonly contextConfig: unknown;
}

function changed(what: string, got: unknown): never {
  const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got;
  throw new Error(`XState internals changed: expected ${what}, got ${shown}`);
}

function checkNode(node: unknown, path: string): Node {
  const n = node as Record<string, unknown>;
  if (typeof n !== 'object' || n === null) changed(`a state node at ${path}`, n);
  if (typeof n.id !== 'string') changed(`\`id\` (a string) on state node ${path}`, n.id);
  if (typeof n.states !== 'object' || n.states === null)
    changed(`\`states\` on state node ${path}`, n.states);
  if (!(n.transitions instanceof Map))
    changed(`\`transitions\` (a Map) on state node ${path}`, n.transitions);
  for (const key of ['entry', 'exit', 'invoke', 'after'] as const)
    if (!Array.isArray(n[key])) changed(`\`${key}\` (an array) on state node ${path}`, n[key]);
  if (typeof n.config !== 'object' || n.config === null)
    changed(`\`config\` on state node ${path}`, n.config);
  const initial = n.initial as { target?: unknown; actions?: unknown } | undefined;
  if (typeof initial !== 'object' || initial === null) changed(`\`initial\` on state node ${path}`, initial);
  for (const key of ['target', 'actions'] as const)
    if (!Array.isArray(initial[key]))
      changed(`\`initial.${key}\` (an array) on state node ${path}`, initial[key]);
  if (n.type === 'compound' && typeof (initial.target as unknown[])[0] !== 'object')
    changed(
      `an initial child (\`initial.target[0]\`) on compound state node ${path}`,
      (initial.target as unknown[])[0],
    );
  for (const [event, list] of n.transitions as Map<string, unknown>) {
    if (!Array.isArray(list)) changed(`a list of transitions for "${event}" on ${path}`, list);
    for (const t of list as Record<string, unknown>[])
      if (!Array.isArray(t.actions))
        changed(`\`actions\` (an array) on a "${event}" transition of ${path}`, t.actions);
  }
  for (const [key, child] of Object.entries(n.states as Record<string, unknown>))
    checkNode(child, `${path}.${key}`);
  return n as unknown as Node;
}

/** The machine's root node (checked all the way down), implementations and context config. */
export function readMachine(machine: AnyStateMachine): MachineParts {
  const root = checkNode((machine as unknown as { root: unknown }).root, machine.id);
  const impl = (machine as unknown as { implementations: Record<string, unknown> }).implementations;
  if (typeof impl !== 'object' || impl === null) changed('`implementations` on the machine', impl);
  for (const key of ['actions', 'guards'] as const)
    if (typeof impl[key] !== 'object' || impl[key] === null) changed(`\`implementations.${key}\``, impl[key]);
  const config = (machine as unknown as { config: unknown }).config;
  if (typeof config !== 'object' || config === null) changed('`config` on the machine', config);
  return {
    root,
    implementations: impl as MachineParts['implementations'],
    contextConfig: (config as { context?: unknown }).context,
  };
}

/**
 * A built-in action (XState marks them with a `resolve` method): its `type`, and for `assign`
 * its `assignment` (a function, or an object of property assigners). `null` for a plain function.
 */
export function builtinAction(impl: object): { readonly type: string; readonly assignment: unknown } | null {
  if (!('resolve' in impl)) return null;
  const builtin = impl as { type?: unknown; assignment?: unknown };
  if (typeof builtin.type !== 'string') changed('`type` (a string) on a built-in action', builtin.type);
  if (builtin.type === 'xstate.assign') {
    const a = builtin.assignment;
    if (typeof a !== 'function' && (typeof a !== 'object' || a === null))
      changed('`assignment` (a function or an object) on `assign`', a);
  }
  return { type: builtin.type, assignment: builtin.assignment };
}

/** Whether a guard is one of XState's built-ins (`and`, `or`, `not`, `stateIn`: marked with `check`). */
export function isBuiltinGuard(impl: object): boolean {
  return 'check' in impl;
}
