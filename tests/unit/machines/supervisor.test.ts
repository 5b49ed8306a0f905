import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { type SupervisorMachineEvent, supervisorMachine } from '../../../machines/supervisor.js';

function run(...events: SupervisorMachineEvent[]) {
  let [snapshot] = initialTransition(supervisorMachine);
  const actions: string[] = [];
  for (const event of events) {
    const [next, executed] = transition(supervisorMachine, snapshot, event);
    snapshot = next;
    actions.push(...executed.map((a) => a.type));
  }
  return { snapshot, actions };
}

const shutdown: SupervisorMachineEvent = { type: 'supervisor.shutdown', now: 100, deadlineMs: 50 };

describe('supervisor machine', () => {
  it('accepts until shutdown, then drains with an absolute deadline', () => {
    expect(run().snapshot.value).toBe('accepting');
    const { snapshot, actions } = run(shutdown);
    expect(snapshot.value).toBe('draining');
    expect(snapshot.context.drainDeadlineAt).toBe(150);
    expect(actions).toContain('notifyDraining');
  });

  it('stops when the last session ends, cancelling nothing', () => {
    const { snapshot, actions } = run(shutdown, { type: 'supervisor.idle', now: 120 });
    expect(snapshot.value).toBe('stopped');
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.stoppedAt).toBe(120);
    expect(actions).not.toContain('cancelRemaining');
    expect(actions).toContain('notifyStopped');
  });

  it('waits for the drain deadline, then cancels what is left', () => {
    expect(run(shutdown, { type: 'supervisor.tick', now: 149 }).snapshot.value).toBe('draining');
    const { snapshot, actions } = run(shutdown, { type: 'supervisor.tick', now: 150 });
    expect(snapshot.value).toBe('stopped');
    expect(actions).toEqual(expect.arrayContaining(['cancelRemaining', 'notifyStopped']));
  });

  it('ignores idle while accepting and a second shutdown while draining', () => {
    expect(run({ type: 'supervisor.idle', now: 1 }).snapshot.value).toBe('accepting');
    const twice = run(shutdown, { type: 'supervisor.shutdown', now: 120, deadlineMs: 1000 });
    expect(twice.snapshot.value).toBe('draining');
    expect(twice.snapshot.context.drainDeadlineAt).toBe(150);
  });
});

describe('supervisor machine: what it records', () => {
  it('records when draining started and when it stopped', () => {
    const { snapshot } = run(shutdown, { type: 'supervisor.tick', now: 170 });
    expect(snapshot.context).toEqual({ drainStartedAt: 100, drainDeadlineAt: 150, stoppedAt: 170 });
  });

  it('starts accepting with nothing recorded', () => {
    expect(run().snapshot.context).toEqual({ drainStartedAt: null, drainDeadlineAt: null, stoppedAt: null });
  });

  it('ignores ticks while accepting: there is no drain deadline yet', () => {
    const { snapshot, actions } = run({ type: 'supervisor.tick', now: 1e12 });
    expect(snapshot.value).toBe('accepting');
    expect(actions).toEqual([]);
  });

  it('a restored draining supervisor without a drain deadline waits for idle', () => {
    const restored = supervisorMachine.resolveState({
      value: 'draining',
      context: { drainStartedAt: 100, drainDeadlineAt: null, stoppedAt: null },
    });
    const [after] = transition(supervisorMachine, restored, { type: 'supervisor.tick', now: 1e12 });
    expect(after.value).toBe('draining');
  });

  it('ignores everything once stopped', () => {
    const stopped = run(shutdown, { type: 'supervisor.idle', now: 120 }).snapshot;
    for (const event of [
      { type: 'supervisor.tick', now: 999 },
      { type: 'supervisor.idle', now: 999 },
      { type: 'supervisor.shutdown', now: 999, deadlineMs: 1 },
    ] as SupervisorMachineEvent[]) {
      const [after, actions] = transition(supervisorMachine, stopped, event);
      expect(after.value).toBe('stopped');
      expect(after.context.stoppedAt).toBe(120);
      expect(actions).toEqual([]);
    }
  });

  it('stopping runs its effects once, in order: record, then notify', () => {
    const { actions } = run(shutdown, { type: 'supervisor.idle', now: 120 });
    expect(actions.filter((a) => a === 'notifyStopped')).toHaveLength(1);
    expect(actions.indexOf('notifyStopped')).toBeGreaterThan(actions.indexOf('notifyDraining'));
  });
});
