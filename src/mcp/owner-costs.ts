/**
 * What each caller's ended sessions cost, for the `sessions` tool's `cost_total` (`scope.ts`,
 * `visibleCost`): each priced `session.ended` the runtime tells is charged to its owner
 * (`metadata.owner`, the caller's scope key) in a cost ledger (the port, its bounds and the once
 * per session rule: `src/ports/cost-ledger.ts`), at the model's price as `metrics().cost` counts
 * it (a session without a price or usage adds nothing). Every owner is charged but `local`, the
 * one client of a stdio process, which reads the whole total; named tokens are pinned (never
 * forgotten). Every priced end, an owner's or not, adds to the total the admin reads. On a cluster
 * every instance hears every end and charges it; a shared ledger (Redis) counts it once, so every
 * instance reads the same totals, ends from before it started included.
 * Until 2026-12-05 only named tokens were kept, in a table of each instance's own, and the admin
 * read the ends its own instance had run (`metrics().cost`), on a cluster a part of the whole.
 */
import { ownerIn } from '../core/metadata.js';
import type { CostLedger } from '../ports/cost-ledger.js';
import type { Runtime } from '../runtime/types.js';
import { namedCallerKey } from './caller.js';

export class OwnerCosts {
  private readonly unsubscribe: () => void;

  /** `onError`: a charge the ledger failed (Redis away); the other instances still charge theirs. */
  constructor(
    runtime: Pick<Runtime, 'subscribe'>,
    readonly ledger: CostLedger,
    onError: (error: unknown) => void,
  ) {
    this.unsubscribe = runtime.subscribe((event) => {
      if (event.type !== 'session.ended') return;
      const { cost, caller } = event.result.metadata;
      if (cost === undefined) return;
      const owner = ownerIn(caller);
      const { currency, amount } = cost;
      const charge =
        owner === undefined || owner === 'local'
          ? { sessionId: event.sessionId, currency, amount }
          : { sessionId: event.sessionId, owner, currency, amount, pinned: namedCallerKey(owner) };
      ledger.charge(charge).catch(onError);
    });
  }

  /** What `owner`'s ended sessions cost, by currency; `{}` for none, or an owner forgotten. */
  of(owner: string): Promise<Record<string, number>> {
    return this.ledger.of(owner);
  }

  /** What every ended session cost, by currency, whoever its owner: what the admin reads. */
  total(): Promise<Record<string, number>> {
    return this.ledger.total();
  }

  /** Stops charging; the ledger stays open (its owner closes it). */
  close(): void {
    this.unsubscribe();
  }
}
