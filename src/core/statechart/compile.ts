/**
 * A statechart compiled from its XState definition into a table, and a small actor that runs it.
 *
 * XState's interpreter is general: every macrostep computes transition domains, exit and entry
 * sets and the state value afresh, and an `Actor` brings a system and a mailbox. For a small
 * machine run once per request that is most of a session's cost (about 40 µs of a session machine's
 * life here, against 1.5 µs compiled; see docs/performance.md). The machine's XState definition stays
 * the one source of truth: this module reads its state nodes, transitions, guards and actions once,
 * precomputes for every leaf state and event type the candidate transitions in XState's order with
 * their whole action lists (exits deepest first, the transition's own, entries outermost first),
 * and refuses, at compile time, any feature it does not implement. A differential property test
 * (tests/properties/compiled-machine.test.ts) runs random event sequences through this table and
 * through an XState actor and requires the same state, context, status and effects.
 *
 * Supported: atomic, compound and top-level final states; external transitions with one target,
 * and targetless ones; guards and actions by name, by `{ type, params }` or inline; `assign`.
 * Refused: parallel and history states, `invoke`, `after`, `always`, wildcard events, `reenter`,
 * several targets, a transition to its own source, actions on `initial`, `output`, nested final
 * states, and every built-in action other than `assign`.
 */
import type { AnyStateMachine } from 'xstate';
import {
  type ActorWatch,
  type Args,
  type Candidate,
  CompiledActor,
  type Leaf,
  noSpawn,
  type Step,
  UnsupportedMachineError,
} from './actor.js';
import { builtinAction, isBuiltinGuard, type Node, readMachine, type Transition } from './xstate-adapter.js';

export { type ActorWatch, CompiledActor, type CompiledSnapshot, UnsupportedMachineError } from './actor.js';

export interface CompiledMachine<C, E extends { readonly type: string }, I> {
  /** A started actor in the machine's initial state, as XState's `createActor(machine, { input }).start()`. */
  start(input: I, watch?: ActorWatch<C, E>): CompiledActor<C, E>;
  /** A started actor resumed from a state value and context, as XState's `resolveState`; runs no entry actions. */
  restore(value: unknown, context: C, watch?: ActorWatch<C, E>): CompiledActor<C, E>;
}

