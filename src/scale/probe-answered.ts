/**
 * Which events on the bus may say a provider's probe was answered: its session ended, retries, or
 * moved on to a fallback (the provider it left). What a probe held back waits for one of them
 * (`SessionQueue.wake`, `LocalRuntime.wake`), rather than for the probe's lapse.
 */
import type { RuntimeEvent } from '../runtime/types.js';

export function probeAnswered(event: RuntimeEvent): { provider: string; sessionId: string } | undefined {
  if (event.type === 'session.ended' || event.type === 'session.retry')
    return { provider: event.provider, sessionId: event.sessionId };
  if (event.type === 'session.fallback') return { provider: event.from.provider, sessionId: event.sessionId };
  return undefined;
}
