/**
 * Budgets: money a caller (and everyone together) may spend per UTC day, per currency.
 *
 * Each currency has its own budgets (`{ USD: 5, CNY: 30 }`), and a call is charged only against the
 * budgets of the currency its model is priced in: USD is never added to CNY. A call priced in a
 * currency with no budget is not limited by another currency's budget; a call whose model has no
 * price at all cannot be checked and is refused (`INVALID_REQUEST`, naming the price to add).
 *
 * Admission refuses a caller whose budget (in the currency of the request's first target) this
 * instance already saw spent (`precheck`, no I/O). Before each provider call the gate reserves the
 * call's estimated cost (every estimated prompt token uncached, the whole completion budget:
 * `estimate.ts` and the model's price) on the caller's and the global budget of that currency, each
 * one atomic change of its state in the runtime's `SharedState` (shared by every instance on
 * Redis); a budget with nothing left refuses with `BUDGET_EXCEEDED`, saying what was spent, the
 * limit, the currency and when it resets. When the call ends the reservation is replaced by what
 * the usage the provider reported cost (`settle`).
 *
 * The rule: a call is let through while `spent + reserved < limit`, so a budget is never exceeded
 * by more than one call's estimate (the last one let through), as long as a call costs no more
 * than its estimate. Bounds: per instance, at most `maxCallers` callers are tracked per day (past
 * it, new callers share one budget, `(other callers)`), each with one state per budgeted currency;
 * every state expires at the end of its day.
 */

import { type Clock, wallNow } from '../core/clock.js';
import { isCurrencyCode } from '../core/currency.js';
import { describe, runtimeError, TroupeError } from '../core/errors.js';
import { completionBudget, estimatePromptTokens } from '../providers/estimate.js';
import type { ChatRequest, TokenUsage } from '../providers/port.js';
import { costOf, estimateCost, type PriceTable, priceOf, round } from '../providers/prices.js';
import { nonNegativeInt, positiveInt } from './option-numbers.js';
import type { SharedState } from './ports.js';
import { rejectingState } from './rejecting-state.js';

/** A daily amount: a number (in `BudgetOptions.currency`), or amounts by currency (`{ USD: 5, CNY: 30 }`). */
export type BudgetAmount = number | Readonly<Record<string, number>>;

export interface BudgetOptions {
  /** Most one caller (an MCP session, a named token, or `metadata.owner`) may spend per UTC day. */
  readonly perCaller?: BudgetAmount;
  /** Most all callers together may spend per UTC day. */
  readonly global?: BudgetAmount;
  /** The currency of an amount given as a plain number. @default 'USD' */
  readonly currency?: string;
  /** Callers tracked per day per instance; past it, new callers share one budget. @default 10000 */
  readonly maxCallers?: number;
  /**
   * Callers that never share that one budget, however many came before them today: a set the
   * operator configured (`troupe serve`: named tokens), so it does not grow with what clients open.
   * @default none
   */
  readonly trackAlways?: (owner: string) => boolean;
  /** Completion tokens charged for a request without `max_tokens`. @default 4096 */
  readonly defaultCompletionTokens?: number;
}

/** One currency's limits. */
interface Limits {
  readonly perCaller?: number;
  readonly global?: number;
}

/** One budget's day, as stored. */
export interface BudgetState {
  readonly day: string;
  readonly spent: number;
  readonly reserved: number;
}

/** A reservation the gate holds while its call is out. */
export interface Reservation {
  /** The budgets it holds: `global` and `caller:<owner>`, all in `currency`. */
  readonly keys: readonly string[];
  /** The currency of the call's price, and of every budget in `keys`. */
  readonly currency: string;
  /** The UTC day it was made on: a reservation outlives its day only as spend. */
  readonly day: string;
  readonly amount: number;
  /** The prompt's part of `amount`: what a call cut before it reported usage is charged. */
  readonly promptAmount: number;
  readonly provider: string;
  readonly model: string;
}

