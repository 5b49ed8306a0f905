/**
 * BullMQ's Worker, its lock renewal kept for a job while any lease of it is under way here. BullMQ
 * renews the locks of the jobs it tracks by job id, and the end of one processing of a job stops
 * the renewal of any other of the same job. A job leased back here while the run of its earlier
 * lease still let go (one stopped for a lost lease waits for it: `LeaseRunner.take`) then ran with
 * its lock unrenewed: the lock lapsed a lock's life later, a stalled check moved the job and a lease
 * took it again while the session still ran here (until 2026-12-07:
 * `tests/scale/lost-lease-waits.test.ts`). The end of a processing whose job another lease here
 * still processes now leaves its renewal on, under that lease's token (the last one tracked).
 */
import { type Processor, Worker, type WorkerOptions } from 'bullmq';
import type { QueuedSession } from '../runtime/ports.js';

export class LeaseWorker extends Worker<QueuedSession> {
  constructor(
    name: string,
    processor: Processor<QueuedSession>,
    opts: WorkerOptions,
    /** Whether a lease of job `id` is still being processed here (`Relocks.holds`). */
    running: (id: string) => boolean,
  ) {
    super(name, processor, opts);
    const locks = this.lockManager;
    const untrack = locks.untrackJob.bind(locks);
    locks.untrackJob = (id) => {
      if (!running(id)) untrack(id);
    };
  }
}
