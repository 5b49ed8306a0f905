/**
 * `troupe load` against a server: its injected hangs, ended by the load's own short deadlines, do
 * not open the server's circuit breaker (a caller's deadline says nothing of the provider). Against
 * a server whose breaker they do open (its minimum timeout set below them): the calls it
 * then refuses end "otherwise than planned", and the summary says why and what to do instead of
 * leaving a newcomer with half the load failed for no stated reason (seen running `troupe load`
 * against `npm start`, breakers on by default there).
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { callOnce } from '../../../src/cli/load.js';
import { registerTools } from '../../../src/mcp/register.js';
import type { LoadItem } from '../../../src/observe/load-plan.js';
import { formatReport, LoadRecorder } from '../../../src/observe/load-report.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

let runtime: Runtime | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  await runtime?.shutdown({ deadlineMs: 0 });
  runtime = undefined;
  close = undefined;
});

const hang: LoadItem = {
  index: 0,
  kind: 'timeout',
  priority: 5,
  model: 'sim-fast',
  stream: false,
  extra: { simulate: 'hang' },
  timeoutMs: 50,
  expected: 'timedOut',
};
const plain: LoadItem = {
  index: 1,
  kind: 'ok',
  priority: 5,
  model: 'sim-fast',
  stream: false,
  extra: { simulateLatencyMs: 1 },
  expected: 'done',
};

/** A `chat` server on the simulated provider with these breakers, and a client connected to it. */
async function serve(breakers: { failures: number; minTimeoutMs?: number }): Promise<Client> {
  runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast' },
    breakers: { windowMs: 60_000, openMs: 60_000, ...breakers },
  });
  const server = new McpServer({ name: 'load-test', version: '1' });
  const tools = registerTools(server, runtime, { tools: ['chat'] });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'load', version: '1' });
  await client.connect(clientSide);
  close = async () => {
    await client.close();
    tools.close();
  };
  return client;
}

describe('troupe load, a server breaker opened by the injected faults', () => {
  it("does not open the server's breaker with its own short deadlines: they tell nothing of the provider", async () => {
    // Even at one failure to open it: a caller's 50 ms deadline is not the provider failing.
    const client = await serve({ failures: 1 });
    for (let i = 0; i < 3; i++) expect(await callOnce(client, hang)).toMatchObject({ state: 'timedOut' });
    expect(await callOnce(client, plain)).toMatchObject({ state: 'done' });
    expect(runtime?.status().breakers ?? []).toEqual([]);
  });

  it('marks the refused calls and says so in the summary', async () => {
    // A server that counts even a 50 ms timeout (its minimum at 1 ms): the hang opens its breaker.
    const client = await serve({ failures: 1, minTimeoutMs: 1 });

    const recorder = new LoadRecorder(2);
    const first = await callOnce(client, hang);
    expect(first).toMatchObject({ state: 'timedOut', code: 'TIMED_OUT' });
    expect(first.breakerOpen).toBeUndefined();
    recorder.record(first);
    const second = await callOnce(client, plain);
    expect(second).toMatchObject({ state: 'failed', code: 'PROVIDER_UNAVAILABLE', breakerOpen: true });
    recorder.record(second);

    const report = recorder.report(false);
    expect(report.unplanned).toBe(1);
    expect(report.unplannedBreakerOpen).toBe(1);
    expect(formatReport(report)).toContain(
      "1 of them failed PROVIDER_UNAVAILABLE because the server's circuit breaker for their provider was open: it counted failures of that provider (5xx, network errors, or timeouts after --breaker-min-timeout-ms). To see only the planned faults, start the server with --breaker-failures 0.",
    );
  });
});
