/**
 * The target a session's run record has reached, on a shared backend: whether a fallback hop to it
 * should move to its queue, and what a call of it lost with its instance held there. A hop does
 * not move when that target cools down past the session's run deadline and a target comes after
 * it: the session resumes where it is, and its next call's ask of the shared limits moves it on
 * (`rerouteHeld`, the same rule as in memory), instead of waiting in that queue for a slot.
 */
import type { Clock } from '../core/clock.js';
import { type Limiter, rerouteOfRun, type Start } from '../runtime/backend.js';
import type { RunRecord } from '../runtime/ports.js';
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
