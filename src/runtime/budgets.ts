/**
 * Budgets: money a caller (and everyone together) may spend per UTC day, in one currency.
 *
 * Admission refuses a caller whose budget this instance already saw spent (`precheck`, no I/O).
 * Before each provider call the gate reserves the call's estimated cost (every estimated prompt
 * token uncached, the whole completion budget: `estimate.ts` and the model's price) on the
 * caller's and the global budget, each one atomic change of its state in the runtime's
 * `SharedState` (shared by every instance on Redis); a budget with nothing left refuses with
 * `BUDGET_EXCEEDED`, saying what was spent and when it resets. When the call ends the reservation
 * is replaced by what the usage the provider reported cost (`settle`).
 *
 * The rule: a call is let through while `spent + reserved < limit`, so a budget is never exceeded
 * by more than one call's estimate (the last one let through), as long as a call costs no more
 * than its estimate. Bounds: per instance, at most `maxCallers` callers are tracked per day (past
 * it, new callers share one budget, `(other callers)`); every state expires at the end of its day.
 */

import type { Clock } from '../core/clock.js';
import { runtimeError, TroupeError } from '../core/errors.js';
import { estimatePromptTokens } from '../providers/estimate.js';
import type { ChatRequest, TokenUsage } from '../providers/port.js';
import { costOf, estimateCost, type PriceTable, priceOf, round } from '../providers/prices.js';
import type { SharedState } from './ports.js';

export interface BudgetOptions {
  /** Most one caller (an MCP session, a named token, or `metadata.owner`) may spend per UTC day. */
  readonly perCaller?: number;
  /** Most all callers together may spend per UTC day. */
  readonly global?: number;
  /** The currency of both amounts; models priced in another currency are refused. @default 'USD' */
  readonly currency?: string;
  /** Callers tracked per day per instance; past it, new callers share one budget. @default 10000 */
  readonly maxCallers?: number;
  /** Completion tokens charged for a request without `max_tokens`. @default 4096 */
  readonly defaultCompletionTokens?: number;
}

/** One budget's day, as stored. */
export interface BudgetState {
  readonly day: string;
  readonly spent: number;
  readonly reserved: number;
}

/** A reservation the gate holds while its call is out. */
export interface Reservation {
  readonly keys: readonly string[];
  /** The UTC day it was made on: a reservation outlives its day only as spend. */
  readonly day: string;
  readonly amount: number;
  readonly provider: string;
  readonly model: string;
}

const DAY_MS = 86_400_000;
export const OTHER_CALLERS = '(other callers)';

export class Budgets {
  private readonly currency: string;
  private readonly maxCallers: number;
  private readonly completion: number;
  /** Callers seen today on this instance, with the last state seen of their budget. */
  private readonly seen = new Map<string, BudgetState>();
  private seenDay = '';

