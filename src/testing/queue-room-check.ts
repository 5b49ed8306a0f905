/**
 * The `queuedBytes` invariant of the runtime model: the request bytes the runtime holds for its
 * queue (`status().queuedBytes`) are, at every step, the sum of the sizes of the sessions queued
 * then, each measured here independently of the runtime (`JSON.stringify` of the request its
 * provider gets, in UTF-8), and never past `status().maxQueuedBytes`. A release forgotten on one
 * way out of the queue, or made twice, breaks it at the next step.
 */
import type { Runtime, SessionRequest } from '../runtime/types.js';
import type { Violation } from './invariants.js';

export class QueuedBytesCheck {
  private readonly sizes = new Map<string, number>();
  readonly violations: Violation[] = [];

  /** A request the runtime accepted: its size as its provider gets it (no `provider`, `stream`). */
  submitted(id: string, request: SessionRequest): void {
    this.sizes.set(id, sizeOf(request));
  }

  /** Whether the runtime must refuse a request outright: larger than the whole queue's bound. */
  tooLarge(runtime: Runtime, request: SessionRequest): boolean {
    return sizeOf(request) > runtime.status({ recent: 0 }).maxQueuedBytes;
  }

  /** Compares what the runtime holds with the sum over the sessions queued now. */
  check(runtime: Runtime): void {
    const status = runtime.status({ recent: 0 });
    let expected = 0;
    const queued: string[] = [];
    for (const session of runtime.sessions({ limit: Number.MAX_SAFE_INTEGER })) {
      if (session.state !== 'queued') continue;
      expected += this.sizes.get(session.sessionId) ?? 0;
      queued.push(session.sessionId);
    }
    if (status.queuedBytes !== expected || status.queuedBytes > status.maxQueuedBytes) {
      this.violations.push({
        invariant: 'queuedBytes',
        detail: `Expected ${expected} bytes held for the ${queued.length} queued sessions (at most ${status.maxQueuedBytes}), got ${status.queuedBytes}`,
      });
    }
  }
}

function sizeOf(request: SessionRequest): number {
  const { provider: _provider, stream: _stream, ...sent } = request;
  return Buffer.byteLength(JSON.stringify(sent));
}
