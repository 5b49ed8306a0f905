/**
 * Answers each within the unsent bytes bound (`maxUnsentBytes`) that pass it together, while their
 * client has not read them yet: one that does not fit beside the others is held until they have
 * gone out, then sent whole, in both protocol eras (`http-held.ts`); one that fits beside neither
 * those waiting nor those held goes as an error for its id. Until 2026-12-07 all were written and
 * the next check cut a response off: the 2026-07-28 client's call failed on a closed connection,
 * with nothing about why; in the 2025-era run the client resumed the cut streams (`Last-Event-ID`)
 * and its calls were answered, but responses were cut there too (two, with the holding taken out): the
 * count of cut responses read 0 whatever happened until a later 2026-12-07 change. The SDK's own client over real
 * HTTP; its fetch holds the answers' bytes back for a while, as a client on a slow link would.
 * Also: a 2025-era `Last-Event-ID` replay of a finished stream, which Hono's adapter sends with a
 * `Content-Length`, now goes chunked, so an answer's error in it is whole.
 */
import type { ServerResponse } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../support/until.js';
import { type Harness, startHarness, structured } from '../mcp/harness.js';
import { largeAnswers, slowLink } from './large-answers.js';
import { HEADERS, openSession } from './raw-http.js';

const MiB = 1024 * 1024;
/** Each answer carries it twice (`content` and `structuredContent`): about 6 MB, more than a loopback socket's buffers take. */
const TEXT = 3_000_000;
const BOUND = 8 * MiB;

const harnesses: Harness[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const refusal = {
  error: {
    code: 'INVALID_REQUEST',
    message: expect.stringMatching(
      /^Expected an answer to fit the 8388608 bytes that may wait unsent over HTTP \(maxUnsentBytes\) beside the answers waiting for their clients, got \d{7}: it was not sent; ask again once they are read, or for a shorter one \(max_tokens\)$/,
    ),
  },
  session: { state: 'done', provider: 'large' },
};

describe('answers that pass the unsent bound together', () => {
  it.each(['2025-era', '2026-07-28'] as const)(
    'holds an answer that does not fit until room is made, then sends it whole; none is cut off (%s)',
    async (era) => {
      const provider = largeAnswers(TEXT);
      const h = await startHarness({
        providers: [provider],
        http: { maxUnsentBytes: BOUND, stalledResponseMs: 60_000 },
      });
      harnesses.push(h);
      // A response whose connection the server ended was cut off: a whole one leaves its connection
      // open for the next request. (`writableFinished` read true either way once the socket was gone:
      // until 2026-12-07 this count was 0 whatever happened.)
      let cut = 0;
      h.app.server.on('request', (req, res: ServerResponse) => {
        res.on('close', () => {
          if (req.socket.destroyed) cut += 1;
        });
      });
      const link = slowLink();
      const client = new Client(
        { name: 'slow-link', version: '1' },
        era === '2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
      );
      clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(h.url, { fetch: link.fetch }));
      link.hold();
      const calls = [1, 2, 3].map((n) =>
        client.callTool(
          { name: 'chat', arguments: { prompt: `large ${n}`, model: 'large-1' } },
          { timeout: 60_000 },
        ),
      );
      // Read at the end: a failure before it must not leave them unhandled.
      for (const call of calls) call.catch(() => {});
      await until(
        async () => provider.answered,
        (n) => n === 3,
        'the three answers',
      );
      // Two of the bound's checks (one a second) pass while both answers wait unread.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      link.open();
      const results = await Promise.all(calls);
      expect(cut).toBe(0);
      // Each is whole, or, when it fit neither beside the answers waiting nor beside those held
      // (held ones are bounded by the same bytes), an error for its id.
      const outcomes = results.map((r) => structured(r));
      for (const outcome of outcomes) {
        if (outcome.ok === true) expect(outcome.content).toBe('x'.repeat(TEXT));
        else expect(outcome).toMatchObject(refusal);
      }
      expect(outcomes.filter((o) => o.ok === true).length).toBeGreaterThanOrEqual(2);
      const again = await client.callTool(
        { name: 'chat', arguments: { prompt: 'again', model: 'large-1' } },
        { timeout: 60_000 },
      );
      expect(structured(again)).toMatchObject({ ok: true });
    },
    120_000,
  );
});

it('replays a finished stream whose answer is over the bound by itself chunked, its error event whole', async () => {
  // The stream's request is over: the SDK replays its events at once, and Hono's adapter, finding
  // the stream ended, gave the replay a `Content-Length`. The answer's event, rewritten as its
  // error, was shorter than that: the client waited for bytes that never came.
  const h = await startHarness({ http: { maxBodyBytes: 4 * MiB, maxUnsentBytes: MiB } });
  harnesses.push(h);
  const sid = await openSession(h);
  const post = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 5,
      method: 'prompts/get',
      params: { name: 'review', arguments: { content: 'x'.repeat(2 * MiB) } },
    }),
  });
  const answered = await post.text();
  expect(answered).toContain(
    '"id":5,"error":{"code":-32603,"message":"Expected an answer of at most 1048576',
  );
  const primed = /^id: (\S+)$/m.exec(answered)?.[1] as string;
  const replay = await fetch(h.url, {
    headers: { ...HEADERS, 'mcp-session-id': sid, 'last-event-id': primed },
    signal: AbortSignal.timeout(20_000),
  });
  expect(replay.headers.get('content-length')).toBeNull();
  const replayed = await replay.text();
  expect(replayed).toMatch(
    /^event: message\nid: \S+\ndata: \{"jsonrpc":"2.0","id":5,"error":\{"code":-32603,/,
  );
  expect(replayed.endsWith('\n\n')).toBe(true);
});
