/**
 * What an instance leaves at its drain deadline (`shutdown({ unfinished })`). The sessions it runs
 * go back to the queue, for another instance to take up as a further attempt, and the callers here
 * of the sessions submitted through it get `SHUTTING_DOWN`. With `'cancel'` those callers' sessions
 * are cancelled wherever they are (queued, running here or on another instance) instead of going
 * on: their callers cannot read them from another instance (an MCP server's), and a session that
 * went on would run, and be paid for, for nobody while its caller retries elsewhere.
 */
import type { Clock } from '../core/clock.js';
import { SUBMITTER_SHUT_DOWN } from '../runtime/backend.js';
import type { SessionStore } from '../runtime/ports.js';
import type { SessionResult, ShutdownOptions } from '../runtime/types.js';
import { type CancelAtShutdown, handedOver } from './job-data.js';
import type { LeaseRunner } from './lease-runner.js';
import type { Owner } from './owner.js';

export type UnfinishedMode = NonNullable<ShutdownOptions['unfinished']>;

export interface Unfinished {
  readonly mode: UnfinishedMode;
  /** The sessions submitted through this instance that have not ended, by id. */
  readonly owners: ReadonlyMap<string, Owner>;
  readonly runner: LeaseRunner;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /**
   * Cancels a session wherever it is, tried again while Redis is away until the close gives up
   * (`Cancels.retried`); rejects when the cluster did not take it.
   */
  cancel(id: string, reason: string): Promise<void>;
  /** Ends a caller's wait here with its result. */
  end(id: string, result: SessionResult): void;
  /** Its mirror: what each session ran as the cluster shows it (`liveSession`), and its end once written. */
  readonly store: Pick<SessionStore, 'liveSession' | 'result'>;
}

/** `shutdown()`'s `unfinished`, checked: a misspelt mode would silently leave the sessions on. */
export function unfinishedMode(value: unknown): UnfinishedMode {
  if (value === undefined || value === 'leave' || value === 'cancel') return value ?? 'leave';
  throw new TypeError(
    `Expected shutdown's \`unfinished\` to be 'leave' or 'cancel', got ${JSON.stringify(value)}`,
  );
}

/**
 * Hands back what runs here, ends every caller's wait here, and (cancelling) cancels their
 * sessions. Returns what the close waits for (`closeWithin`'s `handingBack`) and the callers' ids.
 */
export function leaveUnfinished(u: Unfinished): { settling: Promise<unknown>; ids: string[] } {
  const ids = [...u.owners.keys()];
  const cancel = u.mode === 'cancel';
  // Cancelling, the callers' sessions running here stay to be cancelled here, not handed back.
  const handingBack = u.runner.handBackAll(cancel ? new Set(ids) : undefined);
  // Before the owners end: `cancel` finds a queued session's provider through its owner. Tried again
  // while Redis is away, as an end's write is, until the close gives up: tried once, a cancel lost to
  // a blip left a queued session to run for nobody. One the cluster did not take is reported, its
  // caller told so, and its run here (if any) still waited for.
  const outcomes = new Map<string, Promise<CancelAtShutdown>>();
  const ran: Promise<unknown>[] = [];
  for (const id of cancel ? ids : []) {
    const outcome = u.cancel(id, SUBMITTER_SHUT_DOWN).then(
      (): CancelAtShutdown => 'taken',
      (error: unknown): CancelAtShutdown => {
        u.onError(notCancelled(id, error));
        return 'refused';
      },
    );
    outcomes.set(id, outcome);
    ran.push(outcome.then(() => u.runner.ended(id)));
  }
  // A stream running here ends here, its text kept: its caller waits for that result, `partial` and
  // all (until 2026-12-04 it got `SHUTTING_DOWN` at once, saying the session went on elsewhere), once
  // it is written. An end Redis did not take is not the session's: the instance that takes it over
  // ends it, so its caller gets `SHUTTING_DOWN` as for any session going on in the cluster (until
  // 2026-12-04 it got the unwritten end, and both instances counted one). Cancelling, a caller is
  // told once its cancel is answered, what became of it (until 2026-12-05 "cancelled" at once).
  // Its metadata is what the session ran (until 2026-12-06 `attempts: 0`, `runMs: 0` for one that ran):
  // as the cluster showed it at the deadline, or, cancelled across the cluster, its end once written
  // (a run here stopped first), so its caller, `subscribe` and `session(id)` tell one end.
  const told: Promise<unknown>[] = [];
  for (const [id, owner] of [...u.owners]) {
    const here = u.runner.streamedHere(id);
    const outcome = outcomes.get(id);
    const shown = u.store.liveSession(id);
    const left = (taken?: CancelAtShutdown, end?: SessionResult) =>
      handedOver(owner, u.clock.now(), taken, shown, end);
    const ended = async (taken: CancelAtShutdown | undefined) =>
      taken === 'taken'
        ? u.runner.ended(id).then(() => u.store.result(id).catch((error: unknown) => void u.onError(error)))
        : undefined;
    if (here === undefined && outcome === undefined) u.end(id, left());
    else
      told.push(
        Promise.all([here, outcome]).then(async ([result, taken]) =>
          u.end(id, result ?? left(taken, await ended(taken))),
        ),
      );
  }
  return { settling: Promise.all([handingBack, ...ran, ...told]), ids };
}

/**
 * A cancel at the drain deadline the cluster did not take (its mark, its withdrawal or its
 * publication failed: Redis away or refusing): unless its mark or its end got written (a run
 * stopped here settles it), another instance may still run it, for nobody.
 */
function notCancelled(id: string, cause: unknown): Error {
  const got = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `Expected the cluster to take the cancel of session ${id} at this instance's shutdown ` +
      `(unfinished: 'cancel'), got ${got}; unless its cancel mark or its end was written, another instance may still run it ` +
      '(its caller here was told SHUTTING_DOWN)',
    { cause },
  );
}
