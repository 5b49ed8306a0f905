/**
 * `checkToolContract` on correct `withSession` tools: one that passes its signal to `fetch` (a
 * slow vendor, the local OpenAI-compatible server), one that passes it to its timers, and one
 * beside troupe's own tools, over the in-memory transport and over Streamable HTTP; and the options
 * it refuses before anything runs. (Planted bugs: tool-mutants.test.ts.)
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { registerTools } from '../../../src/mcp/register.js';
import { withSession } from '../../../src/mcp/with-session.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { checkToolContract } from '../../../src/testing/tool/check.js';
import type { ToolContractOptions } from '../../../src/testing/tool/types.js';
import { registerLookup } from '../../support/tool-handlers.js';

let vendor: OpenAIServer;

beforeAll(async () => {
  vendor = createOpenAIServer();
  await vendor.start();
});

afterAll(async () => {
  await vendor.close();
});

it.each(['memory', 'http'] as const)(
  'passes a tool that passes its signal to fetch, reporting progress, over %s, and says what the runs met',
  async (transport) => {
    const report = await checkToolContract({
      register: registerLookup({ vendor: vendor.baseURL }),
      args: [{ word: 'troupe' }, { word: 'actor', delay_ms: 120 }],
      numRuns: 8,
      transport,
      requireProgress: true,
    });
    expect(report.tool).toBe('lookup');
    expect(report.transport).toBe(transport);
    expect(report.checked.map((c) => c.property)).toEqual([
      'signalHonoured',
      'abortEnds',
      'resultMetadata',
      'progressDelivered',
      'disconnectEnds',
    ]);
    expect(report.failures).toEqual([]);
    expect(report.handlerMs).toBeGreaterThanOrEqual(150);
    // The aborts and disconnects met the handler running, and the handler's progress was there to check.
    expect(report.observed.abortsInFlight).toBeGreaterThan(5);
    expect(report.observed.disconnectsInFlight).toBeGreaterThan(3);
    expect(report.observed.progressReports).toBeGreaterThan(0);
  },
  60_000,
);

it.each(['memory', 'http'] as const)(
  'passes a tool that asks its model with `session.submit`, whose model calls end with the call, over %s',
  async (transport) => {
    const provider = createOpenAICompatibleProvider({
      name: 'vendor',
      baseURL: vendor.baseURL,
      apiKey: 'sk-tool-test',
    });
    try {
      const report = await checkToolContract({
        register: registerLookup({ viaRuntime: true }),
        args: { word: 'troupe' },
        runtime: { providers: [provider] },
        numRuns: 8,
        transport,
      });
      expect(report.failures).toEqual([]);
      // Aborts met the model calls in flight, so the check of their end had something to judge.
      expect(report.observed.abortsInFlight).toBeGreaterThan(2);
      expect(report.observed.disconnectsInFlight).toBeGreaterThan(0);
    } finally {
      await provider.close?.();
    }
  },
  60_000,
);

it('over HTTP registers the tool for each request, closes what each register returned, and leaves no socket open', async () => {
  const open = (kind: string) => process.getActiveResourcesInfo().filter((name) => name === kind).length;
  // The vendor server of the other tests listens throughout; its idle sockets may close meanwhile.
  const before = { servers: open('TCPServerWrap'), sockets: open('TCPSocketWrap') };
  let registered = 0;
  let closed = 0;
  const register: ToolContractOptions['register'] = (server, runtime) => {
    registered += 1;
    registerLookup()(server, runtime);
    return () => {
      closed += 1;
    };
  };
  const report = await checkToolContract({
    register,
    args: { word: 'troupe', delay_ms: 80 },
    numRuns: 3,
    transport: 'http',
  });
  expect(report.failures).toEqual([]);
  expect(registered).toBeGreaterThan(20);
  expect(closed).toBe(registered);
  expect(open('TCPServerWrap')).toBe(before.servers);
  expect(open('TCPSocketWrap')).toBeLessThanOrEqual(before.sockets);
}, 60_000);

it('passes a tool that passes its signal to its timers', async () => {
  const report = await checkToolContract({
    register: registerLookup(),
    args: { word: 'troupe', delay_ms: 80 },
    numRuns: 8,
    seed: 7,
  });
  expect(report.seed).toBe(7);
  expect(report.failures).toEqual([]);
}, 60_000);

it('checks the named tool beside troupe’s own, and calls what register returns when done', async () => {
  let closed = false;
  const register: ToolContractOptions['register'] = (server, runtime) => {
    registerLookup({ vendor: vendor.baseURL })(server, runtime);
    const troupe = registerTools(server, runtime, { tools: ['sessions'], prefix: 'troupe_' });
    return () => {
      closed = true;
      troupe.close();
    };
  };
  await expect(checkToolContract({ register, numRuns: 1 })).rejects.toThrow(
    /Expected `register` to add one tool, or `tool` to name the one to check, got troupe_sessions, lookup/,
  );
  expect(closed).toBe(true);
  const report = await checkToolContract({ register, tool: 'lookup', args: { word: 'a' }, numRuns: 3 });
  expect(report.failures).toEqual([]);
}, 60_000);

it('refuses a handler too quick for an abort to meet, unless only the answer’s properties are asked for', async () => {
  const register = (server: McpServer, runtime: Runtime) => {
    server.registerTool(
      'quick',
      { inputSchema: z.object({}) },
      withSession(runtime, async () => ({ content: [{ type: 'text', text: 'at once' }] })),
    );
  };
  await expect(checkToolContract({ register, numRuns: 2 })).rejects.toThrow(
    /Expected the handler to run at least 20 ms .* got an answer in \d+ ms; or pass `only: \['resultMetadata', 'progressDelivered'\]`/,
  );
  const report = await checkToolContract({
    register,
    numRuns: 2,
    only: ['resultMetadata', 'progressDelivered'],
  });
  expect(report.checked.map((c) => c.property)).toEqual(['resultMetadata', 'progressDelivered']);
  expect(report.observed.progressReports).toBe(0);
});

it('refuses what would check less than asked, before anything runs', async () => {
  const register = registerLookup();
  let registered = 0;
  const counting: ToolContractOptions['register'] = (server, runtime) => {
    registered += 1;
    register(server, runtime);
  };
  const refused = (options: unknown) => checkToolContract(options as ToolContractOptions);
  await expect(refused({ register: counting, numRun: 5 })).rejects.toThrow(/got `numRun`/);
  await expect(refused({ register: counting, only: ['signalHonored'] })).rejects.toThrow(
    /Expected `only` to list properties of the tool contract .* got "signalHonored"/,
  );
  await expect(refused({ register: counting, only: [] })).rejects.toThrow(/got \[\]/);
  await expect(refused({ register: counting, args: [] })).rejects.toThrow(/non-empty list/);
  await expect(refused({ register: counting, abortWithinMs: 0 })).rejects.toThrow(RangeError);
  await expect(refused({ register: counting, seed: Number.NaN })).rejects.toThrow(/to be an integer/);
  await expect(refused({ register: counting, numRuns: 0 })).rejects.toThrow(/whole number from 1/);
  await expect(refused({ tool: 'lookup' })).rejects.toThrow(
    /Expected `register` in `checkToolContract options` to be a function/,
  );
  await expect(refused({ register: counting, transport: 'https' })).rejects.toThrow(
    /Expected `transport` in `checkToolContract options` to be 'memory' or 'http', got "https"/,
  );
  await expect(refused({ register: counting, requireProgress: 'yes' })).rejects.toThrow(
    /Expected `requireProgress` in `checkToolContract options` to be true or false, got "yes"/,
  );
  await expect(refused({ register: counting, requireProgres: true })).rejects.toThrow(/got `requireProgres`/);
  expect(registered).toBe(0);
  await expect(refused({ register: counting, tool: 'lookpu' })).rejects.toThrow(
    /Expected `tool` to name a tool `register` added \(lookup\), got "lookpu"/,
  );
});

it.each(['memory', 'http'] as const)('passes on what register throws, over %s', async (transport) => {
  const register = () => {
    throw new Error('the vendor key is missing');
  };
  await expect(checkToolContract({ register, transport, numRuns: 1 })).rejects.toThrow(
    'the vendor key is missing',
  );
});

it('passes a handler that reports no progress unless progress is required', async () => {
  const register = registerLookup({ bug: 'no-progress' });
  const report = await checkToolContract({
    register,
    args: { word: 'a' },
    numRuns: 3,
    only: ['progressDelivered'],
  });
  expect(report.observed.progressReports).toBe(0);
  await expect(
    checkToolContract({
      register,
      args: { word: 'a' },
      numRuns: 3,
      only: ['progressDelivered'],
      requireProgress: true,
    }),
  ).rejects.toThrow(/progressDelivered: Expected the handler to report progress/);
}, 30_000);

it('names arguments the tool’s inputSchema refuses as such, not as a tool without withSession', async () => {
  // Until 2026-12-05: "Expected the tool to run its handler as a troupe session (...), got an isError
  // result "Input validation error: ..." with no session started".
  const error = await checkToolContract({
    register: registerLookup({ vendor: vendor.baseURL }),
    args: { wrd: 'troupe' },
    numRuns: 1,
  }).then(
    () => undefined,
    (thrown: unknown) => thrown as Error,
  );
  expect(error?.message).toMatch(
    /resultMetadata: Expected `args` the tool's inputSchema takes, got \{"wrd":"troupe"\} refused: an isError result "Input validation error: /,
  );
});

it('passes a tool whose `structuredContent` is an array, which has no room for the session and is answered as it is', async () => {
  const report = await checkToolContract({
    register: (server: McpServer, runtime: Runtime) => {
      server.registerTool(
        'letters',
        { inputSchema: z.object({ word: z.string() }) },
        withSession(runtime, async ({ word }, session) => {
          await new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, 60);
            session.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(session.signal.reason);
            });
          });
          return { content: [{ type: 'text', text: word }], structuredContent: [...word] };
        }),
      );
    },
    args: { word: 'troupe' },
    numRuns: 3,
    only: ['resultMetadata'],
  });
  expect(report.failures).toEqual([]);
}, 30_000);
