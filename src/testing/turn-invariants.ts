/**
 * `callerTurns`, `fairnessTurn` and `starvationBound` (see `invariants.ts`): the order in which one
 * provider's queue admits its sessions, from docs/runtime.md ("Callers take turns", and
 * `limits.fairnessEvery`), on a copy of the queue kept by this observer:
 *
 * - each session's depth is worked out here from the documented rule, not read from the runtime: the
 *   floor (the lowest depth of the sessions with a caller waiting at its priority, in any provider's
 *   queue; 0 when none) plus how many of its caller's sessions wait in its queue (its provider's, at
 *   its priority), or the depth its caller's latest there got if that is more, at most `MAX_DEPTH`
 *   above the floor; 0 without a caller;
 * - `callerTurns`: an admission that is not the fairness turn takes, among the sessions of its
 *   priority, the lowest depth, then the earliest arrival (priorities are `priorityOrder`'s);
 * - `fairnessTurn`: every `fairnessEvery`th admission of a provider takes its longest-waiting session;
 * - `starvationBound`: a session with k older sessions waiting ahead of it in its provider's queue
 *   when it came is admitted within (k + 1) × `fairnessEvery` admissions of that provider, plus one
 *   round of `fairnessEvery` for each fairness turn it was held alone at.
 *
 * - `providerOrder`: between providers, the same order decides (docs/runtime.md, "Callers take
 *   turns": "Between providers, when `maxConcurrent` is the bound, the same order decides"): each
 *   provider's queue offers its next session (its longest-waiting at its fairness turn, else the
 *   first by priority, depth, arrival), and an admission takes, of the providers that could start
 *   one (`laneOpen`: a slot of their own free, no window spent, no cooldown, breaker closed, by
 *   `work-invariants.ts`'s judgment), the offer of the highest priority, then the lowest depth,
 *   then the earliest arrival. So a fairness turn wins its provider's place, not a place ahead
 *   of another provider's higher priority.
 *
 * A session held alone (its caller at its `maxRunningPerCaller` share) is looked past, as the queue
 * does; a session that leaves its queue for a fallback (its provider cooling down past its queue
 * deadline) leaves out of its order and is no admission, as does a child started on the slot of a
 * running session that waits for it (`lentBy`: its lender's first waiting child it may start). The model's sessions all ask for one model,
 * so no session is held alone by its own model while another of its queue goes.
 */
import { MAX_DEPTH } from '../core/queue-room.js';
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { InvariantName, Violation } from './invariants.js';

interface Waiting {
  readonly provider: string;
  readonly priority: number;
  readonly owner: string | undefined;
  readonly depth: number;
  readonly seq: number;
  /** Sessions of its provider's queue waiting when it came (older than it, ahead at fairness turns). */
  readonly older: number;
  /** Admissions of its provider since it came (its own aside), and the fairness turns among them it was held at. */
  passed: number;
  heldTurns: number;
  reported: boolean;
}

/** Its caller's turns in one queue: how many wait there, and the depth the latest one got. */
interface Turn {
  count: number;
  depth: number;
}

