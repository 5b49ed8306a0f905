/**
 * One instance's view of an in-memory cluster's shared queue (`queue.ts`): its `SessionQueue` and
 * `SharedLimits` ports, leasing with the per-provider concurrency a BullMQ Worker would have.
 */
import type { Held, Lease, QueuedSession, SessionQueue, SharedLimits } from '../ports.js';
import type { MemoryQueueCore } from './queue.js';

/** One instance's `SessionQueue` and `SharedLimits` over the cluster's shared queue. */
export class MemorySessionQueue implements SessionQueue, SharedLimits {
  private leasing: ReturnType<MemoryQueueCore['lease']> | null = null;

  constructor(
    private readonly core: MemoryQueueCore,
    private readonly limits: {
      readonly perProvider: Readonly<Record<string, number>>;
      readonly maxConcurrent: number;
      readonly fairnessEvery: number;
    },
    private readonly onError: (error: unknown) => void,
  ) {
    // At once, not in `apply()`: a session submitted before `ready` makes its provider's lane.
    core.configure(limits.perProvider, limits.fairnessEvery);
  }

  apply(): Promise<void> {
    this.core.configure(this.limits.perProvider, this.limits.fairnessEvery);
    return Promise.resolve();
  }

  add(session: QueuedSession): Promise<void> {
    this.core.add(session);
    return Promise.resolve();
  }

  withdraw(provider: string, sessionId: string): Promise<QueuedSession | undefined> {
    return Promise.resolve(this.core.withdraw(provider, sessionId));
  }

  waiting(provider: string, sessionId: string): Promise<boolean> {
    return Promise.resolve(this.core.has(provider, sessionId));
  }

  overdue(now: number, limit: number): Promise<{ readonly provider: string; readonly sessionId: string }[]> {
    return Promise.resolve(this.core.overdue(now, limit));
  }

  clearDeadline(provider: string, sessionId: string, until?: number): Promise<void> {
    const member = `${provider}|${sessionId}`;
    if (until === undefined) this.core.deadlines.delete(member);
    else if (this.core.deadlines.has(member)) this.core.deadlines.set(member, until);
    return Promise.resolve();
  }

  wake(provider: string, sessionId: string): void {
    this.core.promote(provider, sessionId);
  }

  wakeCaller(caller: string): void {
    this.leasing?.wakeCaller(caller);
  }

  lease(run: (lease: Lease) => Promise<Held | undefined>): void {
    if (this.leasing !== null) return;
    const { perProvider, maxConcurrent } = this.limits;
    // As a BullMQ Worker per provider: its concurrency is the provider's limit, at most `maxConcurrent`.
    const capacity = (provider: string) => Math.min(perProvider[provider] ?? maxConcurrent, maxConcurrent);
    this.leasing = this.core.lease(run, capacity, this.onError);
  }

  pauseLeasing(): void {
    this.leasing?.pause(true);
  }

  resumeLeasing(): void {
    this.leasing?.pause(false);
  }

  stopLeasing(): Promise<void> {
    return this.leasing === null ? Promise.resolve() : this.leasing.stop();
  }

  close(): Promise<void> {
    return this.stopLeasing();
  }
}
