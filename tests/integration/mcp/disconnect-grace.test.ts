/**
 * A 2025-era call whose POST stream closed before its answer (a network that blinked). The
 * 2025-11-25 transport: "Disconnection SHOULD NOT be interpreted as the client cancelling its
 * request." The client resumes with `GET` and `Last-Event-ID` and gets the answer; only a stream no
 * one resumes within `disconnectGraceMs` has its calls cancelled. Until 2026-12-03 the call was
 * cancelled at once, and a resuming client (the SDK's does it by itself) got `CANCELLED`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, startHarness } from './harness.js';
import { HEADERS, openSession, post } from './raw-legacy.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const slow = (ms: number) => [createSimulatedProvider({ name: 'slow', latencyMs: { min: ms, max: ms } })];

/** Starts a `chat` call and cuts its stream once the priming event came; returns that event's id. */
async function callThenCut(url: URL, sid: string): Promise<string> {
  const cut = new AbortController();
  const call = await post(
    url,
    sid,
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'the answer survives a blink', provider: 'slow' } },
    },
    cut.signal,
  );
  const reader = call.body!.getReader();
  let text = '';
  while (!/^id: ?\S+$/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  cut.abort();
  return (/^id: ?(\S+)$/m.exec(text) as RegExpExecArray)[1] as string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a 2025-era call whose POST stream closed before its answer', () => {
  it('goes on, and the client that resumes with Last-Event-ID gets its answer, once', async () => {
    // A grace shorter than the call: the resume must keep it, not only outlast it.
    h = await startHarness({ providers: slow(1500), http: { disconnectGraceMs: 800 } });
    const sid = await openSession(h.url);
    const lastEventId = await callThenCut(h.url, sid);
    await sleep(300); // the network blinks
    expect(h.mcp.runtime.status().running).toBe(1);
    const resumed = await fetch(h.url, {
      method: 'GET',
      headers: {
        ...HEADERS,
        Accept: 'text/event-stream',
        'Mcp-Session-Id': sid,
        'Last-Event-ID': lastEventId,
      },
    });
    expect(resumed.status).toBe(200);
    const text = await resumed.text(); // the stream ends with its answer
    const answers = [...text.matchAll(/^data: (.*"id":7.*)$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(answers).toHaveLength(1);
    expect(answers[0].result.isError).not.toBe(true);
    expect(answers[0].result.structuredContent).toMatchObject({ ok: true });
    expect(h.mcp.runtime.metrics().ended).toMatchObject({ done: 1, cancelled: 0 });
  });

  it('is cancelled when no one resumes its stream within disconnectGraceMs', async () => {
    h = await startHarness({ providers: slow(20_000), http: { disconnectGraceMs: 200 } });
    const sid = await openSession(h.url);
    await callThenCut(h.url, sid);
    expect(h.mcp.runtime.status().running).toBe(1);
    for (let i = 0; i < 100 && h.mcp.runtime.status().running > 0; i++) await sleep(20);
    expect(h.mcp.runtime.status().running).toBe(0);
    expect(h.mcp.runtime.status({ recent: 1 }).recent[0]).toMatchObject({ state: 'cancelled' });
  });

  it('is cancelled at once with disconnectGraceMs 0', async () => {
    h = await startHarness({ providers: slow(20_000), http: { disconnectGraceMs: 0 } });
    const sid = await openSession(h.url);
    await callThenCut(h.url, sid);
    for (let i = 0; i < 50 && h.mcp.runtime.status().running > 0; i++) await sleep(10);
    expect(h.mcp.runtime.status().running).toBe(0);
  });
});
