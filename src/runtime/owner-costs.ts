/**
 * What each caller's ended sessions cost, by currency, for the callers `kept` takes: the MCP front
 * keeps its named tokens' (a set the operator configured), so the table never grows with what
 * clients open (MCP sessions, users). Counted from the runtime's `session.ended` events, one per
 * session, at the model's price as `metrics().cost` is (sessions without a price or usage add
 * nothing), since this was made. On a cluster those are every end this instance hears, wherever
 * the session ran.
 */
import { ownerIn } from '../core/metadata.js';
import { round } from '../providers/prices.js';
import type { Runtime } from './types.js';

export class OwnerCosts {
  /** By owner (`metadata.owner`): amounts by currency. */
  private readonly costs = new Map<string, Record<string, number>>();
  private readonly unsubscribe: () => void;

  constructor(runtime: Pick<Runtime, 'subscribe'>, kept: (owner: string) => boolean) {
    this.unsubscribe = runtime.subscribe((event) => {
      if (event.type !== 'session.ended') return;
      const { cost, caller } = event.result.metadata;
      const owner = ownerIn(caller);
      if (cost === undefined || owner === undefined || !kept(owner)) return;
      let amounts = this.costs.get(owner);
      if (amounts === undefined) {
        amounts = {};
        this.costs.set(owner, amounts);
      }
      amounts[cost.currency] = round((amounts[cost.currency] ?? 0) + cost.amount);
    });
  }

  /** What `owner`'s ended sessions cost, by currency; `{}` for none, or an owner not kept. */
  of(owner: string): Record<string, number> {
    return { ...this.costs.get(owner) };
  }

  /** How many owners have a cost kept. */
  get owners(): number {
    return this.costs.size;
  }

  close(): void {
    this.unsubscribe();
  }
}
