/**
 * Rate windows in a provider's own units, as plain JSON-able data and pure functions: no clock,
 * no I/O. The same functions run in memory and, through the shared state, on Redis.
 *
 * The rule (docs/runtime.md, "Limits"): a conservative bucketed sliding window of fixed size.
 * - Minute limits count starts and tokens in one-second buckets; a start at second S is admitted
 *   only if the 61 buckets S-60..S, plus it, stay within the limit. Any 60 s interval [t, t+60 s)
 *   touches at most 61 one-second buckets, all of which the interval's last start saw, so in every
 *   60 s window the starts are at most `requestsPerMinute` and the tokens charged at most
 *   `tokensPerMinute`: exactly, not on average. The price: a start may wait up to one second
 *   longer than a perfect sliding log would make it.
 * - `tokensPerDay` does the same with one-hour buckets (25 of them): at most `tokensPerDay` in any
 *   24 hours, which also bounds any calendar day in any time zone (Moonshot does not say which day
 *   it counts).
 * - Concurrency per model: the sessions holding a slot, each with the time its slot lapses (its run
 *   deadline), so a slot held by a lost instance frees itself.
 */

/** Which limit holds a session back. */
export type LimitName =
  | 'maxConcurrent'
  | 'requestsPerMinute'
  | 'tokensPerMinute'
  | 'tokensPerDay'
  | 'cooldown';

export interface RateLimits {
  readonly maxConcurrent?: number;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly tokensPerDay?: number;
}

export interface WindowState {
  /** `[second, starts, tokens]` for each one-second bucket still in the minute window, oldest first. */
  readonly s: readonly (readonly [number, number, number])[];
  /** `[hour, tokens]` for each one-hour bucket still in the day window, oldest first. */
  readonly h: readonly (readonly [number, number])[];
  /** `[sessionId, lapsesAt]` for each session holding a concurrency slot. */
  readonly r: readonly (readonly [string, number])[];
}

export type Room =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly limit: LimitName;
      /** The earliest time room may open; `null` when it opens only when something ends. */
      readonly at: number | null;
    };

const SECOND = 1000;
const HOUR = 3_600_000;
/** Buckets in a window: a 60 s (24 h) interval touches at most this many. */
const MINUTE_BUCKETS = 61;
const DAY_BUCKETS = 25;

export const emptyWindow = (): WindowState => ({ s: [], h: [], r: [] });

/** Drops what no longer counts at `now`; the same state when nothing left the window. */
export function prune(state: WindowState, now: number): WindowState {
  const second = Math.floor(now / SECOND);
  const hour = Math.floor(now / HOUR);
  const s = state.s.filter((b) => b[0] > second - MINUTE_BUCKETS);
  const h = state.h.filter((b) => b[0] > hour - DAY_BUCKETS);
  const r = state.r.filter((b) => b[1] > now);
  return s.length === state.s.length && h.length === state.h.length && r.length === state.r.length
    ? state
    : { s, h, r };
}

/**
 * Whether a start charging `tokens` fits at `now`, and if not, which limit holds it and until when.
 * A slot `id` already holds (a session taken over from a lost instance starts again) is its own:
 * it does not count against it.
 */
export function room(state: WindowState, limits: RateLimits, now: number, tokens: number, id?: string): Room {
  const live = prune(state, now);
  const { maxConcurrent, requestsPerMinute, tokensPerMinute, tokensPerDay } = limits;
  // Stryker disable next-line ConditionalExpression: `n >= undefined` is false (→ true); → false is killed.
  if (maxConcurrent !== undefined) {
    const others = live.r.filter((b) => b[0] !== id);
    if (others.length >= maxConcurrent)
      return { ok: false, limit: 'maxConcurrent', at: Math.min(...others.map((b) => b[1])) };
  }
  if (requestsPerMinute !== undefined) {
    const at = opensAt(live.s, 1, 1, requestsPerMinute, MINUTE_BUCKETS * SECOND, SECOND);
    if (at !== undefined) return { ok: false, limit: 'requestsPerMinute', at };
  }
  if (tokensPerMinute !== undefined) {
    const at = opensAt(live.s, 2, tokens, tokensPerMinute, MINUTE_BUCKETS * SECOND, SECOND);
    if (at !== undefined) return { ok: false, limit: 'tokensPerMinute', at };
  }
  if (tokensPerDay !== undefined) {
    const at = opensAt(live.h, 1, tokens, tokensPerDay, DAY_BUCKETS * HOUR, HOUR);
    if (at !== undefined) return { ok: false, limit: 'tokensPerDay', at };
  }
  return { ok: true };
}

