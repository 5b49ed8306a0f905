/**
 * A leased session's first ask of the shared limits (windows, cooldown, the provider's slots), on
 * behalf of the lease runner (`lease-runner.ts`): room, and it starts here, charged; a cooldown past
 * its queue deadline, and it moves on to its next target here, uncharged (`rerouteOnCooldown`); no
 * room, and the hold is recorded for every instance (`LimitsView.hold`) and its job goes back to
 * wait in its place (`Held`); the limits unanswered, and it alone waits a moment (`AWAY`).
 */
import { type Limiter, rerouteOnCooldown, type Start } from '../runtime/backend.js';
import type { Held, Lease } from '../runtime/ports.js';
import { AWAY, type LeaseRunnerSettings, PROBE_POLL_MS } from './lease-settings.js';

/** The limits' answer to a lease that may run here: its start, and its reroute when cooling down. */
export interface Asked {
  readonly start: Start;
  readonly got: Awaited<ReturnType<Limiter['tryStart']>>;
  readonly reroute: ReturnType<typeof rerouteOnCooldown>;
}

/** Asks the shared limits for `data`'s start at `now`: what it may run with, or how its job waits. */
export async function askLimits(
  limiter: Limiter,
  s: LeaseRunnerSettings,
  data: Lease['session'],
  now: number,
): Promise<Asked | Held> {
  const start: Start = {
    sessionId: data.input.sessionId,
    model: data.input.model,
    now,
    tokens: s.limits.charge(data.request, data.input.provider, data.input.model),
    lapsesAt: now + data.input.timeoutMs,
  };
  let got: Asked['got'];
  try {
    // Asked again when a RATE_LIMITED answer reached this instance meanwhile (`tryStartFresh`).
    got = await limiter.tryStartFresh(data.input.provider, start, () => answers(s));
  } catch (error) {
    // The shared limits could not be read or changed (Redis cut, or changed by other instances
    // at every try): this session alone waits a moment and asks again; its queue deadline holds.
    s.onError(error);
    return AWAY;
  }
  // Cooling down past its queue deadline: it moves on to its next target here, uncharged.
  const reroute = got.ok ? undefined : rerouteOnCooldown(data.input, got, now);
  if (!got.ok && reroute === undefined) {
    // A slot frees when some call ends (its lapse is only a lost instance's bound): look again soon.
    const at = got.limit === 'maxConcurrent' ? null : got.at;
    const retryInMs = Math.max(1, (at ?? now + PROBE_POLL_MS) - now);
    const modelOnly = got.model === true;
    // Recorded for every instance: a session that times out meanwhile names the limit.
    await s.view
      .hold(data.input.provider, data.input.model, got.limit, retryInMs, modelOnly)
      .catch(s.onError);
    // A cooldown holds the whole provider, but a session behind it may have to move on to its
    // fallback before it ends (`rerouteOnCooldown`): only this job waits, so the queue's next
    // one is looked at too, once per cooldown, as in memory. Pausing the queue left sessions
    // behind the first patient one to time out instead of falling back.
    return { retryInMs, modelOnly: modelOnly || got.limit === 'cooldown', probe: got.probe };
  }
  return { start, got, reroute };
}

/** The `RATE_LIMITED` answers the local runtime has received. */
const answers = (s: LeaseRunnerSettings): number => s.local.metrics().limits?.rateLimited ?? 0;
