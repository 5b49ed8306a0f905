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
