/**
 * The queue's bounds in the runtime model (`queuedBytes`, `queueRoom`), each figure measured here
 * independently of the runtime:
 *
 * - the request bytes the runtime holds for its queue (`status().queuedBytes`) are, at every step,
 *   the sum of the sizes of the sessions queued then (`JSON.stringify` of the request its provider
 *   gets, in UTF-8), and never past `status().maxQueuedBytes`. A release forgotten on one way out
 *   of the queue, or made twice, breaks it at the next step;
 * - no caller (`metadata.owner`) has more sessions queued than `status().maxQueuedPerCaller`, bar
 *   children taken past the counts (below);
 *   a caller's queued bytes past `status().maxQueuedBytesPerCaller` justify a refusal (below);
 * - a submission is refused with `QUEUE_FULL` only when something was full as it came: the queue
 *   (`maxQueued`), its bytes, or its caller's share (of the sessions, or of the bytes). A share counted for the wrong caller, or never
 *   given back, refuses a submission nothing justified. A child whose parent runs, lends its slot to
 *   no one and has no other child waiting waits past the counts (`maxQueued`, `maxQueuedPerCaller`),
 *   not past the bytes (docs/runtime.md, "A session within a session"): refused only for its bytes.
 */
import type { Runtime, SessionRequest } from '../runtime/types.js';
import type { Violation } from './invariants.js';

export class QueueRoomCheck {
  private readonly sizes = new Map<string, number>();
  private readonly owners = new Map<string, string>();
  readonly violations: Violation[] = [];

  /** Children accepted past the queue's counts (their running parent's slot takes them at once). */
  private readonly past = new Set<string>();

  /**
   * A request the runtime accepted: its size as its provider gets it (no `provider`, `stream`), its
   * caller, and whether it came past the queue's counts (a child its running parent's slot takes).
   */
  submitted(id: string, request: SessionRequest, owner?: string, pastCounts = false): void {
    this.sizes.set(id, sizeOf(request));
    if (owner !== undefined) this.owners.set(id, owner);
    if (pastCounts) this.past.add(id);
  }

  /** Whether the runtime must refuse a request outright: larger than the whole queue's bound. */
  tooLarge(runtime: Runtime, request: SessionRequest): boolean {
    return sizeOf(request) > runtime.status({ recent: 0 }).maxQueuedBytes;
  }

  /**
   * Why a `QUEUE_FULL` for this request would be right now, or `undefined` when nothing is full:
   * asked before submitting it, on the in-memory runtime (whose queue is all in view).
   */
  fullFor(runtime: Runtime, request: SessionRequest, owner?: string, pastCounts = false): string | undefined {
    const status = runtime.status({ recent: 0 });
    if (!pastCounts && status.queued >= status.maxQueued) return 'maxQueued';
    if (status.queuedBytes + sizeOf(request) > status.maxQueuedBytes) return 'maxQueuedBytes';
    if (owner === undefined) return undefined;
    const queued = this.queuedNow(runtime);
    if (!pastCounts && (queued.byCaller.get(owner) ?? 0) >= status.maxQueuedPerCaller)
      return 'maxQueuedPerCaller';
    // Its share of the bytes holds only while it has some waiting: alone, it may send one larger.
    const mine = queued.bytesByCaller.get(owner);
    if (mine !== undefined && mine + sizeOf(request) > status.maxQueuedBytesPerCaller)
      return 'maxQueuedBytesPerCaller';
    return undefined;
  }

  /** A `QUEUE_FULL` that `fullFor` (asked just before) found nothing to justify. */
  refusedWithRoom(request: SessionRequest, owner: string | undefined, message: string): void {
    this.violations.push({
      invariant: 'queueRoom',
      detail: `Expected room for a ${sizeOf(request)}-byte request of ${owner ?? 'no caller'}: the queue, its bytes and the caller's share all had room; got QUEUE_FULL (${message})`,
    });
  }

  /** Compares what the runtime holds with the sum over the sessions queued now, and each caller's count with its share. */
  check(runtime: Runtime): void {
    const status = runtime.status({ recent: 0 });
    const queued = this.queuedNow(runtime);
    if (status.queuedBytes !== queued.bytes || status.queuedBytes > status.maxQueuedBytes) {
      this.violations.push({
        invariant: 'queuedBytes',
        detail: `Expected ${queued.bytes} bytes held for the ${queued.count} queued sessions (at most ${status.maxQueuedBytes}), got ${status.queuedBytes}`,
      });
    }
    for (const [owner, count] of queued.byCaller) {
      // A child taken past the counts is counted in them, and may be one past the share.
      if (count - (queued.pastByCaller.get(owner) ?? 0) > status.maxQueuedPerCaller) {
        this.violations.push({
          invariant: 'queueRoom',
          detail: `Expected at most ${status.maxQueuedPerCaller} sessions of ${owner} queued, got ${count}`,
        });
      }
    }
  }

  /** The sessions queued now, in one pass: how many, their bytes as measured here, and how many of each caller. */
  private queuedNow(runtime: Runtime): {
    count: number;
    bytes: number;
    byCaller: Map<string, number>;
    bytesByCaller: Map<string, number>;
    pastByCaller: Map<string, number>;
  } {
    const queued = {
      count: 0,
      bytes: 0,
      byCaller: new Map<string, number>(),
      bytesByCaller: new Map<string, number>(),
      pastByCaller: new Map<string, number>(),
    };
    for (const session of runtime.sessions({ limit: Number.MAX_SAFE_INTEGER })) {
      if (session.state !== 'queued') continue;
      const size = this.sizes.get(session.sessionId) ?? 0;
      queued.count++;
      queued.bytes += size;
      const owner = this.owners.get(session.sessionId);
      if (owner === undefined) continue;
      queued.byCaller.set(owner, (queued.byCaller.get(owner) ?? 0) + 1);
      queued.bytesByCaller.set(owner, (queued.bytesByCaller.get(owner) ?? 0) + size);
      if (this.past.has(session.sessionId))
        queued.pastByCaller.set(owner, (queued.pastByCaller.get(owner) ?? 0) + 1);
    }
    return queued;
  }
}

function sizeOf(request: SessionRequest): number {
  // troupe's own fields are not sent, so not counted (`fallbacks` too, since 2026-12-07).
  const { provider: _provider, stream: _stream, fallbacks: _fallbacks, ...sent } = request;
  return Buffer.byteLength(JSON.stringify(sent));
}