const DAY_MS = 86_400_000;
export const OTHER_CALLERS = '(other callers)';

export class Budgets {
  private readonly limits: ReadonlyMap<string, Limits>;
  private readonly maxCallers: number;
  private readonly trackAlways: (owner: string) => boolean;
  private readonly completion: number;
  /** The last state seen of each budget this instance touched today, by `<currency> <key>`. */
  private readonly seen = new Map<string, BudgetState>();
  /** Callers tracked today (at most `maxCallers`), whatever the currency. */
  private readonly callers = new Set<string>();
  // Stryker disable next-line StringLiteral: any value that is not a day is replaced at the first `today()`.
  private seenDay = '';
  private readonly state: SharedState;

  constructor(
    options: BudgetOptions,
    private readonly prices: PriceTable | undefined,
    state: SharedState,
    private readonly clock: Clock,
  ) {
    // An adapter's throw fails as its rejection would: a reservation's fails its call, a settle's goes to `onError`.
    this.state = rejectingState(state);
    this.limits = limitsOf(options);
    // Checked as the runtime's counts are (until 2026-12-07 not at all: `NaN` or `'5'` tracked every
    // caller, without bound, and a `defaultCompletionTokens` of `NaN` made every charge `NaN`,
    // which no budget refuses).
    this.maxCallers = nonNegativeInt('budgets.maxCallers', options.maxCallers ?? 10_000);
    // Stryker disable next-line ArrowFunction: `() => undefined` is as falsy: nobody is kept.
    this.trackAlways = options.trackAlways ?? (() => false);
    this.completion = positiveInt('budgets.defaultCompletionTokens', options.defaultCompletionTokens ?? 4096);
  }

  /** The currencies that have a budget, e.g. `['CNY', 'USD']`. */
  currencies(): readonly string[] {
    return [...this.limits.keys()].sort();
  }

  /**
   * At admission: refuses a caller whose budget (or the global one) in the currency `model` is
   * priced in this instance saw spent today. A model without a price, or priced in a currency with
   * no budget, passes here (`reserve` decides).
   */
  precheck(owner: unknown, provider?: string, model?: string): void {
    // Without a provider or a model there is no price: no table holds a provider or model named ''.
    // Stryker disable next-line StringLiteral: any other name no table holds finds no price either.
    const currency = priceOf(this.prices, provider ?? '', model ?? '')?.currency;
    // A new day forgets what this instance saw: every budget it knows of is today's.
    this.today();
    for (const [cur, limits] of this.limits) {
      if (currency !== undefined && cur !== currency) continue;
      const checks: [string, number | undefined][] = [
        ['global', limits.global],
        [this.callerKey(owner, false), limits.perCaller],
      ];
      for (const [key, limit] of checks) {
        const known = this.seen.get(`${cur} ${key}`);
        // Without a limit nothing is too much.
        if (known !== undefined && known.spent + known.reserved >= (limit ?? Number.POSITIVE_INFINITY))
          throw this.refusal(key, cur, limit as number, known);
      }
    }
  }

