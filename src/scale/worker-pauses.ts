/**
 * When this instance's BullMQ Workers fetch (`SessionQueue.pauseLeasing` / `resumeLeasing` of
 * `bull-queue.ts`): an instance at `limits.maxConcurrent` pauses every Worker; with room again one
 * provider's Worker resumes, and with several the one whose queue's head one process would run
 * next resumes first (`first-fetch.ts`), the others once it has leased or after
 * `FIRST_FETCH_GRACE_MS`. Pauses reach the Workers only between `start` and `stop` (leasing).
 */
import type { Worker } from 'bullmq';
import type { Clock } from '../core/clock.js';
import { FIRST_FETCH_GRACE_MS } from './first-fetch.js';

export class WorkerPauses {
  /** Between `start()` and `stop()`: only then do pauses reach the Workers. */
  private leasing = false;
  private paused = false;
  /** Counts pauses and resumes: a resume's later steps act only if nothing came between. */
  private resumes = 0;
  /** The timer that resumes the Workers not chosen to fetch first, and the resume it belongs to. */
  private rest: { readonly resume: number; readonly timer: unknown } | null = null;

  constructor(
    /** The Workers, one per provider, in the order `chooseFirst` indexes them. */
    private readonly workers: readonly Worker[],
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    /** The index of the Worker to resume first (`first-fetch.ts`), or -1 for all at once. */
    private readonly chooseFirst: () => Promise<number>,
  ) {}

  /** Leasing begins: pauses and resumes reach the Workers from now on. */
  start(): void {
    this.leasing = true;
  }

  // Each Worker stops fetching (`pause(true)`: without waiting for its jobs, which go on). One
  // blocked in a fetch may still get a job: the runner hands it back (`LeaseRunner.take`).
  pause(): void {
    if (!this.leasing || this.paused) return;
    this.paused = true;
    this.resumes++;
    this.clearRest();
    for (const worker of this.workers) worker.pause(true).catch(this.onError);
  }

  /**
   * Room again after a pause. With one provider its Worker resumes; with several, the one whose
   * queue's head one process would run next resumes first and the others once it has leased, or
   * after `FIRST_FETCH_GRACE_MS` (`first-fetch.ts`); if Redis cannot say which, all at once.
   */
  resume(): void {
    if (!this.leasing || !this.paused) return;
    this.paused = false;
    const resume = ++this.resumes;
    if (this.workers.length === 1) {
      this.resumeAll();
      return;
    }
    this.chooseFirst().then(
      (first) => {
        if (resume !== this.resumes) return;
        const worker = this.workers[first];
        if (worker === undefined) {
          this.resumeAll();
          return;
        }
        this.rest = {
          resume,
          timer: this.clock.setTimeout(() => this.resumeRest(resume), FIRST_FETCH_GRACE_MS),
        };
        void worker.resume();
      },
      (error: unknown) => {
        this.onError(error);
        if (resume === this.resumes) this.resumeAll();
      },
    );
  }

  /** A Worker leased: the Worker chosen to fetch first has, and the others may fetch for any room left. */
  leased(): void {
    if (this.rest !== null) this.resumeAll();
  }

  /** Leasing ends: a resume whose choice is still on its way, or whose grace is running, must not wake a Worker. */
  stop(): void {
    this.leasing = false;
    this.resumes++;
    this.clearRest();
  }

  /** The Workers held back for the first fetch go on, if no pause came since `resume`. */
  private resumeRest(resume: number): void {
    if (this.rest?.resume === resume) this.resumeAll();
  }

  private resumeAll(): void {
    this.clearRest();
    // `resume` reports its own failures as the Worker's 'error' event; a running Worker ignores it.
    for (const worker of this.workers) void worker.resume();
  }

  private clearRest(): void {
    if (this.rest !== null) this.clock.clearTimeout(this.rest.timer);
    this.rest = null;
  }
}
