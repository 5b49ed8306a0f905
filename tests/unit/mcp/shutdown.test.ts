/**
 * `gracefulStop`'s `signal` (`src/mcp/shutdown.ts`): aborted while the drain runs, it cancels what is
 * live with its reason rather than leaving it to the deadline. `troupe stdio` aborts it when its host
 * goes while a signal's drain runs (until 2026-12-07 stdio cancelled those sessions itself, beside
 * the stop; the e2e test in tests/e2e/stdio-vendor-host.test.ts shows it through the built CLI).
 */
import { afterEach, expect, it } from 'vitest';
import { createMcpContext, type McpContext } from '../../../src/mcp/context.js';
import { gracefulStop } from '../../../src/mcp/shutdown.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { heldProvider } from '../../support/held-provider.js';

/**
 * A drain left to this deadline cancels with the runtime's own reason and reports it at the
 * deadline, so an ignored signal fails on what it reports (before the test's timeout).
 */
const DEADLINE_MS = 3_000;

let mcp: McpContext | undefined;
afterEach(async () => {
  await mcp?.runtime.shutdown({ deadlineMs: 0 });
  mcp = undefined;
});

/** A runtime whose calls never answer, with `count` of them running, and a stop that waits on them. */
async function running(count: number) {
  const held = heldProvider();
  const runtime = createRuntime({ providers: [held.provider], defaults: { model: 'm' } });
  mcp = createMcpContext({ runtime });
  const handles = Array.from({ length: count }, (_, i) =>
    runtime.submit({ messages: [{ role: 'user', content: `call ${i}` }] }),
  );
  await expect.poll(() => held.started.length).toBe(count);
  return { runtime, handles, context: mcp };
}

const quietly = { flushMs: 0, closeTransports: async () => {} };

it('cancels what is live with the signal’s reason once aborted while draining, not at the deadline', async () => {
  const { handles, context } = await running(2);
  const cut = new AbortController();
  const stopping = gracefulStop(context, { ...quietly, deadlineMs: DEADLINE_MS, signal: cut.signal });
  cut.abort('the host went away while the server was draining');
  const report = await stopping;
  for (const handle of handles) {
    const result = await handle.result;
    expect(result.metadata.state).toBe('cancelled');
    expect(result.ok ? undefined : result.error.message).toContain(
      'the host went away while the server was draining',
    );
  }
  // Not cancelled at the deadline: ended while draining, and counted as cancelled.
  expect(report.cancelled).toEqual([]);
  expect(report.endedByState).toEqual({ cancelled: 2 });
});

it('cuts the drain at once when the signal was aborted before the stop began', async () => {
  const { handles, context } = await running(1);
  const report = await gracefulStop(context, {
    ...quietly,
    deadlineMs: DEADLINE_MS,
    signal: AbortSignal.abort('gone before'),
  });
  const result = await handles[0]?.result;
  expect(result?.ok ? undefined : result?.error.message).toContain('gone before');
  expect(report.endedByState).toEqual({ cancelled: 1 });
});

it('gives a reason of its own when the signal’s is not a string', async () => {
  const { handles, context } = await running(1);
  const cut = new AbortController();
  const stopping = gracefulStop(context, { ...quietly, deadlineMs: DEADLINE_MS, signal: cut.signal });
  cut.abort();
  await stopping;
  const result = await handles[0]?.result;
  expect(result?.ok ? undefined : result?.error.message).toContain('the drain was cut short');
});

it('leaves sessions to the deadline while the signal is not aborted', async () => {
  const { handles, context } = await running(1);
  const cut = new AbortController();
  const report = await gracefulStop(context, { ...quietly, deadlineMs: 50, signal: cut.signal });
  expect(report.cancelled).toHaveLength(1);
  expect((await handles[0]?.result)?.metadata.state).toBe('cancelled');
  // An abort after the stop has nothing left to cut, and throws nothing.
  cut.abort('late');
});