export class TurnsSeen {
  readonly violations: Violation[] = [];
  /** In arrival order. */
  private readonly queued = new Map<string, Waiting>();
  private readonly turns = new Map<string, Turn>();
  private readonly admissions = new Map<string, number>();
  private seq = 0;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'session'>,
    private readonly fairnessEvery: number,
    /** Whether a waiting session is held alone now (its caller at its share): looked past. */
    private readonly heldAlone: (sessionId: string) => boolean = () => false,
    /** Whether a provider's queue could start its next session now (`providerOrder`); unchecked without. */
    private readonly laneOpen?: (provider: string, at: number) => boolean,
  ) {
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  private fail(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, detail });
  }

  private onEvent(event: RuntimeEvent): void {
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    if (event.type === 'session.queued') {
      const session = this.runtime.session(id);
      const priority = session?.priority ?? 5;
      const owner = session?.owner;
      let older = 0;
      for (const other of this.queued.values()) if (other.provider === event.provider) older++;
      const depth = this.depthOf(owner, event.provider, priority);
      this.queued.set(id, {
        provider: event.provider,
        priority,
        owner,
        depth,
        seq: this.seq++,
        older,
        passed: 0,
        heldTurns: 0,
        reported: false,
      });
      if (owner !== undefined) {
        const key = turnKey(owner, event.provider, priority);
        const turn = this.turns.get(key);
        if (turn === undefined) this.turns.set(key, { count: 1, depth });
        else {
          turn.count++;
          turn.depth = depth;
        }
      }
      return;
    }
    const waiting = this.queued.get(id);
    if (waiting === undefined) return;
    // A start on a slot a running session lends it (`lentBy`) takes it out of its queue out of order.
    if (event.type === 'session.started' && event.lentBy === undefined) {
      this.across(id, waiting, event.at);
      this.admit(id, waiting);
    }
    // Out of the queue another way: a hop out of it (no admission), a cancel, a queue timeout.
    if (
      event.type === 'session.started' ||
      event.type === 'session.fallback' ||
      event.type === 'session.ended'
    )
      this.leave(id, waiting);
  }

  /** The depth a session of `owner` joining `provider`'s queue at `priority` gets now. */
  private depthOf(owner: string | undefined, provider: string, priority: number): number {
    if (owner === undefined) return 0;
    let floor: number | undefined;
    for (const other of this.queued.values())
      if (
        other.owner !== undefined &&
        other.priority === priority &&
        (floor === undefined || other.depth < floor)
      )
        floor = other.depth;
    const base = floor ?? 0;
    const turn = this.turns.get(turnKey(owner, provider, priority));
    if (turn === undefined) return base;
    return Math.min(Math.max(base + turn.count, turn.depth), base + MAX_DEPTH);
  }

  private leave(id: string, waiting: Waiting): void {
    this.queued.delete(id);
    if (waiting.owner === undefined) return;
    const key = turnKey(waiting.owner, waiting.provider, waiting.priority);
    const turn = this.turns.get(key);
    if (turn !== undefined && --turn.count === 0) this.turns.delete(key);
  }

  /**
   * `providerOrder`: no other provider that could start one offered a session ahead of this one.
   * Each queue is walked in its order (arrival at its fairness turn), as the scheduler compares the
   * queues: a session held alone is no offer and is looked past; the first that is not held is the
   * queue's offer. (Until 2026-12-05 the scheduler looked past a held session only when it would
   * win, and this walk ended at a held session that was not ahead.)
   */
  private across(id: string, seen: Waiting, at: number): void {
    if (this.laneOpen === undefined) return;
    const queues = new Map<string, [string, Waiting][]>();
    for (const entry of this.queued) {
      if (entry[1].provider === seen.provider) continue;
      const queue = queues.get(entry[1].provider) ?? [];
      queue.push(entry);
      queues.set(entry[1].provider, queue);
    }
    for (const [provider, queue] of queues) {
      const fairTurn = ((this.admissions.get(provider) ?? 0) + 1) % this.fairnessEvery === 0;
      // `queued` is in arrival order already.
      if (!fairTurn) queue.sort(([, a], [, b]) => (ahead(a, b) ? -1 : 1));
      for (const [otherId, other] of queue) {
        if (this.heldAlone(otherId)) continue;
        if (!ahead(other, seen)) break;
        if (this.laneOpen(provider, at))
          this.fail(
            'providerOrder',
            `${id} (${seen.provider}, priority ${seen.priority}, depth ${seen.depth}) was admitted at ${at} while ${provider} could start ${otherId} (priority ${other.priority}, depth ${other.depth}, ${other.seq < seen.seq ? 'earlier' : 'later'}), its next`,
          );
        break;
      }
    }
  }

  private admit(id: string, seen: Waiting): void {
    const admission = (this.admissions.get(seen.provider) ?? 0) + 1;
    this.admissions.set(seen.provider, admission);
    const fairTurn = admission % this.fairnessEvery === 0;
    for (const [otherId, other] of this.queued) {
      if (otherId === id || other.provider !== seen.provider) continue;
      const held = this.heldAlone(otherId);
      if (!held) {
        if (fairTurn && other.seq < seen.seq)
          this.fail(
            'fairnessTurn',
            `admission ${admission} of ${seen.provider} (a fairness turn, every ${this.fairnessEvery}) took ${id} (priority ${seen.priority}), not the longest-waiting ${otherId} (priority ${other.priority})`,
          );
        else if (
          !fairTurn &&
          other.priority === seen.priority &&
          (other.depth < seen.depth || (other.depth === seen.depth && other.seq < seen.seq))
        )
          this.fail(
            'callerTurns',
            `admission ${admission} of ${seen.provider} took ${id} (${seen.owner ?? 'no caller'}, depth ${seen.depth}) before ${otherId} (${other.owner ?? 'no caller'}, depth ${other.depth}, earlier), both at priority ${seen.priority}`,
          );
      }
      other.passed++;
      if (fairTurn && held) other.heldTurns++;
      const bound = (other.older + 1 + other.heldTurns) * this.fairnessEvery;
      if (!other.reported && other.passed >= bound) {
        other.reported = true;
        this.fail(
          'starvationBound',
          `${otherId} still waits after ${other.passed} admissions of ${seen.provider}, with ${other.older} older ahead of it when it came and fairnessEvery ${this.fairnessEvery} (bound ${bound})`,
        );
      }
    }
  }
}

/** Whether `a` goes before `b`: the higher priority, then the lower depth, then the earlier arrival. */
function ahead(a: Waiting, b: Waiting): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.depth !== b.depth ? a.depth < b.depth : a.seq < b.seq;
}

function turnKey(owner: string, provider: string, priority: number): string {
  return `${provider}\n${priority}\n${owner}`;
}
