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
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

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

const live = () => [...server.files.values()].filter((f) => !f.deleted);
const chat = () => server.requests.filter((r) => r.path === '/v1/chat/completions');

describe('Kimi files for multi-file chat', () => {
  it('uploads with purpose file-extract, sends the extracted text as system messages, then deletes', async () => {
    const before = server.files.size;
    const response = await kimi.complete(withFiles('moonshot-v1-8k'), {
      signal: new AbortController().signal,
    });
    expect(response.content).toBe('echo: Compare the two files.');
    const uploaded = [...server.files.values()].slice(before);
    expect(uploaded.map((f) => [f.filename, f.purpose])).toEqual(
      expect.arrayContaining([
        ['alpha.md', 'file-extract'],
        ['beta.txt', 'file-extract'],
      ]),
    );
    const messages = (chat()[0]!.body as { messages: { role: string; content: string }[] }).messages;
    expect(messages[0]).toEqual({ role: 'system', content: 'You are Kimi.' });
    expect(messages.slice(1, 3).every((m) => m.role === 'system')).toBe(true);
    const extracted = messages.slice(1, 3).map((m) => JSON.parse(m.content).content as string);
    expect(extracted.sort()).toEqual(['# Alpha\nfirst file', 'beta: second file']);
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
      expect([...small.files.values()].map((f) => [f.filename, f.deleted])).toEqual([['fits.md', true]]);
    } finally {
      await p.close();
      await small.close();
    }
  });

  it('an upload that hangs is cancelled with the call (the session’s deadline and cancellation reach it)', async () => {
    let uploads = 0;
    const hanging = createServer((req) => {
      if (req.url === '/v1/files') uploads++;
      // Never answers: the upload waits for the call's signal alone.
    });
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    const p = createKimiProvider({
      apiKey: KEY,
      baseURL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v1`,
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
    } finally {
      await p.close();
      hanging.closeAllConnections();
      hanging.close();
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