  /** Before a call: reserves its estimated cost, or the error that refuses it. */
  reserve(owner: unknown, provider: string, request: ChatRequest): Promise<Reservation | TroupeError> {
    const price = priceOf(this.prices, provider, request.model);
    const day = this.today();
    // No budget in any currency (`budgets: {}`): nothing to check, priced or not.
    if (this.limits.size === 0)
      return Promise.resolve({
        keys: [],
        currency: '',
        day,
        amount: 0,
        promptAmount: 0,
        provider,
        model: request.model,
      });
    if (price === undefined) {
      return Promise.resolve(
        runtimeError(
          'INVALID_REQUEST',
          `Expected a price for \`${provider}\`/\`${request.model}\` to check the budgets (${this.currencies().join(', ')}) against, got none; add it under \`prices\` in the providers file (or pick a priced model)`,
        ),
      );
    }
    const base = {
      keys: [],
      currency: price.currency,
      day,
      amount: 0,
      promptAmount: 0,
      provider,
      model: request.model,
    };
    const limits = this.limits.get(price.currency);
    // No budget in this currency: the call is not limited (never by another currency's budget).
    if (limits === undefined) return Promise.resolve(base);
    const completion = completionBudget(request) ?? this.completion;
    const prompt = estimatePromptTokens(request);
    const amount = estimateCost(price, prompt, completion).amount;
    const promptAmount = estimateCost(price, prompt, 0).amount;
    const budgets: [string, number | undefined][] = [
      [this.callerKey(owner, true), limits.perCaller],
      ['global', limits.global],
    ];
    return this.reserveAll(budgets, { ...base, amount, promptAmount });
  }

  /**
   * After the call: the reservation is replaced by what the reported usage cost. Without usage, a
   * call the session cut (`cut`: a cancel, a deadline, a shutdown, after its request went out) is
   * charged its prompt's estimate, which the vendor read and bills; until 2026-12-03 it was charged
   * nothing, so cancelling calls sent prompts no budget counted. A call refused or failed without
   * usage (a 429, a 5xx, no connection) is charged nothing.
   */
  settle(reservation: Reservation, usage: TokenUsage | undefined, cut = false): Promise<void> {
    // Stryker disable next-line ConditionalExpression: a shortcut; with no keys the changes below are none.
    if (reservation.keys.length === 0) return Promise.resolve();
    const price = priceOf(this.prices, reservation.provider, reservation.model);
    const cost =
      usage === undefined
        ? cut
          ? reservation.promptAmount
          : 0
        : // Stryker disable next-line OptionalChaining: a reservation with keys was priced by this same table, so `price` is there.
          price?.currency !== reservation.currency
          ? 0
          : costOf(price, usage).amount;
    const day = this.today();
    return Promise.all(
      reservation.keys.map((key) =>
        this.change(key, reservation.currency, day, (s) => ({
          day: s.day,
          spent: round(s.spent + cost),
          // A reservation made yesterday is gone with its day: only today's is given back.
          reserved:
            s.day === reservation.day ? round(Math.max(0, s.reserved - reservation.amount)) : s.reserved,
        })),
      ),
    ).then(() => undefined);
  }

  /** What each budget this instance saw today holds, by currency, then `global` / `caller:<owner>`. */
  spentToday(): Readonly<Record<string, Readonly<Record<string, BudgetState>>>> {
    this.today();
    const out: Record<string, Record<string, BudgetState>> = {};
    for (const [id, state] of this.seen) {
      const at = id.indexOf(' ');
      const cur = id.slice(0, at);
      const byKey = out[cur] ?? {};
      byKey[id.slice(at + 1)] = state;
      out[cur] = byKey;
    }
    return out;
  }

  private async reserveAll(
    budgets: readonly [string, number | undefined][],
    reservation: Reservation,
  ): Promise<Reservation | TroupeError> {
    const { currency, day, amount } = reservation;
    const keys: string[] = [];
    for (const [key, limit] of budgets) {
      if (limit === undefined) continue;
      let refused: BudgetState | undefined;
      await this.change(key, currency, day, (s) => {
        if (s.spent + s.reserved >= limit) {
          refused = s;
          return s;
        }
        refused = undefined;
        return { day: s.day, spent: s.spent, reserved: round(s.reserved + amount) };
      });
      if (refused !== undefined) {
        await this.settle({ ...reservation, keys }, undefined);
        return this.refusal(key, currency, limit, refused);
      }
      keys.push(key);
    }
    return { ...reservation, keys };
  }

