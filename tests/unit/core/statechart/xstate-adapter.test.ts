/**
 * The canary for an XState upgrade: the compiled engine's only reads of XState internals
 * (`src/core/statechart/xstate-adapter.ts`) run here on the session machine itself and on a small
 * machine with every feature the compiler supports. If XState moves any of them, this fails with
 * "XState internals changed: ..." before anything else does.
 */
import { describe, expect, it } from 'vitest';
import { and, assign, createMachine, raise, setup } from 'xstate';
import { sessionMachine } from '../../../../machines/session.js';
import {
  builtinAction,
  isBuiltinGuard,
  readMachine,
} from '../../../../src/core/statechart/xstate-adapter.js';

describe('XState internals the compiled engine reads', () => {
  it('reads the session machine: nodes, transitions, implementations, context', () => {
    const { root, implementations, contextConfig } = readMachine(sessionMachine);
    expect(root.id).toBe(sessionMachine.id);
    expect(Object.keys(root.states)).toEqual(
      expect.arrayContaining(['queued', 'running', 'done', 'cancelled']),
    );
    const running = root.states.running;
    expect(running?.type).toBe('compound');
    expect(running?.states.attempt?.parent).toBe(running);
    expect(root.states.queued?.transitions.get('session.admit')?.[0]?.target?.[0]?.id).toBeDefined();
    expect(root.states.done?.type).toBe('final');
    expect(typeof implementations.actions.startProviderCall).toBe('function');
    expect(Object.keys(implementations.guards).length).toBeGreaterThan(0);
    expect(typeof contextConfig).toBe('function');
  });

  it('tells assign (function and object forms) from other built-ins and plain functions', () => {
    const byFunction = builtinAction(assign(() => ({ n: 1 })));
    expect(byFunction?.type).toBe('xstate.assign');
    expect(typeof byFunction?.assignment).toBe('function');
    const byObject = builtinAction(assign({ n: () => 2 }));
    expect(Object.keys(byObject?.assignment as object)).toEqual(['n']);
    expect(builtinAction(raise({ type: 'x' }))?.type).toBe('xstate.raise');
    expect(builtinAction(() => {})).toBeNull();
    expect(isBuiltinGuard(and(['a', 'b']))).toBe(true);
    expect(isBuiltinGuard(() => true)).toBe(false);
  });

  it('reads a machine with named guards and actions, targetless transitions and a context function', () => {
    const machine = setup({ actions: { log: () => {} }, guards: { ok: () => true } }).createMachine({
      id: 'm',
      initial: 'a',
      context: () => ({ n: 0 }),
      states: {
        a: { on: { go: { target: 'b', guard: 'ok' }, stay: { actions: 'log' } } },
        b: { type: 'final', entry: 'log' },
      },
    });
    const { root, contextConfig } = readMachine(machine);
    expect(root.type).toBe('compound');
    const go = root.states.a?.transitions.get('go')?.[0];
    expect(go?.guard).toBe('ok');
    expect(go?.source).toBe(root.states.a);
    expect(go?.target?.[0]).toBe(root.states.b);
    expect(go?.reenter).toBe(false);
    expect(root.states.a?.transitions.get('stay')?.[0]?.target).toBeUndefined();
    expect(root.states.a?.transitions.get('stay')?.[0]?.actions).toEqual(['log']);
    expect(root.states.b?.entry).toEqual(['log']);
    expect(root.initial?.target[0]).toBe(root.states.a);
    expect(root.initial?.actions).toEqual([]);
    expect((contextConfig as (args: unknown) => unknown)({ input: undefined })).toEqual({ n: 0 });
  });

  it('fails loudly, naming what moved, when a shape is not what it reads', () => {
    const machine = createMachine({ id: 'x', initial: 'a', states: { a: {} } });
    const moved = Object.create(machine, { root: { value: { ...machine.root, transitions: {} } } });
    expect(() => readMachine(moved)).toThrow(
      'XState internals changed: expected `transitions` (a Map) on state node x',
    );
    const noImpl = Object.create(machine, { implementations: { value: undefined } });
    expect(() => readMachine(noImpl)).toThrow(
      'XState internals changed: expected `implementations` on the machine',
    );
    expect(() => builtinAction({ resolve: () => {}, type: 'xstate.assign' })).toThrow(
      'XState internals changed: expected `assignment`',
    );
  });
});
