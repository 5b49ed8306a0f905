/**
 * The cost ledger port: what each caller's ended sessions cost, by currency, for the `sessions`
 * tool's `cost_total` (`scope.ts`, `visibleCost`), in this process (`MemoryCostLedger`,
 * src/mcp/cost-ledger.ts) or in Redis (`RedisCostLedger`, src/scale), where every instance of a
 * cluster charges and reads the same totals. The MCP front charges it from the runtime's
 * `session.ended` events (`owner-costs.ts`), and on a cluster every instance hears every end.
 *
 * The contract both ledgers follow (tests/unit/mcp/cost-ledger-contract.ts runs both):
 * 1. a session is charged once, by its id: a second charge of the same id adds nothing (ids are
 *    remembered for `markTtlMs` on Redis, the latest `maxMarks` in memory: every instance hears
 *    an end within moments of the others);
 * 2. an owner reads the sum of its charges by currency, rounded to the billionth (as `prices.ts`
 *    rounds a session's cost), `{}` for an owner charged nothing or forgotten;
 * 3. a pinned owner (a named token: a set the operator configured) is never forgotten; of the
 *    others at most `maxOwners` are held, and a charge to one more forgets the one charged least
 *    recently, which then reads `{}` (its callers are as many as clients open: MCP sessions, an
 *    embedding server's users);
 * 4. the total is the sum of every charge by currency (once per session, rule 1), whoever its owner,
 *    forgotten ones and charges with no owner included: what the admin reads; it is never forgotten
 *    (one amount per currency the prices name).
 */

/** One ended session's cost, for its owner. */
export interface CostCharge {
  readonly sessionId: string;
  /**
   * The session's `metadata.owner`: the caller's scope key (`caller.ts`). Absent: counted in the
   * total alone (stdio's one client `local`, or a session submitted with no owner).
   */
  readonly owner?: string;
  readonly currency: string;
  readonly amount: number;
  /** Never forgotten, nor counted in `maxOwners` (named tokens). @default false */
  readonly pinned?: boolean;
}

/** The port every cost ledger implements. */
export interface CostLedger {
  /** Adds one ended session's cost to its owner's, once per session id (rule 1). */
  charge(charge: CostCharge): Promise<void>;
  /** What `owner`'s charged sessions cost, by currency (rule 2); a fresh object. */
  of(owner: string): Promise<Record<string, number>>;
  /** What every charged session cost, by currency (rule 4); a fresh object. */
  total(): Promise<Record<string, number>>;
  /** Releases what the ledger opened (a connection it made); the totals stay where they are kept. */
  close(): Promise<void>;
}

export interface CostLedgerOptions {
  /** Most owners held that are not pinned; the least recently charged is forgotten past it. @default 10000 */
  readonly maxOwners?: number;
}

export const DEFAULT_MAX_COST_OWNERS = 10_000;

/** `maxOwners`, checked: a positive integer. */
export function maxCostOwners(options: CostLedgerOptions): number {
  return positiveOption('maxOwners', options.maxOwners, DEFAULT_MAX_COST_OWNERS);
}

/** A ledger's numeric option, or `fallback` when unset: a positive integer, else a `RangeError` naming it. */
export function positiveOption(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1)
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(chosen)}`);
  return chosen;
}

/** The amounts as an owner reads them (rule 2): numbers, to the billionth, as a session's cost is rounded. */
export function roundedAmounts(held: Readonly<Record<string, number | string>>): Record<string, number> {
  const amounts: Record<string, number> = {};
  for (const [currency, amount] of Object.entries(held))
    amounts[currency] = Math.round(Number(amount) * 1e9) / 1e9;
  return amounts;
}
