import { resolveDefaults, resolveSubmitOptions, sessionInput } from '../../src/runtime/options.js';

/**
 * What a shared queue hands a local runtime (`LocalRuntime.adopt`): a session for provider `p`
 * (or `overrides.provider`), model `m`, admitted elsewhere at `now`, retried without backoff.
 */
export function adopted(
  now: number,
  id: string,
  overrides: { provider?: string; queueTimeoutMs?: number } = {},
) {
  const resolved = resolveSubmitOptions(
    { queueTimeoutMs: overrides.queueTimeoutMs ?? 1000 },
    resolveDefaults(),
  );
  const input = sessionInput(
    { sessionId: id, requestId: undefined },
    { lane: overrides.provider ?? 'p', model: 'm', stream: false },
    now,
    resolved,
    resolveDefaults({ backoffBaseMs: 0, backoffMaxMs: 0 }),
  );
  return { input, request: { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }] } };
}
