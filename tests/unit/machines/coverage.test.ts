/**
 * Every state and every transition of both machines is reachable: paths generated with
 * @xstate/graph from events that make each guard both pass and fail.
 */
import { getShortestPaths, getStateNodes } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { type SessionContext, type SessionMachineEvent, sessionMachine } from '../../../machines/session.js';
import { type SupervisorMachineEvent, supervisorMachine } from '../../../machines/supervisor.js';
import { AUTH_FAILED, INPUT, RATE_LIMITED, UNAVAILABLE } from './fixtures.js';

const TARGET = { provider: 'p', model: 'm', contextWindow: null, fits: true };

/** Every (state node, event type) pair the machine handles. */
function handled(machine: AnyStateMachine): Set<string> {
  const out = new Set<string>();
  for (const node of getStateNodes(machine.root) as AnyStateNode[]) {
    for (const eventType of node.transitions.keys()) out.add(`${node.id} ${eventType}`);
  }
  return out;
}

interface Step {
  readonly ids: readonly string[];
  readonly eventType: string;
  readonly changed: boolean;
}

function coverage(
  paths: readonly { steps: readonly { state: { _nodes: AnyStateNode[] }; event: { type: string } }[] }[],
) {
  const visited = new Set<string>();
  const exercised = new Set<string>();
  for (const path of paths) {
    let before: Step['ids'] = [];
    for (const step of path.steps) {
      const ids = step.state._nodes.map((n) => n.id);
      for (const id of ids) visited.add(id);
      // Credit the event to the deepest source node that handles it.
      for (const id of [...before].reverse()) {
        const key = `${id} ${step.event.type}`;
        if (expectedHandled.has(key)) {
          exercised.add(key);
          break;
        }
      }
      before = ids;
    }
  }
  return { visited, exercised };
}

let expectedHandled = new Set<string>();

function sessionEvents(context: SessionContext): SessionMachineEvent[] {
  const t = (at: number | null) => (at === null ? [] : [at - 1, at]);
  const times = [
    ...t(context.input.queueDeadlineAt),
    ...t(context.runDeadlineAt),
    ...t(context.idleDeadlineAt),
    ...t(context.retryAt),
  ];
  const now = (context.startedAt ?? 1100) + 10;
  return [
    { type: 'session.admit', now: 1100 },
    ...times.map((at) => ({ type: 'session.tick' as const, now: at })),
    { type: 'provider.chunk', now, chars: Math.min(context.chars + 3, 6), delta: {} },
    { type: 'provider.done', now, output: { content: 'x' } },
    { type: 'provider.error', now, error: UNAVAILABLE, random: 0 },
    { type: 'provider.error', now, error: AUTH_FAILED, random: 0 },
    { type: 'session.cancel', now, reason: 'test' },
    { type: 'provider.error', now, error: RATE_LIMITED, random: 0 },
    // A queued session whose provider cannot take it in time moves to its next target.
    { type: 'session.reroute', now: 1050, error: UNAVAILABLE },
    // So does one between attempts whose next provider cools down past its run deadline.
    ...(context.runDeadlineAt === null
      ? []
      : [
          {
            type: 'session.reroute' as const,
            now,
            error: { ...RATE_LIMITED, retryAfterMs: context.runDeadlineAt - now },
          },
        ]),
  ];
}

describe('machine coverage', () => {
  it('reaches every state and exercises every transition of the session machine', () => {
    expectedHandled = handled(sessionMachine);
    // Without and with a fallback chain (the next target takes over after a fallback's error).
    const chains = [undefined, [TARGET, { ...TARGET, provider: 'q' }, { ...TARGET, provider: 'r' }]];
    const paths = chains.flatMap((targets) =>
      [false, true].flatMap((stream) =>
        getShortestPaths(sessionMachine, {
          input: { ...INPUT, stream, maxAttempts: 2, ...(targets === undefined ? {} : { targets }) },
          events: (snapshot) => sessionEvents(snapshot.context),
          serializeState: (snapshot) =>
            JSON.stringify([
              snapshot.value,
              snapshot.context.attempts,
              snapshot.context.chars,
              snapshot.context.routing?.target,
              // What moved it on: a reroute between attempts ends where a provider error also leads.
              snapshot.context.error?.code,
            ]),
          // A few thousand steps explore it all; a broken machine whose attempts never reach the limit
          // would make the state space infinite, so fail fast instead of searching forever.
          limit: 8000,
        }),
      ),
    );
    const { visited, exercised } = coverage(paths as never);
    const allStates = (getStateNodes(sessionMachine.root) as AnyStateNode[]).map((n) => n.id);
    expect(allStates.filter((id) => !visited.has(id))).toEqual([]);
    expect([...expectedHandled].filter((k) => !exercised.has(k))).toEqual([]);
    expect(allStates.length).toBeGreaterThanOrEqual(10);
  });

  it('reaches every state and exercises every transition of the supervisor machine', () => {
    expectedHandled = handled(supervisorMachine);
    const events = (): SupervisorMachineEvent[] => [
      { type: 'supervisor.shutdown', now: 0, deadlineMs: 10 },
      { type: 'supervisor.idle', now: 5 },
      { type: 'supervisor.tick', now: 10 },
    ];
    const paths = getShortestPaths(supervisorMachine, { events });
    const { visited, exercised } = coverage(paths as never);
    const allStates = (getStateNodes(supervisorMachine.root) as AnyStateNode[]).map((n) => n.id);
    expect(allStates.filter((id) => !visited.has(id))).toEqual([]);
    expect([...expectedHandled].filter((k) => !exercised.has(k))).toEqual([]);
  });
});
