/**
 * `checkToolContract` on correct `withSession` tools: one that passes its signal to `fetch` (a
 * slow vendor, the local OpenAI-compatible server), one that passes it to its timers, and one
 * beside troupe's own tools; and the options it refuses before anything runs. (Planted bugs:
 * tool-mutants.test.ts.)
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { registerTools } from '../../../src/mcp/register.js';
import { withSession } from '../../../src/mcp/with-session.js';
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

it('passes a tool that passes its signal to fetch, reporting progress, and says what the runs met', async () => {
  const report = await checkToolContract({
    register: registerLookup({ vendor: vendor.baseURL }),
    args: [{ word: 'troupe' }, { word: 'actor', delay_ms: 120 }],
    numRuns: 8,
  });
  expect(report.tool).toBe('lookup');
  expect(report.checked.map((c) => c.property)).toEqual([
    'signalHonoured',
    'abortEnds',
    'resultMetadata',
    'progressDelivered',
  ]);
  expect(report.failures).toEqual([]);
  expect(report.handlerMs).toBeGreaterThanOrEqual(150);
  // The aborts met the handler running, and the handler's progress was there to check.
  expect(report.observed.abortsInFlight).toBeGreaterThan(5);
  expect(report.observed.progressReports).toBeGreaterThan(0);
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
  await expect(refused({ tool: 'lookup' })).rejects.toThrow(/Expected `register` to be a function/);
  expect(registered).toBe(0);
  await expect(refused({ register: counting, tool: 'lookpu' })).rejects.toThrow(
    /Expected `tool` to name a tool `register` added \(lookup\), got "lookpu"/,
  );
});
