/**
 * `host.callTool` never throws and refuses a call option it does not take, and `wrapClient`
 * refuses an option it does not take. Before: a misspelt `{ timeout: 100 }` on a call (or on
 * `wrapClient`) was ignored, so a call meant to give up after 100 ms waited out the 60 s default;
 * and `host.callTool('typo', ...)` threw synchronously, though it is documented (and typed) to
 * resolve a result with metadata for every failure.
 */
import { describe, expect, it } from 'vitest';
import { toHostError } from '../../src/host/client.js';
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

describe('toHostError', () => {
  const err = (message: string, code?: string | number) =>
    Object.assign(new Error(message), code === undefined ? {} : { code });
  // What a retry-safe tool is retried on: a lost connection or the server's internal error, never a
  // call the server refused or an answer it cannot give.
  it.each([
    ['a lost connection (SdkError)', 'NETWORK', true, err('socket hang up', 'CONNECTION_CLOSED')],
    ['an invalid result (SdkError)', 'NETWORK', false, err('bad', 'INVALID_RESULT')],
    ['a capability the server lacks', 'NETWORK', false, err('no', 'CAPABILITY_NOT_SUPPORTED')],
    ['invalid params (-32602)', 'INVALID_REQUEST', false, err('bad args', -32602)],
    ['an unknown method (-32601)', 'INVALID_REQUEST', false, err('no such', -32601)],
    ['an invalid request (-32600)', 'INVALID_REQUEST', false, err('invalid', -32600)],
    ['an internal error (-32603)', 'PROVIDER_UNAVAILABLE', true, err('boom', -32603)],
    ['a server-defined error (-32000)', 'PROVIDER_UNAVAILABLE', false, err('tool said no', -32000)],
    ['a closed transport', 'NETWORK', true, err('Not connected')],
    ['anything else', 'BAD_RESPONSE', false, err('odd')],
  ])('maps %s to %s, retryable: %s', (_what, code, retryable, error) => {
    const mapped = toHostError(error, 'docs', 'lookup');
    expect(mapped).toMatchObject({ code, retryable });
    expect(mapped.message).toContain('docs/lookup');
  });
});

describe('createHost', () => {
  it('refuses a host with no server at creation', () => {
    expect(() => createHost({ servers: {} })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: 'Expected at least one server, got none' }),
    );
  });

  it('leaves your own runtime running when the host shuts down', async () => {
    const runtime = createRuntime({ providers: [], limits: { perProvider: { docs: 1 } } });
    const host = createHost({ servers: { docs: { callTool: async () => ({ content: [] }) } }, runtime });
    expect(await host.shutdown({ deadlineMs: 0 })).toEqual({ finished: 0, cancelled: [] });
    expect(runtime.status().state).toBe('accepting');
    expect((await host.callTool('docs', { name: 'lookup' })).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('hands the server’s progress notifications to the call’s onProgress', async () => {
    const client: ToolCaller = {
      callTool: async (_params, options) => {
        options?.onprogress?.({ progress: 1, total: 2, message: 'half' });
        return { content: [] };
      },
    };
    const host = createHost({ servers: { docs: client } });
    const seen: unknown[] = [];
    const result = await host.callTool('docs', { name: 'lookup' }, { onProgress: (p) => seen.push(p) });
    expect(result.ok).toBe(true);
    expect(seen).toEqual([{ progress: 1, total: 2, message: 'half' }]);
    await host.shutdown({ deadlineMs: 0 });
  });
});
