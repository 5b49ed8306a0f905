/**
 * `host.callTool` never throws and refuses a call option it does not take, and `wrapClient`
 * refuses an option it does not take. Before: a misspelt `{ timeout: 100 }` on a call (or on
 * `wrapClient`) was ignored, so a call meant to give up after 100 ms waited out the 60 s default;
 * and `host.callTool('typo', ...)` threw synchronously, though it is documented (and typed) to
 * resolve a result with metadata for every failure.
 */
import { describe, expect, it } from 'vitest';
import {
  createHost,
  type HostCallOptions,
  type HostClientOptions,
  type ToolCaller,
  wrapClient,
} from '../../src/host/index.js';
import { createRuntime } from '../../src/runtime/runtime.js';

/** A server whose one tool waits for the call's signal: a call ends only on its deadline or abort. */
function hangingClient(): ToolCaller & { calls: number } {
  const client = {
    calls: 0,
    callTool: (_params: unknown, options?: { signal?: AbortSignal }) => {
      client.calls += 1;
      return new Promise<never>((_, reject) => {
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
      });
    },
  };
  return client;
}

describe('host.callTool', () => {
  it('cuts a long lane/tool label to what a session keeps instead of refusing the call (review)', async () => {
    const client = {
      calls: 0,
      callTool: async () => ({ content: [{ type: 'text' as const, text: 'ok' }] }),
    };
    const lane = 's'.repeat(130);
    const host = createHost({ servers: { [lane]: client } });
    const result = await host.callTool(lane, { name: 't'.repeat(128), arguments: {} });
    expect(result.ok).toBe(true);
  });

  it.each([
    [
      undefined,
      undefined,
      "Expected `callTool`'s params to be { name, arguments? } with a string name, got `undefined`",
    ],
    [
      { name: 5 },
      undefined,
      'Expected `callTool`\'s params to be { name, arguments? } with a string name, got `{"name":5}` (object)',
    ],
    [{ name: 'lookup' }, null, "Expected `callTool`'s options to be an object, got `null`"],
  ])(
    'resolves a refusal for params %o and options %o, as documented, and calls nothing',
    async (params, options, message) => {
      // Before, each of these rejected out of a call documented never to throw (library audit).
      const client = hangingClient();
      const host = createHost({ servers: { docs: client } });
      const result = await host.callTool('docs', params as never, options as never);
      expect(result.ok).toBe(false);
      expect(result.ok ? undefined : result.error).toMatchObject({ code: 'INVALID_REQUEST', message });
      expect(result.metadata).toMatchObject({ provider: 'docs', state: 'failed', attempts: 0 });
      expect(client.calls).toBe(0);
    },
  );

  it('refuses a misspelt call option as INVALID_REQUEST instead of running under the default deadline', async () => {
    const client = hangingClient();
    const host = createHost({ servers: { docs: client } });
    const result = await host.callTool('docs', { name: 'lookup', arguments: {} }, {
      timeout: 50,
    } as unknown as HostCallOptions);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('in `callTool options`, got `timeout`'),
    });
    expect(result.metadata).toMatchObject({
      provider: 'docs',
      model: 'lookup',
      state: 'failed',
      attempts: 0,
    });
    expect(client.calls).toBe(0);
    // The documented spelling still works: the call ends at its deadline.
    const timed = await host.callTool('docs', { name: 'lookup', arguments: {} }, { timeoutMs: 50 });
    expect(timed.metadata.state).toBe('timedOut');
    await host.shutdown({ deadlineMs: 0 });
  });

  it('resolves a failure with metadata for a server it does not have, instead of throwing', async () => {
    const host = createHost({ servers: { docs: hangingClient() } });
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = host.callTool('dosc', { name: 'lookup', arguments: {} }, { priority: 7 });
    }).not.toThrow();
    const result = await pending;
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('got "dosc"') },
      metadata: { provider: 'dosc', model: 'lookup', priority: 7, state: 'failed', code: 'INVALID_REQUEST' },
    });
    // `server(name)` is still the strict lookup.
    expect(() => host.server('dosc')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    await host.shutdown({ deadlineMs: 0 });
  });
});

describe('wrapClient', () => {
  it('refuses a misspelt option instead of running under the default deadline', async () => {
    const runtime = createRuntime({ providers: [] });
    expect(() =>
      wrapClient(hangingClient(), runtime, { lane: 'docs', timeout: 50 } as unknown as HostClientOptions),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('in `wrapClient options`, got `timeout`'),
      }),
    );
    const wrapped = wrapClient(hangingClient(), runtime, {
      lane: 'docs',
      retrySafe: ['lookup'],
      maxAttempts: 2,
      priority: 6,
      timeoutMs: 50,
    });
    expect((await wrapped.callTool({ name: 'lookup', arguments: {} })).metadata.state).toBe('timedOut');
    await runtime.shutdown({ deadlineMs: 0 });
  });
});

describe('retrySafe', () => {
  it('refuses a bare string instead of reading it as a set of letters', () => {
    expect(() =>
      createHost({
        servers: { docs: { client: hangingClient(), retrySafe: 'lookup' as unknown as string[] } },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining(
          '`retrySafe` to be an array of tool names or a function, got "lookup"',
        ),
      }),
    );
  });
});
