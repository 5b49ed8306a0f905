/**
 * The owners index of the MCP front's sessions: who started each live session this process's front
 * submitted, so the `sessions` tool, `cancel_session` and the session resources tell a caller's own
 * sessions from the others' without building a summary for each (`scope.ts`).
 *
 * An entry lives from the submit to the session's end; a session not in it (ended, started through
 * another instance of a cluster, or pushed out) is looked up in the runtime, whose summary names
 * its owner (`SessionSummary.owner`) on every instance: an entry saves that summary, it decides
 * nothing the summary would not. Bounded (`maxEntries`): past it the owner holding the most gives
 * its own oldest entry, so one caller's burst pushes out its own entries, not another's. Until
 * 2026-12-07 entries stayed after their session ended and one list served every caller: 20,000
 * calls of one client pushed out every other client's entries.
 *
 * It also sees when a second caller's sessions are in flight beside another's: `several` is told
 * then (`callerShareWatch`, which warns once when the runtime gives its callers no share).
 */
import type { Runtime } from '../runtime/types.js';
import { callerShareWatch } from './caller-shares.js';

const OWNERS = new WeakMap<object, SessionOwners>();

/**
 * The owners index of one runtime's sessions: the same for every MCP context on that runtime and
 * for `withSession`, so a host tool's session shows to the caller that started it, as a `chat`
 * session does.
 */
export function sessionOwnersOf(
  runtime: Pick<Runtime, 'status'> & { session(id: string): { readonly owner?: string } | undefined },
): SessionOwners {
  let owners = OWNERS.get(runtime);
  if (owners === undefined) {
    owners = new SessionOwners(undefined, (id) => runtime.session(id)?.owner, callerShareWatch(runtime));
    OWNERS.set(runtime, owners);
  }
  return owners;
}

export class SessionOwners {
  /** Session id -> owner. */
  readonly #owners = new Map<string, string>();
  /** Owner -> its session ids, oldest first. */
  readonly #held = new Map<string, Set<string>>();
  /** The owners holding each count of entries (1 and more), in the order they came to hold it. */
  readonly #atCount: (Set<string> | undefined)[] = [];
  #most = 0;
  readonly #maxEntries: number;
  readonly #elsewhere: (sessionId: string) => string | undefined;
  readonly #several: (callers: Iterable<string>) => void;

  /**
   * @param maxEntries @default 20000 (more than the default queue and running sessions together,
   *   10,000 and 64: an entry is held only while its session lives)
   * @param elsewhere the owner of a session not recorded here (the runtime's summary)
   * @param several told, with the owners holding entries, each time a second one comes to hold any
   */
  constructor(
    maxEntries = 20_000,
    elsewhere: (sessionId: string) => string | undefined = () => undefined,
    several: (callers: Iterable<string>) => void = () => {},
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`Expected \`maxEntries\` to be a positive integer, got ${String(maxEntries)}`);
    this.#maxEntries = maxEntries;
    this.#elsewhere = elsewhere;
    this.#several = several;
  }

  /** Records `owner` for the session; with `ended` (its result), the entry goes once that settles. */
  record(sessionId: string, owner: string, ended?: PromiseLike<unknown>): void {
    // `local` is not kept: `canSee` lets `local` and admins see everything and nobody else see
    // `local`'s work, exactly as for a session with no recorded owner. A stdio process (every
    // call `local`) so holds no entry per session.
    if (owner === 'local') return;
    this.forget(sessionId);
    if (this.#owners.size >= this.#maxEntries) this.#makeRoom(owner);
    this.#owners.set(sessionId, owner);
    let held = this.#held.get(owner);
    if (held === undefined) {
      held = new Set();
      this.#held.set(owner, held);
      if (this.#held.size === 2) this.#several(this.#held.keys());
    }
    held.add(sessionId);
    this.#recount(owner, held.size - 1, held.size);
    ended?.then(
      () => this.forget(sessionId),
      () => this.forget(sessionId),
    );
  }

  /** Drops the session's entry (its end): its summary names its owner from then on. */
  forget(sessionId: string): void {
    const owner = this.#owners.get(sessionId);
    if (owner === undefined) return;
    this.#owners.delete(sessionId);
    const held = this.#held.get(owner) as Set<string>;
    held.delete(sessionId);
    if (held.size === 0) this.#held.delete(owner);
    this.#recount(owner, held.size + 1, held.size);
  }

  ownerOf(sessionId: string): string | undefined {
    return this.#owners.get(sessionId) ?? this.#elsewhere(sessionId);
  }

  get size(): number {
    return this.#owners.size;
  }

  /** How many owners hold entries. */
  get holders(): number {
    return this.#held.size;
  }

  /**
   * The oldest entry of the owner holding the most goes: the new entry's own owner's when it is
   * among them, else that of the one that came to hold that many first.
   */
  #makeRoom(owner: string): void {
    const most = this.#atCount[this.#most] as Set<string>;
    const giving = most.has(owner) ? owner : (most.values().next().value as string);
    this.forget((this.#held.get(giving) as Set<string>).values().next().value as string);
  }

  /** Moves `owner` from holding `from` entries to holding `to` (one more or one fewer). */
  #recount(owner: string, from: number, to: number): void {
    const left = this.#atCount[from];
    left?.delete(owner);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: memory only; the owners at 0 are never read (room is made only with entries held, so the most is 1 or more).
    if (to > 0) {
      let at = this.#atCount[to];
      if (at === undefined) {
        at = new Set();
        this.#atCount[to] = at;
      }
      at.add(owner);
    }
    // Stryker disable next-line EqualityOperator: at `to === most` the most stays what it is either way.
    if (to > this.#most) this.#most = to;
    // One fewer from the most: it was held there (the most is 1 or more), so `left` is that set.
    else if (from === this.#most && (left as Set<string>).size === 0) this.#most = to;
  }
}
