/**
 * Kimi multi-file chat against the local server: upload (`file-extract`), extracted text as
 * system messages, and deletion however the call ends.
 */
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

  it('targets the .cn host with region cn and the global host by default', async () => {
    const cn = createKimiProvider({ apiKey: KEY, region: 'cn' });
    const global = createKimiProvider({ apiKey: KEY });
    expect(cn.baseURL).toBe('https://api.moonshot.cn/v1');
    expect(global.baseURL).toBe('https://api.moonshot.ai/v1');
    await Promise.all([cn.close(), global.close()]);
  });
});
