/**
 * The supervisor actor: the runtime's lifecycle (`accepting → draining → stopped`), its drain
 * deadline and its shutdown report. The runtime tells it when sessions end; it tells the runtime
 * when to cancel what is left.
 */
import { createActor } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.js';
import { type Clock, MAX_TIMER_MS } from '../core/clock.js';
import { describe, runtimeError } from '../core/errors.js';
import type { RuntimeStatus, ShutdownReport, SupervisorEvent } from './types.js';

export interface LifecycleHooks {
  readonly clock: Clock;
  broadcast(event: SupervisorEvent): void;
  liveCount(): number;
  /**
   * Cancels (or hands back) every live session at the drain deadline: either returns the cancelled
   * ids, or returns nothing and calls `done` with them after its last slice (`forEachInSlices`).
   */
  cancelRemaining(done: (cancelled: string[]) => void): string[] | undefined;
  /** Draining began: a shared backend stops taking work here. */
  draining?(): void;
  /**
   * The supervisor stopped: release timers and connections. A promise delays the report (and
   * `supervisor.stopped`) until it settles; its failure goes to `onError`.
   */
  stopped(): void | Promise<void>;
  readonly onError?: (error: unknown) => void;
}

export class Lifecycle {
  private readonly actor;
  private report: Promise<ShutdownReport> | undefined;
  private resolveReport: (report: ShutdownReport) => void = () => {};
  private drainTimer: unknown;
  /** Sessions that ended while draining, before the drain deadline's cancellations began. */
  private finishedWhileDraining = 0;
  /** Sessions that ended once the cancellations began: the cancelled ones, and any that beat them. */
  private endedAfterDeadline = 0;
  private deadlinePassed = false;
  private cancelled: string[] = [];
  /** The drain deadline's cancellations are still running, slice by slice. */
  private cancelling = false;
  /** The supervisor machine reached `stopped`; the report waits for `cancelling` to end. */
  private machineStopped = false;

  constructor(private readonly hooks: LifecycleHooks) {
    const { clock } = hooks;
    this.actor = createActor(
      supervisorMachine.provide({
        actions: {
          notifyDraining: ({ context }) => {
            hooks.broadcast({
              type: 'supervisor.draining',
              at: clock.now(),
              deadlineAt: context.drainDeadlineAt ?? clock.now(),
            });
            hooks.draining?.();
          },
          cancelRemaining: () => {
            this.deadlinePassed = true;
            this.cancelling = true;
            const cancelled = hooks.cancelRemaining((ids) => {
              this.cancelled = ids;
              this.cancelling = false;
              if (this.machineStopped) this.stop();
            });
            if (cancelled !== undefined) {
              this.cancelled = cancelled;
              this.cancelling = false;
            }
          },
          notifyStopped: () => {
            // Stryker disable next-line ConditionalExpression: clearing no timer (`undefined`) does nothing.
            if (this.drainTimer !== undefined) clock.clearTimeout(this.drainTimer);
            this.machineStopped = true;
            if (!this.cancelling) this.stop();
          },
        },
      }),
    ).start();
  }

  private stop(): void {
    const hooks = this.hooks;
    const after = hooks.stopped();
    if (after === undefined) this.finishReport();
    else
      after.then(
        () => this.finishReport(),
        (error: unknown) => {
          hooks.onError?.(error);
          this.finishReport();
        },
      );
  }

  private finishReport(): void {
    const { clock } = this.hooks;
    this.hooks.broadcast({ type: 'supervisor.stopped', at: clock.now(), cancelled: this.cancelled });
    // `finished` counts only sessions that ended on their own: every cancelled one also ended.
    const beatTheCancel = Math.max(0, this.endedAfterDeadline - this.cancelled.length);
    this.resolveReport({ finished: this.finishedWhileDraining + beatTheCancel, cancelled: this.cancelled });
  }

  /** `draining` while the deadline's cancellations run in slices: those sessions are still live. */
  get state(): RuntimeStatus['state'] {
    const state = this.actor.getSnapshot().value as RuntimeStatus['state'];
    // Stryker disable next-line ConditionalExpression: `cancelling` begins on the transition to `stopped`; before it the state is `draining` anyway.
    return state === 'stopped' && this.cancelling ? 'draining' : state;
  }

  /** A session ended; the last one to end while draining stops the supervisor. */
  sessionEnded(): void {
    if (this.state !== 'draining') return;
    if (this.deadlinePassed) this.endedAfterDeadline++;
    else this.finishedWhileDraining++;
    this.workEnded();
  }

  /** Work that is not counted as a finished session ended (a session run here for another instance). */
  workEnded(): void {
    // Stryker disable next-line ConditionalExpression: the machine takes `supervisor.idle` only in `draining`; the check spares a liveCount.
    if (this.actor.getSnapshot().value === 'draining' && this.hooks.liveCount() === 0)
      this.actor.send({ type: 'supervisor.idle', now: this.hooks.clock.now() });
  }

  shutdown(deadlineMs: number): Promise<ShutdownReport> {
    // Until 2026-12-04 taken as given: `NaN` never cancelled what was left, and `Infinity` or
    // `'100'` re-armed a 1 ms timer for ever, with a TimeoutOverflowWarning each (library audit).
    if (typeof deadlineMs !== 'number' || Number.isNaN(deadlineMs) || deadlineMs < 0) {
      return Promise.reject(
        runtimeError(
          'INVALID_REQUEST',
          `Expected shutdown's \`deadlineMs\` to be a number of ms from 0 up (Infinity: no deadline), got ${describe(deadlineMs)}`,
        ),
      );
    }
    if (this.report !== undefined) return this.report;
    this.report = new Promise<ShutdownReport>((resolve) => {
      this.resolveReport = resolve;
    });
    const { clock } = this.hooks;
    const now = clock.now();
    this.actor.send({ type: 'supervisor.shutdown', now, deadlineMs });
    if (this.hooks.liveCount() === 0) this.actor.send({ type: 'supervisor.idle', now });
    else if (deadlineMs !== Number.POSITIVE_INFINITY) this.armDrainTimer(now + deadlineMs);
    return this.report;
  }

  /**
   * Ticks the supervisor at the drain deadline. A timer may fire before the clock reads its time
   * (Node's timers keep their own, coarser time than `Date.now()`): the machine's guard then finds
   * the deadline not passed, and without a new timer the drain waited for every session to end on
   * its own, for ever for one that never does. So it is set again for what is left.
   */
  private armDrainTimer(deadlineAt: number): void {
    const { clock } = this.hooks;
    // Node fires a timer longer than `MAX_TIMER_MS` at once: a far deadline is reached in steps.
    this.drainTimer = clock.setTimeout(
      () => {
        const now = clock.now();
        if (now < deadlineAt) this.armDrainTimer(deadlineAt);
        else this.actor.send({ type: 'supervisor.tick', now });
      },
      Math.min(deadlineAt - clock.now(), MAX_TIMER_MS),
    );
  }
}
