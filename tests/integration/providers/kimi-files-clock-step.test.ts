/**
 * A wall-clock step moves neither of Kimi files' own times (`kimi-files.ts`): the second list of a
 * search, halfway through `deleteTimeoutMs`, and how long a call's lost uploads are looked for
 * (10 minutes). Both are on the steady clock. Real timers, the local OpenAI-compatible server;
 * the wall clock is `Date.now`, stepped by the test. Until 2026-12-07 they read the wall clock: set
 * forward, the second list went at once (before a late upload was stored) and every lost upload
 * was forgotten, left on the account; set back, they were kept for the length of the step.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it, vi } from 'vitest';
import type { TroupeError } from '../../../src/core/errors.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import type { ChatRequest } from '../../../src/providers/port.js';
import { createOpenAIServer } from '../../../src/testing/openai-server.js';
import { HOUR, steppable, wall } from '../../support/wall-step.js';

const KEY = 'sk-moonshot-test-key-0123456789';

afterEach(() => {
  vi.restoreAllMocks();
  wall.stepMs = 0;
});

const withFiles: ChatRequest = {
  model: 'moonshot-v1-8k',
  messages: [{ role: 'user', content: 'Compare the two files.' }],
  files: [
    { name: 'alpha.md', data: '# Alpha' },
    { name: 'beta.txt', data: 'beta' },
  ],
};

it('lists the second time halfway through deleteTimeoutMs when the wall clock is set forward an hour after the first', async () => {
  steppable();
  // Uploads hang and store nothing; the list answers, empty, and the first one steps the wall clock.
  const listedAt: number[] = [];
  let uploads = 0;
  const empty = createServer((req, res) => {
    if (req.url === '/v1/files' && req.method === 'POST') uploads += 1;
    if (req.url === '/v1/files' && req.method === 'GET') {
      listedAt.push(performance.now());
      wall.stepMs = HOUR;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [] }));
    }
  });
  empty.listen(0, '127.0.0.1');
  await once(empty, 'listening');
  const p = createKimiProvider({
    apiKey: KEY,
    baseURL: `http://127.0.0.1:${(empty.address() as AddressInfo).port}/v1`,
    deleteTimeoutMs: 800,
  });
  try {
    const controller = new AbortController();
    const request = { ...withFiles, files: [{ name: 'one.md', data: 'x' }] };
    const run = p.complete(request, { signal: controller.signal }).catch((e: unknown) => e);
    await expect.poll(() => uploads, { timeout: 10_000 }).toBe(1);
    const abortedAt = performance.now();
    controller.abort();
    expect(((await run) as TroupeError).code).toBe('CANCELLED');
    expect(listedAt).toHaveLength(2);
    expect(listedAt[1]! - abortedAt).toBeGreaterThanOrEqual(350);
  } finally {
    await p.close();
    empty.closeAllConnections();
    empty.close();
  }
});

it('still deletes a call’s lost uploads at the next call’s end when the wall clock was set forward an hour meanwhile', async () => {
  steppable();
  // Stored only once two lists were answered: the call's own search finds nothing.
  const later = createOpenAIServer({ apiKey: KEY, storeUploadsAfterList: 2 });
  await later.start();
  const p = createKimiProvider({ apiKey: KEY, baseURL: later.baseURL, deleteTimeoutMs: 400 });
  const left = () => [...later.files.values()].filter((f) => !f.deleted).length;
  try {
    const controller = new AbortController();
    const run = p.complete(withFiles, { signal: controller.signal }).catch((e: unknown) => e);
    await expect
      .poll(() => later.requests.filter((r) => r.method === 'POST').length, { timeout: 10_000 })
      .toBe(2);
    controller.abort();
    expect(((await run) as TroupeError).code).toBe('CANCELLED');
    expect(left()).toBe(2);
    // Looked for 10 minutes from the loss: an hour on the wall clock is no time at all.
    wall.stepMs = HOUR;
    await p.complete(withFiles, { signal: new AbortController().signal });
    expect(left()).toBe(0);
  } finally {
    await p.close();
    await later.close();
  }
});
