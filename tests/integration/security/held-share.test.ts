/**
 * The held budget between callers (`http-held.ts`): answers held unwritten until they fit beside
 * the bytes waiting are bounded by `maxUnsentBytes` of their own, and a caller whose client reads
 * nothing fills it. Until 2026-12-07 whoever held first kept it: every other caller's answer that
 * did not fit beside the waiting bytes went as an error ("beside the answers waiting for their
 * clients") though its client read promptly. Now a caller's held bytes count with its unsent ones,
 * and the caller waiting on the most yields first: Alice, who reads nothing, loses her oldest
 * response, and Bob's answer is sent whole. But only what the bound needs goes: when her response
 * would free too little and another caller's frees enough alone, hers stays. The SDK's own clients
 * over real HTTP; a slow link's fetch never lets a client read until it opens. Each step waits on
 * the server's own figures (`unsentBytes`, `heldBytes`, as /metrics shows them).
 */
import type { ServerResponse } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpAppOptions } from '../../../src/mcp/http.js';
import { until } from '../../support/until.js';
import { type Harness, startHarness, structured } from '../mcp/harness.js';
import { largeAnswers, slowLink } from './large-answers.js';

const MiB = 1024 * 1024;
type Era = '2025-era' | '2026-07-28';

const harnesses: Harness[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
  { name: 'carol', token: 'carol-token-333' },
];

/**
 * A server whose answers to a prompt `<name> <n> <chars>` carry `chars` characters twice (in
 * `content` and `structuredContent`), each caller with its own token; `cut` lists the tokens whose
 * responses the server cut off.
 */
async function start(era: Era, http: Partial<HttpAppOptions>) {
  const provider = largeAnswers((prompt) => Number(prompt.split(' ')[2]));
  const h = await startHarness({
    providers: [provider],
    http: { tokens, stalledResponseMs: 60_000, ...http },
  });
  harnesses.push(h);
  // A response whose connection the server ended was cut off: a whole one leaves its connection
  // open for the next request (`writableFinished` reads true either way once the socket is gone).
  // Before the app's handler, which takes the token out of the request.
  const cut: string[] = [];
  h.app.server.prependListener('request', (req, res: ServerResponse) => {
    const caller = String(req.headers.authorization).replace(/^Bearer (\w+)-token-\d+$/, '$1');
    res.on('close', () => {
      if (req.socket.destroyed) cut.push(caller);
    });
  });
  const connect = async (name: string, fetchWith?: typeof fetch) => {
    const client = new Client(
      { name, version: '1' },
      era === '2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
    );
    clients.push(client);
    const token = (tokens.find((t) => t.name === name) as { token: string }).token;
    const transport = new StreamableHTTPClientTransport(h.url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      ...(fetchWith === undefined ? {} : { fetch: fetchWith }),
    });
    await client.connect(transport);
    return client;
  };
  const chat = (client: Client, prompt: string, timeout = 60_000) => {
    const call = client.callTool({ name: 'chat', arguments: { prompt, model: 'large-1' } }, { timeout });
    // Read where the test needs it: a failure before must not leave it unhandled.
    call.catch(() => {});
    return call;
  };
  /** Waits until the server's own figures say what is written and what is held. */
  const waitFor = (what: string, ok: (figures: { unsent: number; held: number }) => boolean) =>
    until(async () => ({ unsent: h.app.unsentBytes, held: h.app.heldBytes }), ok, what);
  return { cut, connect, chat, waitFor };
}

describe('the held budget between callers', () => {
  it.each(['2025-era', '2026-07-28'] as const)(
    'sends a prompt reader’s answer whole while another caller that reads nothing fills the held budget (%s)',
    async (era) => {
      const { cut, connect, chat, waitFor } = await start(era, { maxUnsentBytes: 8 * MiB });
      // Alice reads nothing: her first answer waits unsent, her second is held (the bound's 8 MiB
      // cannot take both), about 5 MB of the held budget's 8 MiB.
      const link = slowLink();
      const alice = await connect('alice', link.fetch as typeof fetch);
      link.hold();
      chat(alice, 'alice 1 2500000');
      await waitFor('Alice’s first answer waiting', ({ unsent }) => unsent > 5_000_000);
      chat(alice, 'alice 2 2500000');
      await waitFor('Alice’s second answer held', ({ held }) => held > 5_000_000);

      // Bob reads at once. His answer (about 6 MB) is larger than Alice's that waits unsent, and fits
      // neither beside it nor in the held budget beside hers: before, as the one holding the most,
      // his went as an error for its id. Counting her held bytes, she holds the most (about 10 MB).
      // Within half the stall bound: an answer that went only once Alice's calls or responses gave
      // up (after 60 s) fails.
      const bob = await connect('bob');
      const his = structured(await chat(bob, 'bob 1 3000000', 30_000));
      expect(his).toMatchObject({ ok: true, session: { state: 'done', provider: 'large' } });
      expect(his.content).toBe('x'.repeat(3_000_000));
      // Alice, waiting on the most, lost her oldest response; nothing of Bob's was cut.
      expect(cut).toContain('alice');
      expect(cut).not.toContain('bob');
      link.open();
    },
    120_000,
  );

  it.each(['2025-era', '2026-07-28'] as const)(
    'keeps a response of the caller waiting on the most when cutting it frees too little and another’s frees enough alone (%s)',
    async (era) => {
      const { cut, connect, chat, waitFor } = await start(era, { maxUnsentBytes: 24 * MiB });
      // Carol and Alice read nothing. Carol's 16 MB wait, then Alice's 5 MB; Alice's 12 MB more do
      // not fit beside them and are held: she waits on 17 MB, Carol on 16.
      const carolLink = slowLink();
      const carol = await connect('carol', carolLink.fetch as typeof fetch);
      carolLink.hold();
      chat(carol, 'carol 1 8000000');
      await waitFor('Carol’s answer waiting', ({ unsent }) => unsent > 16_000_000);
      const aliceLink = slowLink();
      const alice = await connect('alice', aliceLink.fetch as typeof fetch);
      aliceLink.hold();
      const small = chat(alice, 'alice 1 2500000');
      await waitFor('Alice’s first answer waiting', ({ unsent }) => unsent > 21_000_000);
      const large = chat(alice, 'alice 2 6000000');
      await waitFor('Alice’s second answer held', ({ held }) => held > 12_000_000);

      // Bob's 12 MB put 33 MB in line for 25 MB (24 MiB). Alice's 5 MB alone leave it over, so
      // Carol's 16 MB go too, and they alone are enough: Alice's stay. Until 2026-12-07 hers went
      // as well, her call cut off for nothing.
      const bob = await connect('bob');
      const his = structured(await chat(bob, 'bob 1 6000000', 30_000));
      expect(his).toMatchObject({ ok: true, session: { state: 'done', provider: 'large' } });
      expect(his.content).toBe('x'.repeat(6_000_000));
      expect(cut).toContain('carol');
      expect(cut).not.toContain('alice');
      expect(cut).not.toContain('bob');
      // Once Alice reads, both her answers arrive whole: the held one once the first has gone out.
      aliceLink.open();
      expect(structured(await small).content).toBe('x'.repeat(2_500_000));
      expect(structured(await large).content).toBe('x'.repeat(6_000_000));
      expect(cut).not.toContain('alice');
      carolLink.open();
    },
    120_000,
  );
});