  private change(
    key: string,
    currency: string,
    day: string,
    next: (s: BudgetState) => BudgetState,
  ): Promise<BudgetState> {
    const ttl = dayEnd(day) - wallNow(this.clock) + 60_000;
    return this.state
      .update<BudgetState, BudgetState>(
        `budget:${currency}:${key}`,
        // Stryker disable next-line ObjectLiteral: the change below replaces a state of any other day (an empty one too) with a fresh one.
        () => ({ day, spent: 0, reserved: 0 }),
        (s) => {
          const current = s.day === day ? s : { day, spent: 0, reserved: 0 };
          const state = next(current);
          return { state, result: state };
        },
        Math.max(1, ttl),
      )
      .then((state) => {
        if (state.day === this.today()) this.seen.set(`${currency} ${key}`, state);
        return state;
      });
  }

  /** Today's UTC day, on the wall clock; a new day forgets what this instance saw of the last one. */
  private today(): string {
    const day = dayOf(wallNow(this.clock));
    if (this.seenDay !== day) {
      this.seen.clear();
      this.callers.clear();
      this.seenDay = day;
    }
    return day;
  }

  /** `caller:<owner>`; a new caller past `maxCallers` today shares `caller:(other callers)`. */
  private callerKey(owner: unknown, track: boolean): string {
    const name = typeof owner === 'string' && owner !== '' ? owner : 'local';
    this.today();
    if (this.callers.has(name)) return `caller:${name}`;
    if (this.callers.size >= this.maxCallers && !this.trackAlways(name)) return `caller:${OTHER_CALLERS}`;
    if (track) this.callers.add(name);
    return `caller:${name}`;
  }

  private refusal(key: string, currency: string, limit: number, state: BudgetState): TroupeError {
    const now = wallNow(this.clock);
    const resetAt = dayEnd(state.day);
    const whose =
      key === 'global' ? 'the global budget' : `the budget of caller \`${key.slice('caller:'.length)}\``;
    return new TroupeError(
      'runtime',
      'BUDGET_EXCEEDED',
      `Expected ${whose} (${limit} ${currency} per UTC day) to have room, got ${round(state.spent)} ${currency} spent and ${round(state.reserved)} ${currency} reserved by calls in flight; it resets at ${new Date(resetAt).toISOString()} (in ${Math.ceil((resetAt - now) / 60_000)} min). Wait for the reset, or ask the operator to raise it.`,
      { retryable: false, retryAfterMs: Math.max(0, resetAt - now) },
    );
  }
}

/** Limits by currency from the options; every amount checked. */
function limitsOf(options: BudgetOptions): ReadonlyMap<string, Limits> {
  const currency = options.currency ?? 'USD';
  if (!isCurrencyCode(currency))
    throw invalid(
      `\`budgets.currency\` to be an ISO 4217 currency code such as USD or CNY, got ${describe(currency)}`,
    );
  const limits = new Map<string, { perCaller?: number; global?: number }>();
  for (const name of ['perCaller', 'global'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    const amounts: [string, unknown][] =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value)
        : [[currency, value]];
    for (const [cur, amount] of amounts) {
      if (!isCurrencyCode(cur))
        throw invalid(
          `the currencies of \`budgets.${name}\` to be ISO 4217 codes such as USD or CNY, got ${describe(cur)}`,
        );
      if (!isAmount(amount))
        throw invalid(
          `\`budgets.${name}\` to be a non-negative amount, got ${describe(amount)}${amounts.length > 1 || cur !== currency ? ` for ${cur}` : ''}`,
        );
      const entry = limits.get(cur) ?? {};
      entry[name] = amount;
      limits.set(cur, entry);
    }
  }
  return limits;
}

/** A finite number, 0 or more (`Number.isFinite` is false for anything but a number). */
function isAmount(value: unknown): value is number {
  return Number.isFinite(value) && (value as number) >= 0;
}

function invalid(expected: string): TroupeError {
  return runtimeError('INVALID_REQUEST', `Expected ${expected}`);
}

function dayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

function dayEnd(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) + DAY_MS;
}