export function compileMachine<C, E extends { readonly type: string }, I>(
  machine: AnyStateMachine,
): CompiledMachine<C, E, I> {
  const { root, implementations, contextConfig } = readMachine(machine);
  const fail = (what: string): never => {
    throw new UnsupportedMachineError(`Cannot compile machine "${machine.id}": ${what}`);
  };

  const nodes = allNodes(root);
  for (const node of nodes) refuseUnsupported(node, root, fail);

  const leaves = new Map<Node, Leaf<C, E>>();
  for (const node of nodes) {
    if (node.type === 'atomic' || node.type === 'final')
      leaves.set(node, { id: node.id, value: stateValue(node), done: node.type === 'final', on: new Map() });
  }
  const leafOf = (node: Node): Leaf<C, E> => leaves.get(initialLeaf(node, fail)) as Leaf<C, E>;

  const resolveAction = ({ where, action }: Located): Step<C, E> => {
    const named = nameOf(action);
    const impl = named === null ? action : implementations.actions[named];
    if (typeof impl !== 'function')
      return fail(`state "${where.id}": action "${named}" has no implementation`);
    const params =
      typeof action === 'object' && action !== null ? (action as { params?: unknown }).params : undefined;
    const builtin = builtinAction(impl);
    if (builtin !== null) {
      if (builtin.type !== 'xstate.assign')
        return fail(`state "${where.id}": built-in action "${builtin.type}" is not supported`);
      const assignment = builtin.assignment;
      if (typeof assignment === 'function')
        return { kind: 'assign', update: assignment as never, keys: [], values: [], params };
      const keys = Object.keys(assignment as object);
      const values = keys.map((key) => (assignment as Record<string, unknown>)[key]);
      return { kind: 'assign', update: null, keys, values, params };
    }
    return { kind: 'exec', exec: impl as (args: unknown, params: unknown) => void, params };
  };

  const resolveGuard = (where: Node, guard: unknown): Candidate<C, E>['guard'] => {
    if (guard === undefined) return null;
    const named = nameOf(guard);
    const impl = named === null ? guard : implementations.guards[named];
    if (typeof impl !== 'function')
      return fail(`state "${where.id}": guard "${named}" has no implementation`);
    if (isBuiltinGuard(impl))
      return fail(`state "${where.id}": built-in guards (and, or, not, stateIn) are not supported`);
    return impl as (args: Args<C, E>, params: unknown) => boolean;
  };

  // Every leaf's candidates for every event, innermost source first, as XState selects them.
  for (const [node, leaf] of leaves) {
    if (leaf.done) continue;
    const chain = ancestry(node);
    for (const source of chain) {
      for (const [eventType, transitions] of source.transitions) {
        const list = (leaf.on.get(eventType) ?? []) as Candidate<C, E>[];
        for (const transition of transitions) {
          const actions = actionsFor(transition, chain, fail);
          const target = transition.target?.[0];
          list.push({
            guard: resolveGuard(source, transition.guard),
            guardParams:
              typeof transition.guard === 'object'
                ? (transition.guard as { params?: unknown }).params
                : undefined,
            next: target === undefined ? leaf : leafOf(target),
            steps: actions.map(resolveAction),
          });
        }
        leaf.on.set(eventType, list);
      }
    }
  }

  // The initial macrostep: the root and each initial child entered, outermost first; an initial
  // state that is final ends the machine at once, so its final configuration's exits run too.
  const initial = leafOf(root);
  const entered = ancestry(initialLeaf(root, fail));
  const initialActions = [...entered].reverse().flatMap((node) => located(node, node.entry));
  if (initial.done) initialActions.push(...finalExits(entered[0] as Node));
  const initialSteps = initialActions.map(resolveAction);
  const byValue = new Map<string, Leaf<C, E>>();
  for (const leaf of leaves.values()) byValue.set(JSON.stringify(leaf.value), leaf);

  return {
    start(input, watch) {
      const init = { type: 'xstate.init', input } as unknown as E;
      const context = (
        typeof contextConfig === 'function'
          ? (contextConfig as (args: unknown) => C)({ input, self: undefined, spawn: noSpawn })
          : (contextConfig ?? {})
      ) as C;
      const actor = new CompiledActor<C, E>(initial, context, watch ?? null);
      actor.begin(initialSteps, init);
      return actor;
    },
    restore(value, context, watch) {
      const leaf = byValue.get(JSON.stringify(value));
      if (leaf === undefined)
        throw new Error(`Expected a state of machine "${machine.id}", got ${JSON.stringify(value)}`);
      return new CompiledActor<C, E>(leaf, context, watch ?? null);
    },
  };
}

/** The implementation name of an action or guard given by name or `{ type, params }`; `null` when inline. */
function nameOf(reference: unknown): string | null {
  if (typeof reference === 'string') return reference;
  return typeof reference === 'object' && reference !== null ? (reference as { type: string }).type : null;
}