  constructor(
    private readonly options: BudgetOptions,
    private readonly prices: PriceTable | undefined,
    private readonly state: SharedState,
    private readonly clock: Clock,
  ) {
    this.currency = options.currency ?? 'USD';
    this.maxCallers = options.maxCallers ?? 10_000;
    this.completion = options.defaultCompletionTokens ?? 4096;
    for (const name of ['perCaller', 'global'] as const) {
      const v = options[name];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0))
        throw runtimeError(
          'INVALID_REQUEST',
          `Expected \`budgets.${name}\` to be a non-negative amount, got ${v}`,
        );
    }
  }

  /** At admission: refuses a caller whose budget (or the global one) this instance saw spent today. */
  precheck(owner: unknown): void {
    const day = dayOf(this.clock.now());
    const checks: [string, number | undefined][] = [
      ['global', this.options.global],
      [this.callerKey(owner, day, false), this.options.perCaller],
    ];
    for (const [key, limit] of checks) {
      const known = this.seen.get(key);
      if (
        limit !== undefined &&
        known !== undefined &&
        known.day === day &&
        known.spent + known.reserved >= limit
      )
        throw this.refusal(key, limit, known);
    }
  }

  /** Before a call: reserves its estimated cost, or the error that refuses it. */
  reserve(owner: unknown, provider: string, request: ChatRequest): Promise<Reservation | TroupeError> {
    const price = priceOf(this.prices, provider, request.model);
    if (price === undefined || price.currency !== this.currency) {
      const got = price === undefined ? 'none' : `one in ${price.currency}`;
      return Promise.resolve(
        runtimeError(
          'INVALID_REQUEST',
          `Expected a price in ${this.currency} for \`${provider}\`/\`${request.model}\` to check the budget against, got ${got}; add it under \`prices\` in the providers file (or pick a priced model)`,
        ),
      );
    }
    const completion = typeof request.max_tokens === 'number' ? request.max_tokens : this.completion;
    const amount = estimateCost(price, estimatePromptTokens(request), completion).amount;
    const day = dayOf(this.clock.now());
    const budgets: [string, number | undefined][] = [
      [this.callerKey(owner, day, true), this.options.perCaller],
      ['global', this.options.global],
    ];
    return this.reserveAll(budgets, amount, day, { keys: [], day, amount, provider, model: request.model });
  }

  /** After the call: the reservation is replaced by what the reported usage cost (nothing without usage). */
  settle(reservation: Reservation, usage: TokenUsage | undefined): Promise<void> {
    const price = priceOf(this.prices, reservation.provider, reservation.model);
    const cost = usage === undefined || price === undefined ? 0 : costOf(price, usage).amount;
    const day = dayOf(this.clock.now());
    return Promise.all(
      reservation.keys.map((key) =>
        this.change(key, day, (s) => ({
          day: s.day,
          spent: round(s.spent + cost),
          // A reservation made yesterday is gone with its day: only today's is given back.
          reserved:
            s.day === reservation.day ? round(Math.max(0, s.reserved - reservation.amount)) : s.reserved,
        })),
      ),
    ).then(() => undefined);
  }

  /** What each budget this instance saw today holds (for status and tests). */
  spentToday(): Readonly<Record<string, BudgetState>> {
    return Object.fromEntries(this.seen);
  }

  private async reserveAll(
    budgets: readonly [string, number | undefined][],
    amount: number,
    day: string,
    reservation: Reservation,
  ): Promise<Reservation | TroupeError> {
    const keys: string[] = [];
    for (const [key, limit] of budgets) {
      if (limit === undefined) continue;
      let refused: BudgetState | undefined;
      await this.change(key, day, (s) => {
        if (s.spent + s.reserved >= limit) {
          refused = s;
          return s;
        }
        refused = undefined;
        return { day: s.day, spent: s.spent, reserved: round(s.reserved + amount) };
      });
      if (refused !== undefined) {
        await this.settle({ ...reservation, keys }, undefined);
        return this.refusal(key, limit, refused);
      }
      keys.push(key);
    }
    return { ...reservation, keys };
  }

  private change(key: string, day: string, next: (s: BudgetState) => BudgetState): Promise<BudgetState> {
    const ttl = dayEnd(day) - this.clock.now() + 60_000;
    return this.state
      .update<BudgetState, BudgetState>(
        `budget:${key}`,
        () => ({ day, spent: 0, reserved: 0 }),
        (s) => {
          const current = s.day === day ? s : { day, spent: 0, reserved: 0 };
          const state = next(current);
          return { state, result: state };
        },
        Math.max(1, ttl),
      )
      .then((state) => {
        this.remember(key, state);
        return state;
      });
  }

  private remember(key: string, state: BudgetState): void {
    if (this.seenDay !== state.day) {
      this.seen.clear();
      this.seenDay = state.day;
    }
    this.seen.set(key, state);
  }

  /** `caller:<owner>`; a new caller past `maxCallers` today shares `caller:(other callers)`. */
  private callerKey(owner: unknown, day: string, track: boolean): string {
    const name = typeof owner === 'string' && owner !== '' ? owner : 'local';
    const key = `caller:${name}`;
    if (this.seenDay !== day) {
      this.seen.clear();
      this.seenDay = day;
    }
    if (this.seen.has(key)) return key;
    const callers = this.seen.size - (this.seen.has('global') ? 1 : 0);
    if (callers >= this.maxCallers) return `caller:${OTHER_CALLERS}`;
    if (track) this.seen.set(key, { day, spent: 0, reserved: 0 });
    return key;
  }

  private refusal(key: string, limit: number, state: BudgetState): TroupeError {
    const now = this.clock.now();
    const resetAt = dayEnd(state.day);
    const whose =
      key === 'global' ? 'the global budget' : `the budget of caller \`${key.slice('caller:'.length)}\``;
    return new TroupeError(
      'runtime',
      'BUDGET_EXCEEDED',
      `Expected ${whose} (${limit} ${this.currency} per UTC day) to have room, got ${round(state.spent)} ${this.currency} spent and ${round(state.reserved)} reserved by calls in flight; it resets at ${new Date(resetAt).toISOString()} (in ${Math.ceil((resetAt - now) / 60_000)} min). Wait for the reset, or ask the operator to raise it.`,
      { retryable: false, retryAfterMs: Math.max(0, resetAt - now) },
    );
  }
}

function dayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

function dayEnd(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) + DAY_MS;
}
