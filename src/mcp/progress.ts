/**
 * Progress notifications for a tool call: one on each state change (queued with how many were ahead,
 * running, retrying), throttled ones while characters stream in, and a heartbeat whenever
 * nothing was sent for `intervalMs`, so clients with request timeouts that reset on progress
 * (typically 60 s) never give up on a long call. A model call's messages count the characters
 * streamed; a task's (a `withSession` tool) have none to count, and say its own last step instead.
 */
import { steadyClock } from '../core/clock.js';
import type { SessionEvent, SessionHandle } from '../runtime/types.js';

/** Sends one `notifications/progress`; `progress` increases on every call. */
export type ProgressSink = (progress: number, message: string) => Promise<void>;

interface Watched {
  state: 'queued' | 'running' | 'retrying' | 'ended';
  position?: number;
  chars: number;
  attempt: number;
  /** `provider/model` after a fallback. */
  via?: string;
}

/** Longest heartbeat period: clients whose 60 s request timeout resets on progress need one that often. */
export const MAX_HEARTBEAT_MS = 10_000;

/**
 * A heartbeat period from an option: `undefined` is 5000 ms, above 10000 is 10000. Anything but a
 * positive number is a `RangeError`: `setInterval` runs 0, a negative or `NaN` period every
 * millisecond, so `progressIntervalMs: 0` (read as "no heartbeat") sent a notification a millisecond.
 */
export function heartbeatMs(value: number | undefined, where: string): number {
  if (value === undefined) return 5000;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Expected \`progressIntervalMs\` of ${where} to be a positive number of milliseconds (at most ${MAX_HEARTBEAT_MS} is used; there is no off), got ${String(value)}`,
    );
  }
  return Math.min(value, MAX_HEARTBEAT_MS);
}

/** What the followed sessions are: model calls (`chat`, `multi_file_chat`, `consensus`) or a task (`withSession`). */
export type ProgressKind = 'model' | 'task';

/** Least time between two notifications caused only by streamed characters, in ms. */
const DELTA_THROTTLE_MS = 1000;

export class ProgressReporter {
  readonly #sink: ProgressSink;
  readonly #sessions = new Map<string, Watched>();
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout>;
  #seq = 0;
  /** On the steady clock: on the wall clock, a step back an hour sent no streamed count for an hour. */
  #lastSentAt = 0;
  #stopped = false;
  readonly #kind: ProgressKind;
  /** A task's last own report (`step`), which its heartbeats repeat. */
  #step: string | undefined;

  /**
   * @param intervalMs heartbeat period, in ms; the caller keeps it at or under 10000.
   * @param kind what the sessions are. @default 'model'
   */
  constructor(sink: ProgressSink, intervalMs: number, kind: ProgressKind = 'model') {
    this.#sink = sink;
    this.#intervalMs = intervalMs;
    this.#kind = kind;
    this.#timer = this.#arm(intervalMs);
  }

  /** A task's own progress report: sent as it is, and kept for the heartbeats that follow. */
  step(message: string): void {
    this.#step = message;
    this.#send(message);
  }

  /** Follows a session's events until it ends. */
  watch(handle: SessionHandle): void {
    this.#sessions.set(handle.id, { state: 'queued', chars: 0, attempt: 0 });
    void (async () => {
      try {
        for await (const event of handle.events) this.#on(handle.id, event);
      } catch {
        // The event stream failing must not fail the call: the result still arrives.
      }
    })();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * The heartbeat is due `intervalMs` after the last notification, whatever sent it. One timer,
   * re-armed when it fires for what is left of the interval (nothing is done per notification):
   * a fixed `setInterval` tick let a state change just after a tick put the next heartbeat a
   * second tick away, almost twice the interval.
   */
  #arm(ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#beat(), ms);
    timer.unref();
    return timer;
  }

  #beat(): void {
    if (this.#stopped) return;
    const quiet = steadyClock.now() - this.#lastSentAt;
    if (quiet >= this.#intervalMs - 5) {
      this.#send();
      this.#timer = this.#arm(this.#intervalMs);
    } else {
      this.#timer = this.#arm(this.#intervalMs - quiet);
    }
  }

  #on(id: string, event: SessionEvent): void {
    const watched = this.#sessions.get(id);
    if (watched === undefined) return;
    switch (event.type) {
      case 'session.queued':
        watched.state = 'queued';
        watched.position = event.position;
        this.#send();
        return;
      case 'session.started':
        watched.state = 'running';
        watched.attempt = event.attempt;
        this.#send();
        return;
      case 'session.delta':
        watched.chars = event.chars;
        if (steadyClock.now() - this.#lastSentAt >= DELTA_THROTTLE_MS) this.#send();
        return;
      case 'session.fallback':
        watched.via = `${event.to.provider}/${event.to.model}`;
        this.#send();
        return;
      case 'session.retry':
        watched.state = 'retrying';
        watched.attempt = event.attempt;
        this.#send();
        return;
      case 'session.ended':
        watched.state = 'ended';
        return;
      default:
        return;
    }
  }

  #send(message?: string): void {
    if (this.#stopped) return;
    this.#seq += 1;
    this.#lastSentAt = steadyClock.now();
    this.#sink(this.#seq, message ?? this.#describe()).catch(() => {
      // The client may be gone; cancellation reaches the session by its own path.
    });
  }

  #describe(): string {
    const all = [...this.#sessions.values()];
    if (all.length === 1 && all[0] !== undefined)
      return this.#kind === 'task' ? describeTask(all[0], this.#step) : describeOne(all[0]);
    const count = (state: Watched['state']) => all.filter((w) => w.state === state).length;
    const chars = all.reduce((sum, w) => sum + w.chars, 0);
    return `${count('running') + count('retrying')} running, ${count('queued')} queued, ${count('ended')} done of ${all.length}; ${chars} chars so far`;
  }
}

function describeOne(w: Watched): string {
  switch (w.state) {
    case 'queued':
      return w.position === undefined ? 'queued' : `queued, ${w.position} ahead when it joined`;
    case 'running':
      return `running (attempt ${w.attempt}${w.via === undefined ? '' : `, fell back to ${w.via}`}), ${w.chars} chars so far`;
    case 'retrying':
      return `waiting to retry (attempt ${w.attempt}), ${w.chars} chars so far`;
    case 'ended':
      return 'finishing';
  }
}

/** A task's state: no characters to count (it streams none); while it runs, its last own report. */
function describeTask(w: Watched, step: string | undefined): string {
  switch (w.state) {
    case 'running':
      return `running (attempt ${w.attempt})${step === undefined ? '' : `, last reported ${step}`}`;
    case 'retrying':
      return `waiting to retry (attempt ${w.attempt})`;
    default:
      return describeOne(w);
  }
}
