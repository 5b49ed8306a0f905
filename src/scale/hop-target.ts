/**
 * The target a session's run record has reached, on a shared backend: whether a fallback hop to it
 * should move to its queue, and what a call of it lost with its instance held there. A hop does
 * not move when that target cools down past the session's run deadline and a target comes after
 * it: the session resumes where it is, and its next call's ask of the shared limits moves it on
 * (`rerouteHeld`, the same rule as in memory), instead of waiting in that queue for a slot.
 * A taken-over job a move left behind frees nothing there (`takeOver`).
 */
import type { Clock } from '../core/clock.js';
import { type Limiter, rerouteOfRun, type Start } from '../runtime/backend.js';
import type { RunRecord, SessionQueue } from '../runtime/ports.js';
import { type JobData, runTarget } from './job-data.js';

type Input = JobData['input'];
interface Around {
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
}

/** Whether the target `run` has reached cools down past its run deadline, with a target after it. */
export async function coolsPastRun(
  limiter: Limiter,
  input: Input,
  run: RunRecord,
  s: Around,
): Promise<boolean> {
  const now = s.clock.now();
  const { provider, model } = runTarget(input, run);
  try {
    const cooling = await limiter.coolingAt(provider, model, now);
    return cooling !== undefined && rerouteOfRun(input, run, provider, cooling, now) !== undefined;
  } catch (error) {
    // The shared limits could not be read: it moves, as before this check.
    s.onError(error);
    return false;
  }
}

/**
 * The call a taken-over session made on the instance it left is gone: the slot it held (a
 * provider's or model's own `maxConcurrent`), and a probe, free now rather than at their lapse
 * (its run deadline). If it calls again here, it asks for them again as any retry does.
 */
export async function releaseLost(
  limiter: Limiter,
  input: Input,
  run: RunRecord,
  now: number,
  s: Around,
): Promise<void> {
  const { provider, model } = runTarget(input, run);
  const start: Start = { sessionId: input.sessionId, model, now, tokens: 0, lapsesAt: now };
  const ended = { kind: 'ended' } as const;
  await limiter.settleWhileAway(s.clock, provider, start, now, ended).catch(s.onError);
}

/**
 * What the lease of a session with a run record does with it: `here`, it resumes on this lease;
 * `move`, its hop was recorded but not moved (its instance lost in between), and it moves to its
 * target's queue; `left`, its job is one a move left behind, the move's add landed but its instance
 * was lost before this job ended. The session is then the moved job's, and so is what it holds on
 * its target (its call there may be running now on another instance): this lease frees nothing
 * and only moves it again (the same job id: nothing added). Until 2026-12-06 it freed that call's
 * slot and probe (`releaseLost`, by session id), so the target admitted one call more than its
 * limit. Rejects when the target's queue is not read (a cut): the lease waits a moment.
 */
export async function takeOver(
  limiter: Limiter,
  s: Around & { readonly queue: Pick<SessionQueue, 'waiting'> },
  input: Input,
  run: RunRecord,
  leasedFrom: string,
): Promise<'here' | 'move' | 'left'> {
  const at = runTarget(input, run).provider;
  if (at !== leasedFrom && (await s.queue.waiting(at, input.sessionId))) return 'left';
  await releaseLost(limiter, input, run, s.clock.now(), s);
  if (at === leasedFrom) return 'here';
  // Not when that target cools down past its run deadline: it resumes here to move on.
  return (await coolsPastRun(limiter, input, run, s)) ? 'here' : 'move';
}
