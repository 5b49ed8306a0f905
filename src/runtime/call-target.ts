/**
 * Where a session's next call goes, for the limits it must pass: its current fallback target (after
 * a hop, the one it moved to), and whether that call is a hop that leaves the slot it holds.
 */
import type { RouteTargetData } from '../../machines/routing.js';
import type { SessionRecord } from './session-record.js';

/** A provider and a model of it. */
export type Target = Pick<RouteTargetData, 'provider' | 'model'>;

/** The provider and model of a session's next call: its current fallback target, if it has a chain. */
export function targetOf(record: SessionRecord): Target {
  // Stryker disable next-line ConditionalExpression: without targets the context's routing is null (initialContext).
  const context = record.input.targets === undefined ? undefined : record.actor?.getSnapshot().context;
  // Stryker disable next-line OptionalChaining: routing is set only with targets.
  const target = context?.routing == null ? undefined : context.input.targets?.[context.routing.target];
  return target ?? { provider: record.provider, model: record.input.model };
}

/**
 * Whether a session's next call is a hop: it goes to another provider than the slot it holds, or
 * it holds none (it left its queue for a fallback, `reroutes`), even when that fallback is another
 * model of the same provider: every call in flight holds a slot of the provider it goes to.
 */
export function hops(record: SessionRecord, provider: string): boolean {
  return record.admitted && (record.laneless === true || provider !== record.provider);
}
