/**
 * Kimi multi-file chat against the local server: upload (`file-extract`), extracted text as
 * system messages, and deletion however the call ends.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import type { ChatRequest } from '../../../src/providers/port.js';
import {
  createOpenAIServer,
  type OpenAIServer,
  type StoredFile,
} from '../../../src/testing/openai-server.js';

const KEY = 'sk-moonshot-test-key-0123456789';
let server: OpenAIServer;
let kimi: ReturnType<typeof createKimiProvider>;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  kimi = createKimiProvider({ apiKey: KEY, baseURL: server.baseURL });
});
afterAll(async () => {
  await kimi.close();
  await server.close();
});
beforeEach(() => server.reset());

const withFiles = (model: string): ChatRequest => ({
  model,
  messages: [
    { role: 'system', content: 'You are Kimi.' },
    { role: 'user', content: 'Compare the two files.' },
  ],
  files: [
    { name: 'alpha.md', data: '# Alpha\nfirst file' },
    { name: 'beta.txt', data: new TextEncoder().encode('beta: second file') },
  ],
});

const PREFIX = /^troupe-[0-9a-f]{12}-/;
const live = () => [...server.files.values()].filter((f) => !f.deleted);
const chat = () => server.requests.filter((r) => r.path === '/v1/chat/completions');
/** A file already on `on`'s account: another call's upload, or the user's own. */
const stored = (on: OpenAIServer, id: string, filename: string) =>
  (on.files as Map<string, StoredFile>).set(id, {
    id,
    filename,
    purpose: 'file-extract',
    text: 'x',
    bytes: 1,
    deleted: false,
  });