/**
 * `undefined` when `add` more fits under `limit`; else when enough old buckets have left the
 * window (a bucket of unit `unit` starting at b leaves it at `(b + span / unit) * unit`).
 */
function opensAt(
  buckets: readonly (readonly number[])[],
  field: number,
  add: number,
  limit: number,
  span: number,
  unit: number,
): number | undefined {
  let used = 0;
  for (const b of buckets) used += b[field] as number;
  if (used + add <= limit) return undefined;
  for (const b of buckets) {
    used -= b[field] as number;
    if (used + add <= limit) return (b[0] as number) * unit + span;
  }
  // Never fits (more than the whole limit); the caller refuses such a request up front.
  return Number.POSITIVE_INFINITY;
}

/** Counts a start at `now` charging `tokens`; `slot` holds a concurrency slot until it lapses. */
export function charge(
  state: WindowState,
  now: number,
  tokens: number,
  slot?: { readonly id: string; readonly lapsesAt: number },
): WindowState {
  const live = prune(state, now);
  const second = Math.floor(now / SECOND);
  const hour = Math.floor(now / HOUR);
  const last = live.s.at(-1);
  const s =
    last !== undefined && last[0] === second
      ? [...live.s.slice(0, -1), [second, last[1] + 1, last[2] + tokens] as const]
      : [...live.s, [second, 1, tokens] as const];
  const lastH = live.h.at(-1);
  const h =
    lastH !== undefined && lastH[0] === hour
      ? [...live.h.slice(0, -1), [hour, lastH[1] + tokens] as const]
      : [...live.h, [hour, tokens] as const];
  // One slot a session: a start again (after a takeover) replaces the one it held.
  const r =
    slot === undefined
      ? live.r
      : [...live.r.filter((b) => b[0] !== slot.id), [slot.id, slot.lapsesAt] as const];
  return { s, h, r };
}

/**
 * Replaces the estimate charged by a start at `startedAt` with the tokens the provider reported
 * (`delta` = reported - estimated), in the buckets it was charged to if they still count; the
 * pruned state as it is when there is nothing to replace (`delta` 0).
 */
export function reconcile(state: WindowState, startedAt: number, delta: number, now: number): WindowState {
  const live = prune(state, now);
  if (delta === 0) return live;
  const second = Math.floor(startedAt / SECOND);
  const hour = Math.floor(startedAt / HOUR);
  return {
    s: live.s.map((b) => (b[0] === second ? ([b[0], b[1], Math.max(0, b[2] + delta)] as const) : b)),
    h: live.h.map((b) => (b[0] === hour ? ([b[0], Math.max(0, b[1] + delta)] as const) : b)),
    r: live.r,
  };
}

/** Frees a session's concurrency slot; the same state when it holds none. */
export function releaseSlot(state: WindowState, id: string): WindowState {
  const r = state.r.filter((b) => b[0] !== id);
  return r.length === state.r.length ? state : { ...state, r };
}

/** What is left in each limit at `now` (`null` for a limit not set). */
export function remaining(
  state: WindowState,
  limits: RateLimits,
  now: number,
): Record<Exclude<LimitName, 'cooldown'>, number | null> {
  const live = prune(state, now);
  const sum = (buckets: readonly (readonly number[])[], field: number) =>
    buckets.reduce((total, b) => total + (b[field] as number), 0);
  const left = (limit: number | undefined, used: number) =>
    limit === undefined ? null : Math.max(0, limit - used);
  return {
    maxConcurrent: left(limits.maxConcurrent, live.r.length),
    requestsPerMinute: left(limits.requestsPerMinute, sum(live.s, 1)),
    tokensPerMinute: left(limits.tokensPerMinute, sum(live.s, 2)),
    tokensPerDay: left(limits.tokensPerDay, sum(live.h, 1)),
  };
}
