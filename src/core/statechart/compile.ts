/**
 * A statechart compiled from its XState definition into a table, and a small actor that runs it.
 *
 * XState's interpreter is general: every macrostep computes transition domains, exit and entry
 * sets and the state value afresh, and an `Actor` brings a system and a mailbox. For a small
 * machine run once per request that is most of a session's cost (about 40 µs of a session machine's
 * life here, against 1.5 µs compiled; see docs/performance-log.md). The machine's XState definition stays
 * the one source of truth: this module reads its state nodes, transitions, guards and actions once,
 * precomputes for every leaf state and event type the candidate transitions in XState's order with
 * their whole action lists (exits deepest first, the transition's own, entries outermost first),
 * and refuses, at compile time, any feature it does not implement.
 *
 * It implements what the session machine (`machines/session.ts`) uses and nothing more: a root
 * with child states, a context built by a function of the input, atomic, compound and top-level
 * final states, external transitions with one target and targetless ones, guards by name,
 * actions by name or inline, `assign` (function and object forms), entry and exit actions.
 * Everything else throws `UnsupportedMachineError` naming the state: parallel and history states,
 * `invoke`, `after`, `always`, wildcard events, `reenter`, several targets, a transition to its
 * own source, actions on `initial`, `output`, nested final states, exit actions on a final state
 * or the root, entry actions on the initial configuration, an initial state that is final, guards
 * given inline or as objects, `params`, and every built-in action other than `assign`. A
 * differential property test (tests/properties/compiled-machine.test.ts) runs random event
 * sequences through this table and through an XState actor and requires the same state, context,
 * status and effects.
 */
