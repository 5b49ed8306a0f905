/**
 * `troupe load` against a server whose circuit breaker the injected hangs opened: the calls it
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

describe('troupe load, a server breaker opened by the injected faults', () => {
  it('marks the refused calls and says so in the summary', async () => {
    runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
      breakers: { failures: 1, windowMs: 60_000, openMs: 60_000 },
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
      "1 of them failed PROVIDER_UNAVAILABLE because the server's circuit breaker for their provider was open: the injected hangs and timeouts count as provider failures (5 within 30 s open it by default). To see only the planned faults, start the server with --breaker-failures 0.",
    );
  });
});
