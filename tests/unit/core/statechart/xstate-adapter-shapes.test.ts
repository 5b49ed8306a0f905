/**
 * What the adapter does when an XState internal it reads has moved: every shape it checks, one at
 * a time, on a hand-made machine that is right in every other respect. Each must fail with
 * "XState internals changed", naming what it expected, where, and what it got, rather than let
 * the compiler build a wrong table from it.
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import {
  builtinAction,
  isBuiltinGuard,
  readMachine,
} from '../../../../src/core/statechart/xstate-adapter.js';

type Shape = Record<string, unknown>;

const node = (overrides: Shape = {}): Shape => ({
  id: 'x',
  key: 'x',
  type: 'atomic',
  states: {},
  entry: [],
  exit: [],
  invoke: [],
  after: [],
  transitions: new Map(),
  config: {},
  initial: { target: [], actions: [] },
  ...overrides,
});

const machine = (overrides: Shape = {}): AnyStateMachine =>
  ({
    id: 'x',
    root: node(),
    implementations: { actions: {}, guards: {} },
    config: { context: () => ({}) },
    ...overrides,
  }) as unknown as AnyStateMachine;

const moved = (what: string) => `XState internals changed: expected ${what}`;

describe('the adapter fails loudly on a moved internal', () => {
  it('reads a machine of the expected shape', () => {
    const context = () => ({ n: 1 });
    const parts = readMachine(machine({ config: { context } }));
    expect(parts.root.id).toBe('x');
    expect(parts.implementations).toEqual({ actions: {}, guards: {} });
    expect(parts.contextConfig).toBe(context);
  });

  const cases: [string, Shape, string][] = [
    ['no root node', { root: null }, `${moved('a state node at x')}, got null`],
    ['a root that is not an object', { root: 'root' }, `${moved('a state node at x')}, got string`],
    [
      'an id that is not a string',
      { root: node({ id: 7 }) },
      `${moved('`id` (a string) on state node x')}, got number`,
    ],
    ['no states', { root: node({ states: null }) }, `${moved('`states` on state node x')}, got null`],
    [
      'transitions as an array',
      { root: node({ transitions: [] }) },
      `${moved('`transitions` (a Map) on state node x')}, got an array`,
    ],
    [
      'no entry list',
      { root: node({ entry: undefined }) },
      `${moved('`entry` (an array) on state node x')}, got undefined`,
    ],
    [
      'no exit list',
      { root: node({ exit: 'a' }) },
      `${moved('`exit` (an array) on state node x')}, got string`,
    ],
    [
      'no invoke list',
      { root: node({ invoke: {} }) },
      `${moved('`invoke` (an array) on state node x')}, got object`,
    ],
    [
      'no after list',
      { root: node({ after: null }) },
      `${moved('`after` (an array) on state node x')}, got null`,
    ],
    ['no node config', { root: node({ config: null }) }, `${moved('`config` on state node x')}, got null`],
    [
      'a transition list that is not an array',
      { root: node({ transitions: new Map([['E', {}]]) }) },
      `${moved('a list of transitions for "E" on x')}, got object`,
    ],
    [
      'transition actions that are not an array',
      { root: node({ transitions: new Map([['E', [{ actions: 'a' }]]]) }) },
      `${moved('`actions` (an array) on a "E" transition of x')}, got string`,
    ],
    [
      'a child node of the wrong shape, named by its path',
      { root: node({ states: { a: node({ id: 'x.a', exit: null }) } }) },
      `${moved('`exit` (an array) on state node x.a')}, got null`,
    ],
    [
      'no initial',
      { root: node({ initial: undefined }) },
      `${moved('`initial` on state node x')}, got undefined`,
    ],
    [
      'an initial target that is not an array',
      { root: node({ initial: { target: null, actions: [] } }) },
      `${moved('`initial.target` (an array) on state node x')}, got null`,
    ],
    [
      'initial actions that are not an array',
      { root: node({ initial: { target: [], actions: {} } }) },
      `${moved('`initial.actions` (an array) on state node x')}, got object`,
    ],
    [
      'a compound node without an initial child',
      { root: node({ type: 'compound', states: { a: node({ id: 'x.a' }) } }) },
      `${moved('an initial child (`initial.target[0]`) on compound state node x')}, got undefined`,
    ],
    [
      'states that are not an object',
      { root: node({ states: 'a' }) },
      `${moved('`states` on state node x')}, got string`,
    ],
    [
      'a node config that is not an object',
      { root: node({ config: 1 }) },
      `${moved('`config` on state node x')}, got number`,
    ],
    ['a null initial', { root: node({ initial: null }) }, `${moved('`initial` on state node x')}, got null`],
    ['a null machine config', { config: null }, `${moved('`config` on the machine')}, got null`],
    [
      'no implementations',
      { implementations: null },
      `${moved('`implementations` on the machine')}, got null`,
    ],
    [
      'no action implementations',
      { implementations: { guards: {} } },
      `${moved('`implementations.actions`')}, got undefined`,
    ],
    [
      'no guard implementations',
      { implementations: { actions: {}, guards: null } },
      `${moved('`implementations.guards`')}, got null`,
    ],
    ['no machine config', { config: undefined }, `${moved('`config` on the machine')}, got undefined`],
  ];

  it.each(cases)('%s', (_what, overrides, message) => {
    expect(() => readMachine(machine(overrides))).toThrow(message);
  });

  it('a built-in action without a string type, or an assign without an assignment', () => {
    expect(() => builtinAction({ resolve: () => {}, type: 3 })).toThrow(
      `${moved('`type` (a string) on a built-in action')}, got number`,
    );
    expect(() => builtinAction({ resolve: () => {}, type: 'xstate.assign', assignment: null })).toThrow(
      `${moved('`assignment` (a function or an object) on `assign`')}, got null`,
    );
    expect(() => builtinAction({ resolve: () => {}, type: 'xstate.assign', assignment: 'n' })).toThrow(
      `${moved('`assignment` (a function or an object) on `assign`')}, got string`,
    );
  });

  it('reads a built-in other than assign as its type, whatever else it holds', () => {
    expect(builtinAction({ resolve: () => {}, type: 'xstate.raise', assignment: null })).toEqual({
      type: 'xstate.raise',
      assignment: null,
    });
    expect(builtinAction({ type: 'xstate.assign' })).toBeNull();
    expect(isBuiltinGuard({ check: () => true })).toBe(true);
    expect(isBuiltinGuard({ resolve: () => true })).toBe(false);
  });
});
