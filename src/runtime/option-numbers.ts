/**
 * The numbers `createRuntime`, `submit` and `run` take, each checked for its kind and its ceiling.
 * Every count is at most `Number.MAX_SAFE_INTEGER`: past it an integer is not exact (a sum of
 * tokens, or a count of sessions, stops changing), and until 2026-12-07 `1e300` or `2 ** 53` was
 * taken as a limit. A few have a ceiling of their own, where a larger value costs memory or calls
 * and means nothing a deployment needs; each refusal says the ceiling and why
 * (docs/runtime.md, "Ceilings").
 */
import { describe, runtimeError } from '../core/errors.js';
import { MAX_PRIORITY, MIN_PRIORITY } from '../core/scheduler.js';

/** A ceiling of a setting's own, and why, which its refusal states. */
export interface Ceiling {
  readonly value: number;
  readonly why: string;
}

/** Node's longest timer, about 24.8 days: a longer deadline or backoff would fire at once. */
export const MAX_MS = 2_147_483_647;

/**
 * Attempts at one target, the first included. With the default backoff (250 ms doubled up to 10 s)
 * 100 attempts are about 16 minutes of retrying, past any run deadline a call is given; more let a
 * session with no backoff call a failing provider over and over until its deadline.
 */
export const ATTEMPTS: Ceiling = {
  value: 100,
  why: 'attempts at one target, the first included: 100 with the default backoff are about 16 minutes of retrying',
};

/**
 * Ended sessions kept: the history holds six slots an entry from the start (about 32 bytes: 32 MB
 * at this ceiling) and each ended session's summary while it is kept (0.8 KB and more).
 */
export const HISTORY: Ceiling = {
  value: 1_000_000,
  why: 'ended sessions kept: 32 bytes each are taken at the start, and about 0.8 KB each once kept',
};

/** A length of time a timer waits (a breaker's window, its time open, a probe's deadline). */
export const TIMER: Ceiling = {
  value: MAX_MS,
  why: 'milliseconds: the longest timer Node sets, about 24.8 days; a longer one fires at once',
};

/** A backoff: no run deadline is longer than Node's longest timer, and a retry past the deadline is not made. */
export const BACKOFF: Ceiling = {
  value: MAX_MS,
  why: 'milliseconds: the longest timer Node sets, about 24.8 days, and no run deadline is longer',
};

export function priority(name: string, value: unknown): number {
  if (!isInteger(value) || value < MIN_PRIORITY || value > MAX_PRIORITY) {
    throw invalid(name, `an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`, value);
  }
  return value;
}

export function positiveInt(name: string, value: unknown, ceiling?: Ceiling): number {
  if (!isInteger(value) || value < 1) throw invalid(name, 'a positive integer', value);
  return atMost(name, value, 'a positive integer', ceiling);
}

/** 0 or more; `-0` is taken as 0 (it would print as 0 and compare as 0, and still be `-0` to `Object.is`). */
export function nonNegativeInt(name: string, value: unknown, ceiling?: Ceiling): number {
  if (!isInteger(value) || value < 0) throw invalid(name, 'a non-negative integer', value);
  return atMost(name, value, 'a non-negative integer', ceiling) + 0;
}

/** Bytes: a non-negative safe integer (as `maxQueued`, no `Infinity`; a large bound switches it off). */
export function byteCount(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalid(name, `a non-negative integer of bytes up to ${Number.MAX_SAFE_INTEGER}`, value);
  }
  return (value as number) + 0;
}

/** Milliseconds: positive and finite; at most about 24.8 days, the longest timer Node sets. */
export function positiveMs(name: string, value: unknown): number {
  if (!isFiniteNumber(value) || value <= 0 || value > MAX_MS) {
    throw invalid(name, `a number of milliseconds from 1 to ${MAX_MS}`, value);
  }
  return value;
}

/** `value` under its own ceiling, if any, and exact (a safe integer). */
function atMost(name: string, value: number, kind: string, ceiling: Ceiling | undefined): number {
  if (ceiling !== undefined && value > ceiling.value)
    throw invalid(name, `at most ${ceiling.value} (${ceiling.why})`, value);
  if (value > Number.MAX_SAFE_INTEGER)
    throw invalid(name, `${kind} of at most ${Number.MAX_SAFE_INTEGER}`, value);
  return value;
}

// `Number.isInteger` and `Number.isFinite` are false for anything but a number (they do not coerce).
function isInteger(value: unknown): value is number {
  return Number.isInteger(value);
}

function isFiniteNumber(value: unknown): value is number {
  return Number.isFinite(value);
}

export function invalid(name: string, expected: string, value: unknown) {
  return runtimeError('INVALID_REQUEST', `Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}