function allNodes(root: Node): Node[] {
  const out: Node[] = [];
  const visit = (node: Node) => {
    out.push(node);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(root);
  return out;
}

/** A node and its ancestors, innermost first. */
function ancestry(node: Node): Node[] {
  const out: Node[] = [];
  for (let at: Node | undefined = node; at !== undefined; at = at.parent) out.push(at);
  return out;
}

function isDescendant(node: Node, of: Node): boolean {
  for (let at = node.parent; at !== undefined; at = at.parent) if (at === of) return true;
  return false;
}

/** The leaf reached by following `initial` from `node`. */
function initialLeaf(node: Node, fail: (what: string) => never): Node {
  let at = node;
  while (at.type === 'compound') {
    const target = at.initial?.target[0];
    if (target === undefined) return fail(`state "${at.id}" has no initial state`);
    at = target;
  }
  return at;
}

function stateValue(leaf: Node): unknown {
  const path = ancestry(leaf).reverse().slice(1);
  // A machine without child states: XState's value is an empty object.
  if (path.length === 0) return Object.freeze({});
  let value: unknown = path[path.length - 1]?.key;
  for (let i = path.length - 2; i >= 0; i--) value = Object.freeze({ [(path[i] as Node).key]: value });
  return value;
}

/**
 * A transition's whole action list from `chain` (the active leaf and its ancestors): exits deepest
 * first, the transition's own actions, then entries outermost first down to the target's initial leaf.
 */
type Located = { readonly where: Node; readonly action: unknown };

function located(node: Node, actions: readonly unknown[]): Located[] {
  return actions.map((action) => ({ where: node, action }));
}

function actionsFor(
  transition: Transition,
  chain: readonly Node[],
  fail: (what: string) => never,
): Located[] {
  const target = transition.target?.[0];
  const source = transition.source;
  if (target === undefined) return located(source, transition.actions);
  // The transition's domain: the source itself when the target lies inside it, else the nearest
  // compound ancestor of the source that also contains the target.
  let domain: Node | undefined = isDescendant(target, source) ? source : undefined;
  for (let at = source.parent; domain === undefined && at !== undefined; at = at.parent)
    if (at.type === 'compound' && isDescendant(target, at)) domain = at;
  if (domain === undefined) return fail(`no common ancestor for a transition from "${source.id}"`);
  const exits: Located[] = [];
  for (const node of chain) {
    if (node === domain) break;
    exits.push(...located(node, node.exit));
  }
  const entering: Node[] = [];
  for (let at: Node | undefined = target; at !== undefined && at !== domain; at = at.parent)
    entering.unshift(at);
  for (let at = target; at.type === 'compound'; ) {
    const child = at.initial?.target[0];
    if (child === undefined) return fail(`state "${at.id}" has no initial state`);
    entering.push(child);
    at = child;
  }
  const actions = [
    ...exits,
    ...located(source, transition.actions),
    ...entering.flatMap((node) => located(node, node.entry)),
  ];
  const leaf = entering[entering.length - 1] as Node;
  // Reaching a top-level final state ends the machine; XState then runs the exits of the final
  // configuration (the final state's and the root's), deepest first.
  if (leaf.type === 'final') actions.push(...finalExits(leaf));
  return actions;
}

function finalExits(leaf: Node): Located[] {
  return ancestry(leaf).flatMap((node) => located(node, node.exit));
}

function refuseUnsupported(node: Node, root: Node, fail: (what: string) => never): void {
  const at = `state "${node.id}"`;
  if (node.type === 'parallel' || node.type === 'history') fail(`${at} is a ${node.type} state`);
  if (node.invoke.length > 0) fail(`${at} invokes actors`);
  if (node.after.length > 0) fail(`${at} has delayed transitions`);
  if ((node.always?.length ?? 0) > 0) fail(`${at} has eventless transitions`);
  if (node.config.output !== undefined) fail(`${at} has an output`);
  if (node.type === 'final' && node.parent !== root) fail(`${at} is a final state below the top level`);
  if ((node.initial?.actions.length ?? 0) > 0) fail(`${at} has actions on its initial transition`);
  for (const [eventType, transitions] of node.transitions) {
    if (eventType.includes('*')) fail(`${at} has a wildcard transition ("${eventType}")`);
    for (const transition of transitions) {
      const on = `the "${eventType}" transition of ${at}`;
      if (transition.reenter) fail(`${on} re-enters`);
      if ((transition.target?.length ?? 0) > 1) fail(`${on} has several targets`);
      if (transition.target?.[0] === node) fail(`${on} targets its own source`);
    }
  }
}
