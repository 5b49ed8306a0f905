/**
 * The supervisor machine: the runtime's lifecycle, `accepting → draining → stopped`.
 *
 * Admission itself (priorities, limits, fairness) is the scheduler's pure policy in
 * `src/core/scheduler.ts`, which the supervisor owns and consults on every submit and every
 * session end. Running each of those as a supervisor transition would add three macrosteps to
 * every session for no gain in truth: the lifecycle is what this machine decides.
 *
 * Draining: new work is refused (`SHUTTING_DOWN`) while queued and running sessions go on. The
 * machine stops when the last session ends (`supervisor.idle`) or at the drain deadline, whichever
 * is first; at the deadline it cancels what is left (`cancelRemaining`) and reports each one.
 */
import { assign, setup } from 'xstate';

export interface SupervisorContext {
  readonly drainStartedAt: number | null;
  readonly drainDeadlineAt: number | null;
  readonly stoppedAt: number | null;
}

export type SupervisorMachineEvent =
  | { readonly type: 'supervisor.shutdown'; readonly now: number; readonly deadlineMs: number }
  | { readonly type: 'supervisor.idle'; readonly now: number }
  | { readonly type: 'supervisor.tick'; readonly now: number };

export const supervisorMachine = setup({
  // Stryker disable next-line ObjectLiteral: type-only; setup() does nothing with it at runtime.
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorMachineEvent,
  },
  actions: {
    // Provided by the runtime.
    notifyDraining: () => {},
    cancelRemaining: () => {},
    notifyStopped: () => {},
    recordStop: assign({ stoppedAt: ({ event }) => event.now }),
  },
  guards: {
    drainDeadlinePassed: ({ context, event }) =>
      context.drainDeadlineAt !== null && event.now >= context.drainDeadlineAt,
  },
}).createMachine({
  id: 'supervisor',
  initial: 'accepting',
  context: { drainStartedAt: null, drainDeadlineAt: null, stoppedAt: null },
  states: {
    accepting: {
      on: {
        'supervisor.shutdown': {
          target: 'draining',
          actions: assign({
            drainStartedAt: ({ event }) => event.now,
            drainDeadlineAt: ({ event }) => event.now + event.deadlineMs,
          }),
        },
      },
    },
    draining: {
      entry: 'notifyDraining',
      on: {
        'supervisor.idle': { target: 'stopped' },
        'supervisor.tick': { guard: 'drainDeadlinePassed', target: 'stopped', actions: 'cancelRemaining' },
      },
    },
    stopped: { type: 'final', entry: ['recordStop', 'notifyStopped'] },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