import type { AnyStateMachine } from 'xstate';
import {
  type ActorWatch,
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
  const leafOf = (node: Node): Leaf<C, E> => leaves.get(initialLeaf(node)) as Leaf<C, E>;

  const resolveAction = ({ where, action }: Located): Step => {
    // Stryker disable next-line ConditionalExpression: XState lists no null action; either way it is refused.
    if (typeof action === 'object' && action !== null)
      return fail(
        `state "${where.id}": action "${nameOf(action)}" is given as an object ({ type, params }), not by name`,
      );
    const named = typeof action === 'string' ? action : null;
    const impl = named === null ? action : implementations.actions[named];
    if (typeof impl !== 'function')
      return fail(`state "${where.id}": action "${named}" has no implementation`);
    const builtin = builtinAction(impl);
    if (builtin === null) return { kind: 'exec', exec: impl as (args: unknown) => void };
    if (builtin.type !== 'xstate.assign')
      return fail(`state "${where.id}": built-in action "${builtin.type}" is not supported`);
    const assignment = builtin.assignment;
    if (typeof assignment === 'function')
      // Stryker disable next-line ArrayDeclaration,StringLiteral: with `update` set the actor reads neither list; any kind but 'exec' is an assign.
      return { kind: 'assign', update: assignment as never, keys: [], values: [] };
    const keys = Object.keys(assignment as object);
    const values = keys.map((key) => (assignment as Record<string, unknown>)[key]);
    // Stryker disable next-line StringLiteral: the actor tells only 'exec' apart; any other kind is an assign.
    return { kind: 'assign', update: null, keys, values };
  };

  const resolveGuard = (where: Node, guard: unknown): Candidate<C, E>['guard'] => {
    if (guard === undefined) return null;
    if (typeof guard !== 'string')
      return fail(`state "${where.id}": a guard is given inline or as an object, not by name`);
    const impl = implementations.guards[guard];
    if (typeof impl !== 'function')
      return fail(`state "${where.id}": guard "${guard}" has no implementation`);
    if (isBuiltinGuard(impl))
      return fail(`state "${where.id}": built-in guards (and, or, not, stateIn) are not supported`);
    return impl as Candidate<C, E>['guard'];
  };

  // Every leaf's candidates for every event, innermost source first, as XState selects them.
  for (const [node, leaf] of leaves) {
    // Stryker disable next-line ConditionalExpression: a shortcut; the actor handles no event in a final state.
    if (leaf.done) continue;
    const chain = ancestry(node);
    for (const source of chain) {
      for (const [eventType, transitions] of source.transitions) {
        const list = (leaf.on.get(eventType) ?? []) as Candidate<C, E>[];
        for (const transition of transitions) {
          const target = transition.target?.[0];
          list.push({
            guard: resolveGuard(source, transition.guard),
            next: target === undefined ? leaf : leafOf(target),
            steps: actionsFor(transition, chain).map(resolveAction),
          });
        }
        leaf.on.set(eventType, list);
      }
    }
  }

  // The initial macrostep runs no actions (refused here), so starting is setting the context.
  if (root.type !== 'compound') fail(`state "${root.id}" (the root) has no child states`);
  if (typeof contextConfig !== 'function')
    fail(`state "${root.id}" (the root) has a context that is not a function of the input`);
  const makeContext = contextConfig as (args: unknown) => C;
  const initial = leafOf(root);
  if (initial.done) fail(`state "${initial.id}" is final and the initial state`);
  for (const node of ancestry(initialLeaf(root)))
    if (node.entry.length > 0) fail(`state "${node.id}" has entry actions and is entered on start`);
  const byValue = new Map<string, Leaf<C, E>>();
  for (const leaf of leaves.values()) byValue.set(JSON.stringify(leaf.value), leaf);

  return {
    start(input, watch) {
      const context = makeContext({ input, self: undefined, spawn: noSpawn });
      if (watch === undefined) return new CompiledActor<C, E>(initial, context);
      const actor = new CompiledActor<C, E>(initial, context, watch);
      // The initial macrostep runs no actions; it is reported as XState reports it.
      const init = { type: 'xstate.init', input } as unknown as E;
      watch.event(actor, init);
      watch.snapshot(actor, init);
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

/** The implementation name of an action given as `{ type, params }`. */
function nameOf(reference: object): unknown {
  return (reference as { type?: unknown }).type;
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

/** The leaf reached by following `initial` from `node` (the adapter checks every compound node has one). */
function initialLeaf(node: Node): Node {
  let at = node;
  while (at.type === 'compound') at = at.initial.target[0] as Node;
  return at;
}

function stateValue(leaf: Node): unknown {
  const path = ancestry(leaf).reverse().slice(1);
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

function actionsFor(transition: Transition, chain: readonly Node[]): Located[] {
  const target = transition.target?.[0];
  const source = transition.source;
  if (target === undefined) return located(source, transition.actions);
  // The transition's domain: the source itself when the target lies inside it, else the nearest
  // ancestor of the source that contains the target. Every ancestor is compound (parallel states
  // are refused), and the root, which contains every other state, is never a target (refused).
  let domain = isDescendant(target, source) ? source : (source.parent as Node);
  while (!isDescendant(target, domain)) domain = domain.parent as Node;
  const exits: Located[] = [];
  for (const node of chain) {
    if (node === domain) break;
    exits.push(...located(node, node.exit));
  }
  const entering: Node[] = [];
  for (let at = target; at !== domain; at = at.parent as Node) entering.unshift(at);
  for (let at = target; at.type === 'compound'; ) {
    const child = at.initial.target[0] as Node;
    entering.push(child);
    at = child;
  }
  // Reaching a top-level final state ends the machine; XState then runs the exits of the final
  // configuration, the final state's and the root's: refused, so there are none to add here.
  return [
    ...exits,
    ...located(source, transition.actions),
    ...entering.flatMap((node) => located(node, node.entry)),
  ];
}

function refuseUnsupported(node: Node, root: Node, fail: (what: string) => never): void {
  const at = `state "${node.id}"`;
  if (node.type === 'parallel' || node.type === 'history') fail(`${at} is a ${node.type} state`);
  if (node.invoke.length > 0) fail(`${at} invokes actors`);
  if (node.after.length > 0) fail(`${at} has delayed transitions`);
  if ((node.always?.length ?? 0) > 0) fail(`${at} has eventless transitions`);
  if (node.config.output !== undefined) fail(`${at} has an output`);
  if (node.type === 'final' && node.parent !== root) fail(`${at} is a final state below the top level`);
  if ((node.type === 'final' || node === root) && node.exit.length > 0)
    fail(`${at} has exit actions and ends the machine`);
  if (node.initial.actions.length > 0) fail(`${at} has actions on its initial transition`);
  for (const [eventType, transitions] of node.transitions) {
    if (eventType.includes('*')) fail(`${at} has a wildcard transition ("${eventType}")`);
    for (const transition of transitions) {
      const on = `the "${eventType}" transition of ${at}`;
      if (transition.reenter) fail(`${on} re-enters`);
      if ((transition.target?.length ?? 0) > 1) fail(`${on} has several targets`);
      if (transition.target?.[0] === node) fail(`${on} targets its own source`);
      if (transition.target?.[0] === root) fail(`${on} targets the root`);
    }
  }
}
