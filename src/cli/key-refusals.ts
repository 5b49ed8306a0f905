/**
 * A provider that refuses its API key (`AUTH_FAILED`) is the operator's to fix, not the caller's:
 * the host's model reads "Check the provider's key in the server's environment", and the server's
 * log is where its user then looks. So `serve` and `stdio` log it at `warn`, once per provider
 * until a call on that provider succeeds (a host retrying does not fill the log). Until 2026-12-07
 * the log said nothing of it below `debug`. The line names the provider and the vendor's status,
 * never the key.
 */
import type { Logger } from '../observe/logger.js';
import type { Runtime } from '../runtime/types.js';

/** Logs each provider's first refused key (and again after it has answered since); returns the unsubscribe. */
export function logKeyRefusals(
  runtime: Pick<Runtime, 'subscribe'>,
  logger: Pick<Logger, 'warn'>,
): () => void {
  const refusing = new Set<string>();
  return runtime.subscribe((event) => {
    if (event.type !== 'session.ended') return;
    const { result } = event;
    const m = result.metadata;
    // Every provider a session tried: its route with fallbacks, else the one it ran on.
    const hops = m.route ?? [{ provider: m.provider, outcome: result.ok ? 'done' : result.error.code }];
    for (const hop of hops) {
      if (hop.outcome !== 'AUTH_FAILED') {
        if (hop.outcome === 'done') refusing.delete(hop.provider);
        continue;
      }
      if (refusing.has(hop.provider)) continue;
      refusing.add(hop.provider);
      logger.warn(
        { provider: hop.provider, code: 'AUTH_FAILED', sessionId: m.sessionId },
        `provider ${hop.provider} refused its API key (AUTH_FAILED${result.ok ? '' : `: ${result.error.message}`}); set the right key in the server's environment (\`troupe config\` shows which keys are set). Not logged again until a call on ${hop.provider} succeeds.`,
      );
    }
  });
}
