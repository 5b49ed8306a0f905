/**
 * A provider refusing its API key reaches the server's log at `warn`, once per provider until a
 * call on it succeeds, and never with the key (`src/cli/key-refusals.ts`). Until 2026-12-07 a
 * host's model read "Check the provider's key in the server's environment" and the log, at its
 * default level, said nothing.
 */
import { describe, expect, it } from 'vitest';
import { logKeyRefusals } from '../../../src/cli/key-refusals.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

describe('logKeyRefusals', () => {
  it('warns once per provider that refuses its key, again after it has answered since', async () => {
    const runtime = createRuntime({
      providers: [
        createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } }),
        createSimulatedProvider({ name: 'other', latencyMs: { min: 0, max: 0 } }),
      ],
      defaults: { model: 'sim-fast', maxAttempts: 1 },
    });
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    logKeyRefusals(runtime, {
      warn: (fields: object, message?: string) =>
        lines.push({ fields: fields as Record<string, unknown>, message: message ?? '' }),
    } as never);
    const call = async (provider: string, simulate?: string) =>
      runtime.submit({
        provider,
        messages: [{ role: 'user', content: 'q' }],
        ...(simulate === undefined ? {} : { extra: { simulate } }),
      }).result;
    try {
      await call('sim', 'auth_failed');
      await call('sim', 'auth_failed');
      await call('sim', 'rate_limited');
      expect(lines.map((l) => l.fields.provider)).toEqual(['sim']);
      expect(lines[0]?.message).toMatch(/^provider sim refused its API key \(AUTH_FAILED: .*401\)/);
      await call('other', 'auth_failed');
      await call('sim');
      await call('sim', 'auth_failed');
      expect(lines.map((l) => l.fields.provider)).toEqual(['sim', 'other', 'sim']);
    } finally {
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });
});
