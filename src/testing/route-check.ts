/**
 * `routeWithinDeadline`: a session's route (its fallback hops, `metadata.route`) accounts for its
 * run time, ends where the session did, and hops only before the run deadline (docs/routing.md).
 */
import type { SessionMetadata } from '../runtime/types.js';

/**
 * What is wrong with the route of session `id`, which fell back `fallbacks` times, given its run
 * timeout when the caller knows it: each breach's detail, none when nothing is.
 */
export function routeViolations(
  id: string,
  fallbacks: number,
  metadata: SessionMetadata,
  timeoutMs: number | undefined,
): string[] {
  const route = metadata.route;
  if (route === undefined) return fallbacks > 0 ? [`session ${id} fell back but has no route`] : [];
  const out: string[] = [];
  const total = route.reduce((sum, hop) => sum + hop.ms, 0);
  if (total !== metadata.runMs)
    out.push(`session ${id}: its route adds up to ${total} ms, it ran ${metadata.runMs} ms`);
  const last = route[route.length - 1];
  if (metadata.runMs > 0 && (last?.provider !== metadata.provider || last.model !== metadata.model))
    out.push(
      `session ${id} ended on ${metadata.provider}/${metadata.model}, its route on ${last?.provider}/${last?.model}`,
    );
  const beforeLast = total - (last?.ms ?? 0);
  if (timeoutMs !== undefined && route.length > 1 && beforeLast >= timeoutMs)
    out.push(`session ${id} hopped ${beforeLast} ms into a run deadline of ${timeoutMs} ms`);
  return out;
}
