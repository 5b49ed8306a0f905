/**
 * The supervisor actor: the runtime's lifecycle (`accepting → draining → stopped`), its drain
 * deadline and its shutdown report. The runtime tells it when sessions end; it tells the runtime
 * when to cancel what is left.
 */
import { createActor } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.js';
import type { Clock } from '../core/clock.js';
import type { RuntimeStatus, ShutdownReport, SupervisorEvent } from './types.js';

export interface LifecycleHooks {
  readonly clock: Clock;
  broadcast(event: SupervisorEvent): void;
  liveCount(): number;
  /**
   * Cancels every live session (queued first), in slices that yield (`forEachInSlices`), and calls
   * `done` with the ids it cancelled after the last one.
   */
  cancelRemaining(done: (cancelled: string[]) => void): void;
  /** The supervisor stopped: release timers. */
  stopped(): void;
}

export class Lifecycle {
  private readonly actor;
  private report: Promise<ShutdownReport> | undefined;
  private resolveReport: (report: ShutdownReport) => void = () => {};
  private drainTimer: unknown;
  private finishedWhileDraining = 0;
  private cancelled: string[] = [];
  /** The drain deadline's cancellations are still running, slice by slice. */
  private cancelling = false;
  /** The supervisor machine reached `stopped`; the report waits for `cancelling` to end. */
  private machineStopped = false;
  private reported = false;

  constructor(private readonly hooks: LifecycleHooks) {
    const { clock } = hooks;
    this.actor = createActor(
      supervisorMachine.provide({
        actions: {
          notifyDraining: ({ context }) =>
            hooks.broadcast({
              type: 'supervisor.draining',
              at: clock.now(),
              deadlineAt: context.drainDeadlineAt ?? clock.now(),
            }),
          cancelRemaining: () => {
            this.cancelling = true;
            hooks.cancelRemaining((cancelled) => {
              this.cancelled = cancelled;
              this.cancelling = false;
              if (this.machineStopped) this.reportStopped();
            });
          },
          notifyStopped: () => {
            if (this.drainTimer !== undefined) clock.clearTimeout(this.drainTimer);
            this.machineStopped = true;
            if (!this.cancelling) this.reportStopped();
          },
        },
      }),
    ).start();
  }

  /** `draining` until the report is out: while the deadline's cancellations run, sessions are live. */
  get state(): RuntimeStatus['state'] {
    const state = this.actor.getSnapshot().value as RuntimeStatus['state'];
    return state === 'stopped' && !this.reported ? 'draining' : state;
  }

  /** A session ended; the last one to end while draining stops the supervisor. */
  sessionEnded(): void {
    if (this.report === undefined || this.reported) return;
    this.finishedWhileDraining++;
    if (this.hooks.liveCount() === 0 && this.actor.getSnapshot().value === 'draining')
      this.actor.send({ type: 'supervisor.idle', now: this.hooks.clock.now() });
  }

  private reportStopped(): void {
    const { clock } = this.hooks;
    this.reported = true;
    this.hooks.stopped();
    this.hooks.broadcast({ type: 'supervisor.stopped', at: clock.now(), cancelled: this.cancelled });
    this.resolveReport({ finished: this.finishedWhileDraining, cancelled: this.cancelled });
  }

  shutdown(deadlineMs: number): Promise<ShutdownReport> {
    if (this.report !== undefined) return this.report;
    this.report = new Promise<ShutdownReport>((resolve) => {
      this.resolveReport = resolve;
    });
    const { clock } = this.hooks;
    const now = clock.now();
    this.actor.send({ type: 'supervisor.shutdown', now, deadlineMs });
    if (this.hooks.liveCount() === 0) this.actor.send({ type: 'supervisor.idle', now });
    else {
      this.drainTimer = clock.setTimeout(
        () => this.actor.send({ type: 'supervisor.tick', now: clock.now() }),
        deadlineMs,
      );
    }
    return this.report;
  }
}
