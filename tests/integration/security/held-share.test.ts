/**
 * The held budget between callers (`http-held.ts`): answers held unwritten until they fit beside
 * the bytes waiting are bounded by `maxUnsentBytes` of their own, and a caller whose client reads
 * nothing fills it. Until 2026-12-07 whoever held first kept it: every other caller's answer that
 * did not fit beside the waiting bytes went as an error ("beside the answers waiting for their
 * clients") though its client read promptly. Now a caller's held bytes count with its unsent ones,
 * and the caller waiting on the most yields first: Alice, who reads nothing, loses her oldest
 * response, and Bob's answer is sent whole. The SDK's own clients over real HTTP; Alice's fetch never
 * lets her client read.
 */
import type { ServerResponse } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../support/until.js';
import { type Harness, startHarness, structured } from '../mcp/harness.js';
import { largeAnswers, slowLink } from './large-answers.js';

const MiB = 1024 * 1024;
/** Each answer carries its text twice (`content` and `structuredContent`): Alice's are about 5 MB, Bob's 6 MB. */
const HERS = 2_500_000;
const HIS = 3_000_000;

const harnesses: Harness[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];

describe('the held budget between callers', () => {
  it.each(['2025-era', '2026-07-28'] as const)(
    'sends a prompt reader’s answer whole while another caller that reads nothing fills the held budget (%s)',
    async (era) => {
      const provider = largeAnswers((prompt) => (prompt.startsWith('bob') ? HIS : HERS));
      const h = await startHarness({
        providers: [provider],
        http: { tokens, maxUnsentBytes: 8 * MiB, stalledResponseMs: 60_000 },
      });
      harnesses.push(h);
      // A response whose connection the server ended was cut off: a whole one leaves its connection
      // open for the next request (`writableFinished` reads true either way once the socket is gone).
      // Before the app's handler, which takes the token out of the request.
      const cut: string[] = [];
      h.app.server.prependListener('request', (req, res: ServerResponse) => {
        const caller = String(req.headers.authorization);
        res.on('close', () => {
          if (req.socket.destroyed) cut.push(caller);
        });
      });
      const connect = async (token: string, fetchWith?: typeof fetch) => {
        const client = new Client(
          { name: token, version: '1' },
          era === '2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
        );
        clients.push(client);
        const transport = new StreamableHTTPClientTransport(h.url, {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
          ...(fetchWith === undefined ? {} : { fetch: fetchWith }),
        });
        await client.connect(transport);
        return client;
      };
      const chat = (client: Client, prompt: string) =>
        client.callTool({ name: 'chat', arguments: { prompt, model: 'large-1' } }, { timeout: 60_000 });

      // Alice reads nothing: her first answer waits unsent, her second is held (the bound's 8 MiB
      // cannot take both), about 5 MB of the held budget's 8 MiB.
      const link = slowLink();
      const alice = await connect('alice-token-1', link.fetch as typeof fetch);
      link.hold();
      const hers = [chat(alice, 'alice 1'), chat(alice, 'alice 2')];
      for (const call of hers) call.catch(() => {});
      await until(
        async () => provider.answered,
        (n) => n === 2,
        'Alice’s two answers',
      );
      // Her answers written (the first) and held (the second) by now.
      await new Promise((resolve) => setTimeout(resolve, 1500));

      // Bob reads at once. His answer is larger than Alice's that waits unsent, and fits neither
      // beside it nor in the held budget beside hers: before, as the one holding the most, his went
      // as an error for its id. Counting her held bytes, she holds the most (about 10 MB to his 6).
      const bob = await connect('bob-token-22');
      const his = structured(await chat(bob, 'bob 1'));
      expect(his).toMatchObject({ ok: true, session: { state: 'done', provider: 'large' } });
      expect(his.content).toBe('x'.repeat(HIS));
      // Alice, waiting on the most, lost her oldest response; nothing of Bob's was cut.
      expect(cut).toContain('Bearer alice-token-1');
      expect(cut).not.toContain('Bearer bob-token-22');
      link.open();
    },
    120_000,
  );
});
