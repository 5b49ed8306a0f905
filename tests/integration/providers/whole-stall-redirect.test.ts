/**
 * A call answered whole whose provider redirects it (307, 308, on the same origin) and whose
 * redirected answer stalls mid-body: the redirected response is the answer, so its stall is the
 * call's idle timeout, `TIMED_OUT` (idle) once its body sent nothing for `idleTimeoutMs`, as a stall
 * without the redirect is (whole-stall.test.ts). Until 2026-12-07 the redirect's second leg went
 * through `fetch` with none of the bound: the stall held the call until undici's own 300 s body
 * timeout (`NETWORK`, retried) or the run deadline.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const KEY = 'sk-redirect-stall-0123456789';
const completion = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  created: 0,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'redirected' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

let server: Server;
let base: string;
/** When each stalled answer's connection closed, by its request's order. */
const closed: number[] = [];
const sockets = new Set<Socket>();

/** `/<status>/<mode>/v1/...` redirects with that status to `.../v2/...`, which answers whole or, for `stall`, half a body, then nothing. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const [, status, mode, version] = (req.url ?? '/').split('/');
  if (version === 'v1') {
    res.writeHead(Number(status), { location: `/${status}/${mode}/v2/chat/completions` }).end();
    return;
  }
  const stall = mode === 'stall';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(completion.length) });
  if (!stall) {
    res.end(completion);
    return;
  }
  res.write(completion.slice(0, 40));
  const index = closed.length;
  closed.push(0);
  res.on('close', () => {
    closed[index] = Date.now();
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

const provider = (status: number, stall: boolean) =>
  createOpenAICompatibleProvider({
    name: 'redirecting',
    baseURL: `${base}/${status}/${stall ? 'stall' : 'whole'}/v1`,
    apiKey: KEY,
  });
const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }] };

describe.each([307, 308])('a whole answer redirected with %i', (status) => {
  it('is read whole when it comes', async () => {
    const p = provider(status, false);
    try {
      const answer = await p.complete(ask, { signal: new AbortController().signal, idleTimeoutMs: 300 });
      expect(answer.content).toBe('redirected');
    } finally {
      await p.close();
    }
  });

  it('ends TIMED_OUT (idle) when its body stalls, and closes the connection', async () => {
    const p = provider(status, true);
    const controller = new AbortController();
    const guard = setTimeout(() => controller.abort(), 8000);
    try {
      const startedAt = Date.now();
      const error = await p.complete(ask, { signal: controller.signal, idleTimeoutMs: 300 }).catch((e) => e);
      const endedAt = Date.now();
      expect(error).toBeInstanceOf(TroupeError);
      expect(error).toMatchObject({
        family: 'runtime',
        code: 'TIMED_OUT',
        timeout: 'idle',
        retryable: false,
      });
      expect(controller.signal.aborted).toBe(false);
      expect(endedAt - startedAt).toBeGreaterThanOrEqual(300);
      expect(endedAt - startedAt).toBeLessThan(5000);
      // The redirected answer's connection is closed when the bound passes, not left to the server.
      const closedAt = closed.at(-1) as number;
      expect(closedAt).toBeGreaterThan(0);
      expect(closedAt - endedAt).toBeLessThan(500);
    } finally {
      clearTimeout(guard);
      await p.close();
    }
  });
});

it('a session’s redirected answer that stalls ends timedOut, not NETWORK retried', async () => {
  const p = provider(307, true);
  const runtime = createRuntime({
    providers: [p],
    defaults: { provider: 'redirecting', model: 'm', maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 },
  });
  try {
    const result = await runtime.submit(ask, { idleTimeoutMs: 300, timeoutMs: 10_000 }).result;
    expect([result.metadata.state, result.metadata.code, result.metadata.attempts]).toEqual([
      'timedOut',
      'TIMED_OUT',
      1,
    ]);
    expect(result.metadata.runMs).toBeLessThan(5000);
  } finally {
    await runtime.shutdown({ deadlineMs: 100 });
    await p.close();
  }
});

it('sends every leg of a bounded call with its body bound and no headers timer, and a plain fetch with neither', async () => {
  const { Agent } = await import('undici');
  const { agentFetches } = await import('../../../src/providers/undici-fetch.js');
  const agent = new Agent();
  const legs: { bodyTimeout?: unknown; headersTimeout?: unknown; path?: unknown }[] = [];
  const spy = new Proxy(agent, {
    get(target, key) {
      if (key !== 'dispatch') return Reflect.get(target, key);
      return (options: (typeof legs)[number], handler: unknown) => {
        legs.push({
          path: options.path,
          bodyTimeout: options.bodyTimeout,
          headersTimeout: options.headersTimeout,
        });
        return target.dispatch(options as never, handler as never);
      };
    },
  });
  try {
    const { fetch } = agentFetches(spy, base, 1 << 20);
    const bounded = await fetch(`${base}/307/whole/v1/chat/completions`, {
      method: 'POST',
      body: '{}',
      idleTimeoutMs: 300,
    } as RequestInit);
    expect(JSON.parse(await bounded.text()).choices[0].message.content).toBe('redirected');
    await (await fetch(`${base}/307/whole/v1/chat/completions`, { method: 'POST', body: '{}' })).text();
    expect(legs).toEqual([
      { path: '/307/whole/v1/chat/completions', bodyTimeout: 300, headersTimeout: 0 },
      { path: '/307/whole/v2/chat/completions', bodyTimeout: 300, headersTimeout: 0 },
      { path: '/307/whole/v1/chat/completions', bodyTimeout: undefined, headersTimeout: undefined },
      { path: '/307/whole/v2/chat/completions', bodyTimeout: undefined, headersTimeout: undefined },
    ]);
  } finally {
    await agent.close();
  }
});
