/**
 * Time, injected. Compatible with XState's `SimulatedClock`, so tests drive every deadline by hand.
 */
export interface Clock {
  /** Milliseconds: every deadline, duration and window is measured on this. */
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
  /**
   * Epoch milliseconds on the wall clock, where `now()` reads a clock that does not follow it
   * (`steadyClock`): for the times a user reads (events' `at`, summaries' times) and budgets' UTC
   * day. Absent (XState's `SimulatedClock`, `systemClock`), `now()` is the wall clock.
   */
  wall?(): number;
}

/** The wall clock (`Date.now()`): epoch times that every instance of a cluster reads alike. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeoutMs) => globalThis.setTimeout(fn, timeoutMs),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>),
};

/** Where the steady clock's epoch sits: the wall clock when this module loaded, less the monotonic clock's reading then. */
const steadyOrigin = Date.now() - performance.now();

/**
 * A clock whose `now()` a wall-clock step does not move: the monotonic clock (`performance.now()`,
 * as Node's timers count), in whole epoch milliseconds from where the wall clock read when this
 * module loaded. Set the date back an hour and a 30 s deadline still ends 30 s after it was set
 * (on `systemClock` it ran an hour and 30 s). It does not count time the machine spent suspended,
 * nor follow the wall clock's steps, so its readings part from the wall clock's: what a user reads
 * goes through `wall()` (`wallOf`), and it cannot be compared across processes (a cluster keeps
 * `systemClock`). The local runtime's default.
 */
export const steadyClock: Clock = {
  now: () => Math.floor(steadyOrigin + performance.now()),
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
  wall: () => Date.now(),
};

/** The wall clock's reading now (`clock.wall()`, else `clock.now()`). */
export function wallNow(clock: Clock): number {
  return clock.wall === undefined ? clock.now() : clock.wall();
}

/** Each clock's last wall offset (`wall() - now()`), kept while the two readings only round apart. */
const wallOffsets = new WeakMap<Clock, number>();

/**
 * `at`, a time on `clock.now()`, on the wall clock as it reads now: the wall clock's reading less
 * how long ago `at` really was. So every time read together keeps its true distance from the
 * others, and after a step they all read in the stepped wall clock's terms. Two whole-millisecond
 * clocks read 1 ms apart or not by turns: that offset is kept until it moves by more, so the same
 * time reads the same twice (a page of `recent` sessions read again).
 */
export function wallOf(clock: Clock, at: number): number {
  if (clock.wall === undefined) return at;
  const offset = wallOffset(clock, clock.wall);
  const kept = wallOffsets.get(clock);
  if (kept !== undefined && Math.abs(offset - kept) <= 1) return at + kept;
  wallOffsets.set(clock, offset);
  return at + offset;
}

/**
 * `wall() - now()`, both read within one millisecond of `now()`: a thread paused between the two
 * reads (a loaded machine, a collection) would move the offset by the pause, and a time read twice
 * would read apart (seen 2026-12-07 under a full test run: a summary's `endedAt` 2 ms off the same
 * one read just before). Read again, three times at most, while `now()` moved by more meanwhile.
 */
function wallOffset(clock: Clock, wall: () => number): number {
  for (let tries = 1; ; tries++) {
    const before = clock.now();
    const offset = wall() - before;
    if (clock.now() - before <= 1 || tries === 3) return offset;
  }
}

/**
 * Runs `work` until it resolves, `tries` times at most, `everyMs` apart on `clock`; the last
 * rejection is the caller's. For a write to a shared backend that may be away a moment (Redis
 * reconnecting), where dropping the write would lose what it records or frees. Its waits are
 * unref'd where the clock's timers can be: a retry alone never keeps a process from exiting (a
 * library that closed its runtime with Redis down exits at once, not 30 s later). Once `signal`
 * aborts it tries no more: the rejection it has is the caller's at once (a wait ends there).
 */
export async function retriedWhileAway<T>(
  clock: Clock,
  work: () => Promise<T>,
  tries: number,
  everyMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const aborted = () => signal?.aborted === true;
  for (let tried = 1; ; tried++) {
    try {
      return await work();
    } catch (error) {
      if (tried >= tries || aborted()) throw error;
      await pause(clock, everyMs, signal);
      if (aborted()) throw error;
    }
  }
}

/** `ms` on `clock`, or until `signal` aborts; the timer never keeps the process alive. */
export function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: unknown;
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    timer = clock.setTimeout(done, ms);
    unref(timer);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void } | null)?.unref?.();
}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `fn` once `clock.now()` reads `at` or later. A timer can fire before the clock reads its
 * time: Node counts a timer from the event loop's cached time, which lags the wall clock by however
 * long the loop's current turn has run. Then it waits out the rest. A time further than a timer can
 * wait (`MAX_TIMER_MS`) is waited for in steps: Node fires a longer timer at once, which ended a
 * cluster's sessions with deadlines summing past it as timed out within milliseconds. Every timer
 * it sets goes into `timers`, for the caller to clear.
 */
export function atTime(clock: Clock, at: number, timers: unknown[], fn: () => void): void {
  const check = () => {
    const left = at - clock.now();
    if (left > 0) timers.push(clock.setTimeout(check, Math.min(left, MAX_TIMER_MS)));
    else fn();
  };
  timers.push(clock.setTimeout(check, Math.min(Math.max(0, at - clock.now()), MAX_TIMER_MS)));
}

/**
 * Whether `work` settles, either way, within `ms` on `clock`; the timer is cleared either way. Only
 * waits: what `work` resolves or rejects with stays the caller's to handle.
 */
export async function settlesWithin(clock: Clock, work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: unknown;
  const bound = new Promise<false>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(settled, settled), bound]);
  } finally {
    clock.clearTimeout(timer);
  }
}

function settled(): true {
  return true;
}