describe('Kimi files for multi-file chat', () => {
  it('uploads with purpose file-extract, sends the extracted text as system messages, then deletes', async () => {
    const before = server.files.size;
    const response = await kimi.complete(withFiles('moonshot-v1-8k'), {
      signal: new AbortController().signal,
    });
    expect(response.content).toBe('echo: Compare the two files.');
    const uploaded = [...server.files.values()].slice(before);
    expect(uploaded.map((f) => [f.filename.replace(PREFIX, ''), f.purpose])).toEqual(
      expect.arrayContaining([
        ['alpha.md', 'file-extract'],
        ['beta.txt', 'file-extract'],
      ]),
    );
    // One prefix per call, on every upload of it.
    const prefixes = new Set(uploaded.map((f) => PREFIX.exec(f.filename)?.[0]));
    expect(prefixes.size).toBe(1);
    expect([...prefixes][0]).toMatch(PREFIX);
    const messages = (chat()[0]!.body as { messages: { role: string; content: string }[] }).messages;
    expect(messages[0]).toEqual({ role: 'system', content: 'You are Kimi.' });
    expect(messages.slice(1, 3).every((m) => m.role === 'system')).toBe(true);
    const extracted = messages.slice(1, 3).map((m) => JSON.parse(m.content) as Record<string, string>);
    expect(extracted.map((e) => e.content).sort()).toEqual(['# Alpha\nfirst file', 'beta: second file']);
    // The model sees the caller's file names: the prefix is taken out of Moonshot's JSON.
    expect(extracted.map((e) => e.filename).sort()).toEqual(['alpha.md', 'beta.txt']);
    expect(messages.some((m) => m.content.includes('troupe-'))).toBe(false);
    expect(messages[3]).toEqual({ role: 'user', content: 'Compare the two files.' });
    expect(uploaded.every((f) => f.deleted)).toBe(true);
    expect(server.requests.filter((r) => r.method === 'DELETE').length).toBe(2);
  });

  it('deletes the uploads when the chat call fails', async () => {
    const error = await kimi
      .complete(withFiles('fault:500'), { signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect((error as TroupeError).code).toBe('PROVIDER_UNAVAILABLE');
    expect(live()).toEqual([]);
    expect(server.requests.filter((r) => r.method === 'DELETE').length).toBe(2);
  });

  it('deletes the uploads when a streamed call is cancelled mid-stream', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const delta of kimi.stream(withFiles('fault:stall:after=2'), {
        signal: controller.signal,
      })) {
        seen.push(delta.type);
        if (seen.length === 1) controller.abort();
      }
    })();
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('CANCELLED');
    expect(server.files.size).toBeGreaterThan(0);
    expect(live()).toEqual([]);
    expect(server.requests.filter((r) => r.method === 'DELETE').length).toBe(2);
  });

  it('deletes the uploads when cancelled while the chat call hangs', async () => {
    const controller = new AbortController();
    const tag = `fault:hang:tag=${Math.random()}`;
    const run = kimi.complete(withFiles(tag), { signal: controller.signal }).catch((e: unknown) => e);
    await server.waitForRequest((r) => (r.body as { model?: string } | undefined)?.model === tag);
    expect(live().length).toBe(2);
    controller.abort();
    expect(((await run) as TroupeError).code).toBe('CANCELLED');
    expect(live()).toEqual([]);
  });

  it('fails with the refused upload’s own error, sends no chat, and deletes the upload that went in', async () => {
    const small = createOpenAIServer({ apiKey: KEY, maxRequestBytes: 4096 });
    await small.start();
    const p = createKimiProvider({ apiKey: KEY, baseURL: small.baseURL });
    try {
      const request: ChatRequest = {
        ...withFiles('moonshot-v1-8k'),
        files: [
          { name: 'fits.md', data: 'a small file' },
          { name: 'too-big.txt', data: 'x'.repeat(64 * 1024) },
        ],
      };
      const error = await p
        .complete(request, { signal: new AbortController().signal })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TroupeError);
      expect((error as TroupeError).message).toContain('file upload');
      expect((error as TroupeError).message).toContain('413');
      expect(small.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
      expect(small.requests.filter((r) => r.path.endsWith('/content'))).toHaveLength(0);
      expect([...small.files.values()].map((f) => [f.filename.replace(PREFIX, ''), f.deleted])).toEqual([
        ['fits.md', true],
      ]);
      // A refused upload (an HTTP answer) stored nothing: no list to search.
      expect(small.requests.filter((r) => r.method === 'GET' && r.path === '/v1/files')).toHaveLength(0);
    } finally {
      await p.close();
      await small.close();
    }
  });

  it('an upload that hangs is cancelled with the call (the session’s deadline and cancellation reach it)', async () => {
    let uploads = 0;
    let lists = 0;
    const hanging = createServer((req) => {
      if (req.url === '/v1/files' && req.method === 'POST') uploads++;
      if (req.url === '/v1/files' && req.method === 'GET') lists++;
      // Never answers: the upload waits for the call's signal alone.
    });
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    // The search for what the cut uploads stored (which hangs too) is bounded by deleteTimeoutMs.
    const p = createKimiProvider({
      apiKey: KEY,
      baseURL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v1`,
      deleteTimeoutMs: 500,
    });
    try {
      const controller = new AbortController();
      const run = p
        .complete(withFiles('moonshot-v1-8k'), { signal: controller.signal })
        .catch((e: unknown) => e);
      await expect.poll(() => uploads).toBe(2);
      controller.abort();
      const outcome = await Promise.race([
        run,
        new Promise((r) => setTimeout(() => r('still waiting'), 3000)),
      ]);
      expect((outcome as TroupeError).code).toBe('CANCELLED');
      expect(lists).toBe(1);
    } finally {
      await p.close();
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('deletes an upload the server stored but never answered, found by its call’s prefix in the file list', async () => {
    const storing = createOpenAIServer({ apiKey: KEY, hangUploadsAfterStore: true });
    await storing.start();
    const p = createKimiProvider({ apiKey: KEY, baseURL: storing.baseURL });
    try {
      // Another call's upload, and the user's own file: neither is this call's to delete.
      stored(storing, 'file-other', 'troupe-000000000000-alpha.md');
      stored(storing, 'file-user', 'alpha.md');
      const controller = new AbortController();
      const run = p
        .complete(withFiles('moonshot-v1-8k'), { signal: controller.signal })
        .catch((e: unknown) => e);
      await expect.poll(() => storing.files.size).toBe(4);
      controller.abort();
      expect(((await run) as TroupeError).code).toBe('CANCELLED');
      const files = [...storing.files.values()];
      expect(files.filter((f) => f.deleted).map((f) => f.filename.replace(PREFIX, ''))).toEqual(
        expect.arrayContaining(['alpha.md', 'beta.txt']),
      );
      expect(files.filter((f) => !f.deleted).map((f) => f.id)).toEqual(['file-other', 'file-user']);
      expect(storing.requests.filter((r) => r.method === 'GET' && r.path === '/v1/files')).toHaveLength(1);
      expect(storing.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    } finally {
      await p.close();
      await storing.close();
    }
  });

  it('lists once more, halfway through deleteTimeoutMs, for an upload stored only after the first list was read', async () => {
    // The upload's request may still be in flight on the vendor's side when the call gives up on it.
    const late = createOpenAIServer({ apiKey: KEY, storeUploadsAfterList: true });
    await late.start();
    const p = createKimiProvider({ apiKey: KEY, baseURL: late.baseURL, deleteTimeoutMs: 1000 });
    const lists = () => late.requests.filter((r) => r.method === 'GET' && r.path === '/v1/files');
    try {
      const controller = new AbortController();
      const run = p
        .complete(withFiles('moonshot-v1-8k'), { signal: controller.signal })
        .catch((e: unknown) => e);
      await expect.poll(() => late.requests.filter((r) => r.method === 'POST').length).toBe(2);
      const abortedAt = performance.now();
      // The server stamps requests with `Date.now()`.
      const abortedWall = Date.now();
      controller.abort();
      expect(((await run) as TroupeError).code).toBe('CANCELLED');
      const tookMs = performance.now() - abortedAt;
      // The first list saw neither upload; they were stored as it was answered, and the second found both.
      expect(lists()).toHaveLength(2);
      // Halfway (500 ms) from the abort, not from the first list: a first list late on a loaded
      // machine left less than 400 ms between the two (333 once), with the second on time.
      expect(lists()[1]!.receivedAt - abortedWall).toBeGreaterThanOrEqual(450);
      const files = [...late.files.values()];
      expect(files.map((f) => [f.filename.replace(PREFIX, ''), f.deleted]).sort()).toEqual([
        ['alpha.md', true],
        ['beta.txt', true],
      ]);
      // Still within the one deleteTimeoutMs the search has.
      expect(tookMs).toBeLessThan(1500);
    } finally {
      await p.close();
      await late.close();
    }
  });

  it('deletes an upload stored after both of its call’s lists at the end of the provider’s next multi-file call, and lists no more after', async () => {
    // Stored only once two lists were answered: the call's own search, both reads, finds nothing.
    const later = createOpenAIServer({ apiKey: KEY, storeUploadsAfterList: 2 });
    await later.start();
    const p = createKimiProvider({ apiKey: KEY, baseURL: later.baseURL, deleteTimeoutMs: 400 });
    const lists = () => later.requests.filter((r) => r.method === 'GET' && r.path === '/v1/files');
    const left = () =>
      [...later.files.values()].filter((f) => !f.deleted).map((f) => f.filename.replace(PREFIX, ''));
    try {
      // Another call's upload (of another process, say): not this provider's to delete.
      stored(later, 'file-other', 'troupe-000000000000-other.md');
      const controller = new AbortController();
      const run = p
        .complete(withFiles('moonshot-v1-8k'), { signal: controller.signal })
        .catch((e: unknown) => e);
      await expect.poll(() => later.requests.filter((r) => r.method === 'POST').length).toBe(2);
      controller.abort();
      expect(((await run) as TroupeError).code).toBe('CANCELLED');
      expect(lists()).toHaveLength(2);
      expect(left().sort()).toEqual(['alpha.md', 'beta.txt', 'other.md']);
      // The next call with files: answered as usual, and as it ends the list is read once more.
      const answered = await p.complete(withFiles('moonshot-v1-8k'), {
        signal: new AbortController().signal,
      });
      expect(answered.content.length).toBeGreaterThan(0);
      expect(lists()).toHaveLength(3);
      expect(left()).toEqual(['other.md']);
      // Nothing is missing any more: the call after reads no list.
      await p.complete(withFiles('moonshot-v1-8k'), { signal: new AbortController().signal });
      expect(lists()).toHaveLength(3);
      expect(left()).toEqual(['other.md']);
    } finally {
      await p.close();
      await later.close();
    }
  });

  it('searches no more than one deleteTimeoutMs when an unanswered upload was never stored', async () => {
    // Uploads hang and store nothing; the list answers, empty, each time.
    const listedAt: number[] = [];
    const empty = createServer((req, res) => {
      if (req.url === '/v1/files' && req.method === 'GET') {
        listedAt.push(performance.now());
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
      const request: ChatRequest = { ...withFiles('moonshot-v1-8k'), files: [{ name: 'one.md', data: 'x' }] };
      const run = p.complete(request, { signal: controller.signal }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100));
      const abortedAt = performance.now();
      controller.abort();
      expect(((await run) as TroupeError).code).toBe('CANCELLED');
      const tookMs = performance.now() - abortedAt;
      // One list at once, one more halfway (400 ms), and no third: the call ends within the 800 ms
      // (the bound is the search's own timeout; the slack is for a loaded machine's event loop).
      expect(listedAt).toHaveLength(2);
      expect(listedAt[1]! - abortedAt).toBeGreaterThanOrEqual(350);
      expect(tookMs).toBeLessThan(1000);
    } finally {
      await p.close();
      empty.closeAllConnections();
      empty.close();
    }
  });

  it('targets the .cn host with region cn and the global host by default', async () => {
    const cn = createKimiProvider({ apiKey: KEY, region: 'cn' });
    const global = createKimiProvider({ apiKey: KEY });
    expect(cn.baseURL).toBe('https://api.moonshot.cn/v1');
    expect(global.baseURL).toBe('https://api.moonshot.ai/v1');
    await Promise.all([cn.close(), global.close()]);
  });
});
