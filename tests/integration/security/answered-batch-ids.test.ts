/**
 * A 2025-era batch POST whose stream closes after some of its answers went out: only the calls not
 * answered are cancelled. Until 2026-12-07 every id of the batch was, and an id with no call running
 * (one answered) was remembered as an early abort for 30 s, so a later request reusing it (MCP
 * forbids that, but a client may) started cancelled. Raw JSON-RPC over HTTP, since the SDK's client
 * sends no batches.
 */
import { expect, it } from 'vitest';
import { LEGACY_HEADERS, openLegacySession } from '../../support/raw-session.js';
import { startHarness } from '../mcp/harness.js';

const call = (id: string, provider: string, latencyMs?: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name: 'chat',
    arguments: {
      prompt: 'hi',
      provider,
      ...(latencyMs === undefined ? {} : { extra: { simulateLatencyMs: latencyMs } }),
    },
  },
});

/** Reads `res`'s stream until `text` has come, then closes it. */
async function readUntil(res: Response, closing: AbortController, text: string): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  closing.abort();
  return seen;
}

/** A 2025-era session on a harness whose closed streams wait `graceMs` for a resume. */
async function session(graceMs: number) {
  const h = await startHarness({ http: { disconnectGraceMs: graceMs } });
  const sid = await openLegacySession(h.url);
  const post = (body: unknown, signal?: AbortSignal) =>
    fetch(h.url, {
      method: 'POST',
      headers: { ...LEGACY_HEADERS, 'Mcp-Session-Id': sid },
      body: JSON.stringify(body),
      ...(signal === undefined ? {} : { signal }),
    });
  return { h, sid, post };
}

it('cancels only the unanswered calls of a dropped batch, so an answered id is not remembered as cancelled', async () => {
  // Every closed stream cancels at once (no grace for a resume).
  const { h, post } = await session(0);
  try {
    // A fast call answered on the stream, and a slow one still running when the client drops it.
    const closing = new AbortController();
    const res = await post([call('quick', 'fast'), call('long', 'slow')], closing.signal);
    expect(res.status).toBe(200);
    const seen = await readUntil(res, closing, '"id":"quick"');
    expect(seen).toContain('"id":"quick"');
    expect(seen).not.toContain('"id":"long"');
    // The slow call is cancelled; nothing is remembered for the answered one.
    await expect.poll(() => h.mcp.calls.size, { timeout: 5000 }).toBe(0);
    expect(h.mcp.runtime.sessions()).toEqual([]);
    expect(h.mcp.calls.earlyAborts).toBe(0);

    // The answered id, sent again: it runs, and is answered, not cancelled before it starts.
    const again = await post(call('quick', 'fast'));
    expect(again.status).toBe(200);
    const body = await again.text();
    expect(body).toContain('"id":"quick"');
    expect(body).not.toMatch(/CANCELLED|"isError":true/);
    expect(body).toContain('"ok":true');
  } finally {
    await h.close();
  }
}, 30_000);

it('cancels only the unanswered calls when a resumed stream of a batch closes', async () => {
  const { h, sid, post } = await session(1000);
  try {
    const closing = new AbortController();
    const res = await post([call('quick', 'fast'), call('long', 'fast', 60_000)], closing.signal);
    const seen = await readUntil(res, closing, '"id":"quick"');
    // The answer's event id: the stream is resumed after it.
    const lastEventId = /id: ?(\S+)\n(?:event: ?\S+\n)?data: ?\{[^\n]*"id":"quick"/.exec(seen)?.[1];
    expect(lastEventId).toBeDefined();
    const resuming = new AbortController();
    const resumed = await fetch(h.url, {
      method: 'GET',
      headers: { ...LEGACY_HEADERS, 'Mcp-Session-Id': sid, 'Last-Event-ID': lastEventId as string },
      signal: resuming.signal,
    });
    expect(resumed.status).toBe(200);
    // Closed again, not resumed: the call still running is cancelled a second later.
    resuming.abort();
    await expect.poll(() => h.mcp.calls.size, { timeout: 10_000 }).toBe(0);
    expect(h.mcp.calls.earlyAborts).toBe(0);
    const again = await (await post(call('quick', 'fast'))).text();
    expect(again).toContain('"ok":true');
  } finally {
    await h.close();
  }
}, 30_000);
