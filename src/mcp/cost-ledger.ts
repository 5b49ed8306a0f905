/**
 * The cost ledger in this process (the port and its rules: `src/ports/cost-ledger.ts`): the default
 * of `createMcpContext`. A charge is applied before `charge` returns, so a `sessions` call made
 * after an answer came back reads that answer's cost.
 */
import { Recent } from '../core/recent.js';
import {
  type CostCharge,
  type CostLedger,
  type CostLedgerOptions,
  maxCostOwners,
  positiveOption,
  roundedAmounts,
} from '../ports/cost-ledger.js';

export interface MemoryCostLedgerOptions extends CostLedgerOptions {
  /** How many of the latest charged session ids are remembered, so a second charge of one adds nothing. @default 10000 */
  readonly maxMarks?: number;
}

export class MemoryCostLedger implements CostLedger {
  /** Named tokens' amounts: a set the operator configured. */
  readonly #pinned = new Map<string, Record<string, number>>();
  /** Every other owner's, least recently charged first. */
  readonly #owners = new Map<string, Record<string, number>>();
  readonly #total: Record<string, number> = {};
  readonly #maxOwners: number;
  readonly #charged: Recent;

  constructor(options: MemoryCostLedgerOptions = {}) {
    this.#maxOwners = maxCostOwners(options);
    this.#charged = new Recent(positiveOption('maxMarks', options.maxMarks, 10_000));
  }

  async charge(charge: CostCharge): Promise<void> {
    if (this.#charged.has(charge.sessionId)) return;
    this.#charged.add(charge.sessionId);
    add(this.#total, charge);
    if (charge.owner === undefined) return;
    const table = charge.pinned === true ? this.#pinned : this.#owners;
    const amounts = table.get(charge.owner) ?? {};
    // Moved to the end: the most recently charged.
    table.delete(charge.owner);
    table.set(charge.owner, amounts);
    add(amounts, charge);
    if (this.#owners.size > this.#maxOwners) this.#owners.delete(this.#owners.keys().next().value as string);
  }

  async of(owner: string): Promise<Record<string, number>> {
    return roundedAmounts(this.#pinned.get(owner) ?? this.#owners.get(owner) ?? {});
  }

  async total(): Promise<Record<string, number>> {
    return roundedAmounts(this.#total);
  }

  /** How many owners are held, pinned ones included. */
  get owners(): number {
    return this.#pinned.size + this.#owners.size;
  }

  async close(): Promise<void> {}
}

function add(amounts: Record<string, number>, { currency, amount }: CostCharge): void {
  amounts[currency] = (amounts[currency] ?? 0) + amount;
}
