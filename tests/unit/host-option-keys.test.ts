/**
 * `createHost` refuses a field it does not take, at the top level and in a server's entry, naming
 * it: from JavaScript `{ client, maxConcurent: 2 }` used to be ignored, and the server ran under the
 * default limit of 4.
 */
import { describe, expect, it } from 'vitest';
import { createHost, type HostOptions } from '../../src/host/index.js';

const client = { callTool: async () => ({ content: [] }) };
const create = (options: unknown) => createHost(options as HostOptions);

describe('createHost refuses fields it does not take', () => {
  it('in a server entry', () => {
    expect(() => create({ servers: { docs: { client, maxConcurent: 2 } } })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('in `servers.docs`, got `maxConcurent`'),
      }),
    );
  });

  it('at the top level', () => {
    expect(() => create({ servers: { docs: client }, maxConcurent: 2 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('in `createHost options`, got `maxConcurent`'),
      }),
    );
  });

  // Until 2026-12-04 such an entry was taken for a client itself: no error at creation (not even
  // for a misspelt key), its options dropped, and every call a provider's BAD_RESPONSE later.
  it.each([
    ['an un-awaited connect()', () => Promise.resolve(client), 'got a Promise: await the connection first'],
    ['a client without callTool', () => ({ call: async () => ({}) }), 'got `{}` (object)'],
    ['nothing', () => undefined, 'got `undefined`'],
  ])('refuses a server whose client is %s, at creation, by name', (_what, make, got) => {
    for (const servers of [{ docs: { client: make(), maxConcurrent: 1 } }, { docs: make() }]) {
      expect(() => create({ servers })).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: `servers.docs: Expected a connected MCP client (an object with callTool), ${got}`,
        }),
      );
    }
  });

  // Until 2026-12-05 these were taken and did nothing: the limits are the host's own runtime's, and
  // a host on yours has none (a server's `maxConcurrent` was refused already).
  it.each(['maxConcurrent', 'maxQueued', 'maxQueuedBytes'])(
    'refuses a top-level `%s` beside your own runtime, saying where the limit goes',
    async (limit) => {
      const { createRuntime } = await import('../../src/runtime/runtime.js');
      const runtime = createRuntime({ providers: [] });
      expect(() => create({ servers: { docs: client }, runtime, [limit]: 3 })).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: `Expected no \`${limit}\` in \`createHost options\` with your own runtime (it sets the host's own runtime's limit); set \`limits.${limit}\` on your runtime instead`,
        }),
      );
      await runtime.shutdown({ deadlineMs: 0 });
    },
  );

  it('takes every documented field', async () => {
    const host = create({
      servers: {
        docs: {
          client,
          maxConcurrent: 2,
          retrySafe: ['lookup'],
          maxAttempts: 2,
          priority: 6,
          timeoutMs: 1000,
        },
        bare: client,
      },
      maxConcurrent: 8,
      maxQueued: 100,
      maxQueuedBytes: 1_000_000,
    });
    expect(host.servers).toEqual(['docs', 'bare']);
    const result = await host.callTool('docs', { name: 'lookup', arguments: {} });
    expect(result.ok).toBe(true);
    await host.shutdown({ deadlineMs: 0 });
  });
});

// Until 2026-12-05 a server named as one of your runtime's chat providers was taken: its tool calls
// queued behind that provider's chats, took its slots, and said `provider: '<it>'` in their metadata.
describe('a server named as one of your runtime’s chat providers', () => {
  it('is refused by createHost and by wrapClient, naming the providers', async () => {
    const { createRuntime } = await import('../../src/runtime/runtime.js');
    const { createSimulatedProvider } = await import('../../src/providers/simulated.js');
    const { wrapClient } = await import('../../src/host/index.js');
    const runtime = createRuntime({ providers: [createSimulatedProvider({ name: 'kimi' })] });
    const refused = expect.objectContaining({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining(
        'Expected a lane that is none of the runtime\'s chat providers (kimi), got "kimi"',
      ),
    });
    expect(() => create({ servers: { kimi: client }, runtime })).toThrow(refused);
    expect(() => wrapClient(client, runtime, { lane: 'kimi' })).toThrow(refused);
    // Another name is taken, on your runtime and on the host's own (which has no chat provider).
    expect(create({ servers: { docs: client }, runtime }).server('docs').lane).toBe('docs');
    expect(create({ servers: { kimi: client } }).server('kimi').lane).toBe('kimi');
    await runtime.shutdown();
  });
});
