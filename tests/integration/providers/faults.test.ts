/**
 * Every fault the local server can inject, at the adapter: each ends the call with the right
 * provider error code, whole and streamed; aborts close the server-side connection promptly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import type { ChatDelta, ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-test-faults-abcdef0123456789';
let server: OpenAIServer;
let provider: ReturnType<typeof createOpenAICompatibleProvider>;

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
  provider = createOpenAICompatibleProvider({
    name: 'local',
    baseURL: server.baseURL,
    apiKey: KEY,
    maxResponseBytes: 1024 * 1024,
  });
});
afterAll(async () => {
  await provider.close();
  await server.close();
});

const request = (model: string): ChatRequest => ({ model, messages: [{ role: 'user', content: 'hello' }] });

async function drain(p: ChatProvider, req: ChatRequest, signal: AbortSignal): Promise<ChatDelta[]> {
  const deltas: ChatDelta[] = [];
  for await (const delta of p.stream(req, { signal })) deltas.push(delta);
  return deltas;
}

/** The same stream pushed (`streamTo`, what the runtime uses). */
async function pushed(p: ChatProvider, req: ChatRequest, signal: AbortSignal): Promise<ChatDelta[]> {
  const deltas: ChatDelta[] = [];
  if (p.streamTo === undefined) throw new Error('Expected the adapter to have streamTo, got none');
  await p.streamTo(req, { signal }, (delta) => deltas.push(delta));
  return deltas;
}

async function failure(run: () => Promise<unknown>): Promise<TroupeError> {
  const outcome = await run().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(TroupeError);
  return outcome as TroupeError;
}

type Kind = 'complete' | 'stream' | 'streamTo';
const both: readonly Kind[] = ['complete', 'stream', 'streamTo'];

function call(kind: Kind, model: string, signal = new AbortController().signal): () => Promise<unknown> {
  if (kind === 'complete') return () => provider.complete(request(model), { signal });
  return kind === 'stream'
    ? () => drain(provider, request(model), signal)
    : () => pushed(provider, request(model), signal);
}

const TABLE: readonly [model: string, code: string, retryable: boolean, status?: number][] = [
  ['fault:401', 'AUTH_FAILED', false, 401],
  ['fault:403', 'AUTH_FAILED', false, 403],
  ['fault:404', 'MODEL_NOT_FOUND', false, 404],
  ['fault:400', 'INVALID_REQUEST', false, 400],
  ['fault:422', 'INVALID_REQUEST', false, 422],
  ['fault:408', 'PROVIDER_UNAVAILABLE', true, 408],
  // A lock timeout: the openai SDK (and Z.ai's, a copy of its client) retries 409 (docs/providers.md).
  ['fault:409', 'PROVIDER_UNAVAILABLE', true, 409],
  ['fault:429', 'RATE_LIMITED', true, 429],
  ['fault:500', 'PROVIDER_UNAVAILABLE', true, 500],
  ['fault:503', 'PROVIDER_UNAVAILABLE', true, 503],
  ['fault:reset', 'NETWORK', true],
  ['fault:reset-mid', 'NETWORK', true],
  ['fault:bad-json', 'BAD_RESPONSE', false],
  ['fault:wrong-type', 'BAD_RESPONSE', false],
  ['fault:empty', 'BAD_RESPONSE', false],
  ['fault:oversized:bytes=3000000', 'BAD_RESPONSE', false],
];

describe('fault modes map to provider error codes', () => {
  for (const kind of both) {
    for (const [model, code, retryable, status] of TABLE) {
      it(`${kind}: ${model} -> ${code}`, async () => {
        const error = await failure(call(kind, model));
        expect(error.family).toBe('provider');
        expect(error.code).toBe(code);
        expect(error.retryable).toBe(retryable);
        expect(error.status).toBe(status);
      });
    }
  }

  for (const kind of ['stream', 'streamTo'] as const) {
    it(`${kind}: a body that ends cleanly before any finish_reason -> NETWORK, after the text it carried`, async () => {
      // Before 2026-12-04 it ended as a whole answer, cut wherever the body stopped.
      const deltas: ChatDelta[] = [];
      const model = 'fault:truncate:after=3';
      const error = await failure(() =>
        kind === 'stream'
          ? (async () => {
              for await (const delta of provider.stream(request(model), {
                signal: new AbortController().signal,
              }))
                deltas.push(delta);
            })()
          : (provider.streamTo as NonNullable<ChatProvider['streamTo']>)(
              request(model),
              { signal: new AbortController().signal },
              (delta) => deltas.push(delta),
            ),
      );
      expect([error.family, error.code, error.retryable]).toEqual(['provider', 'NETWORK', true]);
      expect(error.message).toMatch(
        /Expected the stream to end with a finish_reason or \[DONE\], got the end of the body after \d+ character/,
      );
      expect(deltas.some((d) => d.type === 'content')).toBe(true);
      expect(deltas.some((d) => d.type === 'finish')).toBe(false);
    });

    it(`${kind}: a body that ends after its finish chunk but without [DONE] is a whole answer`, async () => {
      const signal = new AbortController().signal;
      const deltas =
        kind === 'stream'
          ? await drain(provider, request('fault:truncate:after=1000'), signal)
          : await pushed(provider, request('fault:truncate:after=1000'), signal);
      expect(deltas.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    });
  }

  for (const kind of ['stream', 'streamTo'] as const) {
    it(`${kind}: [DONE] without any finish_reason (some servers leave it out): a whole answer, with a note saying so`, async () => {
      const signal = new AbortController().signal;
      const model = 'fault:ok:no-finish=1';
      const deltas =
        kind === 'stream'
          ? await drain(provider, request(model), signal)
          : await pushed(provider, request(model), signal);
      expect(deltas.filter((d) => d.type === 'content').length).toBeGreaterThan(0);
      expect(deltas.some((d) => d.type === 'finish')).toBe(false);
      expect(deltas.at(-1)).toEqual({
        type: 'note',
        text: 'the server ended its stream with [DONE] but no finish_reason: the answer is taken as whole',
      });
    });
  }

  it('complete(): a whole answer with `finish_reason: null`: no finishReason, a note saying so', async () => {
    const answer = await provider.complete(request('fault:ok:no-finish=1'), {
      signal: new AbortController().signal,
    });
    expect(answer.content.length).toBeGreaterThan(0);
    expect(answer.finishReason).toBeUndefined();
    expect(answer.notes).toEqual(['the server answered with no finish_reason: the answer is taken as whole']);
  });

  it('stream: a server that answers whole, with `finish_reason: null`: no finish, a note last', async () => {
    const deltas = await drain(
      provider,
      request('fault:ok:no-sse=1:no-finish=1'),
      new AbortController().signal,
    );
    expect(deltas.some((d) => d.type === 'finish')).toBe(false);
    expect(deltas.at(-1)).toEqual({
      type: 'note',
      text: 'the server answered with no finish_reason: the answer is taken as whole',
    });
  });

  for (const kind of ['stream', 'streamTo'] as const) {
    it(`${kind}: a body that ends cleanly before its first chunk (a proxy's idle timeout) -> NETWORK, retryable`, async () => {
      const error = await failure(call(kind, 'fault:truncate:after=0'));
      expect([error.code, error.retryable]).toEqual(['NETWORK', true]);
    });

    it(`${kind}: a finish_reason of another shape ends the answer too, though it is not kept`, async () => {
      server.setResponder(() => ({ content: 'odd end', finishReason: 'end-turn' }));
      try {
        const signal = new AbortController().signal;
        const deltas =
          kind === 'stream'
            ? await drain(provider, request('odd'), signal)
            : await pushed(provider, request('odd'), signal);
        expect(
          deltas
            .filter((d) => d.type === 'content')
            .map((d) => (d as { text: string }).text)
            .join(''),
        ).toBe('odd end');
        expect(deltas.some((d) => d.type === 'finish' || d.type === 'note')).toBe(false);
      } finally {
        server.setResponder(undefined);
      }
    });
  }

  it('complete: fault:truncate -> BAD_RESPONSE (half a JSON body)', async () => {
    const error = await failure(call('complete', 'fault:truncate'));
    expect(error.code).toBe('BAD_RESPONSE');
  });

  it('streamTo pushes what stream yields, in order: the content pieces, then the finish', async () => {
    const signal = new AbortController().signal;
    const model = 'fault:ok:chunk-ms=1';
    const expected = await drain(provider, request(model), signal);
    expect(expected.filter((d) => d.type === 'content').length).toBeGreaterThan(1);
    expect(expected.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    expect(await pushed(provider, request(model), signal)).toEqual(expected);
  });

  it('streamTo: a malformed SSE chunk after good ones -> BAD_RESPONSE after the deltas before it', async () => {
    const deltas: ChatDelta[] = [];
    const error = await failure(() =>
      (provider.streamTo as NonNullable<ChatProvider['streamTo']>)(
        request('fault:bad-sse:after=2'),
        { signal: new AbortController().signal },
        (delta) => deltas.push(delta),
      ),
    );
    expect(error.code).toBe('BAD_RESPONSE');
    expect(deltas.length).toBeGreaterThan(0);
  });

  it('streamTo stops at its signal: nothing is pushed after an abort, even chunks already read', async () => {
    const controller = new AbortController();
    const deltas: ChatDelta[] = [];
    // With no delay between chunks the server writes them at once: the SDK has them read when the first is pushed.
    const error = await failure(() =>
      (provider.streamTo as NonNullable<ChatProvider['streamTo']>)(
        request('fault:ok'),
        { signal: controller.signal },
        (delta) => {
          deltas.push(delta);
          controller.abort();
        },
      ),
    );
    expect(error.code).toBe('CANCELLED');
    expect(deltas).toHaveLength(1);
  });

  it('stream: a malformed SSE chunk after good ones -> BAD_RESPONSE', async () => {
    const deltas: ChatDelta[] = [];
    const error = await failure(async () => {
      for await (const delta of provider.stream(request('fault:bad-sse:after=2'), {
        signal: new AbortController().signal,
      })) {
        deltas.push(delta);
      }
    });
    expect(error.code).toBe('BAD_RESPONSE');
    expect(deltas.length).toBeGreaterThan(0);
  });

  it('stream: an SSE body past maxResponseBytes -> BAD_RESPONSE after the deltas within it', async () => {
    const deltas: ChatDelta[] = [];
    const error = await failure(async () => {
      for await (const delta of provider.stream(request('fault:oversized-sse:bytes=3000000'), {
        signal: new AbortController().signal,
      })) {
        deltas.push(delta);
      }
    });
    expect(error.code).toBe('BAD_RESPONSE');
    expect(error.message).toMatch(/1048576 bytes/);
    // Some content came through before the cap (1 MiB of 16 KiB pieces), none past it.
    const chars = deltas.reduce((n, d) => n + (d.type === 'content' ? d.text.length : 0), 0);
    expect(chars).toBeGreaterThan(0);
    expect(chars).toBeLessThanOrEqual(1024 * 1024);
  });

  it('unreachable port -> NETWORK, retryable', async () => {
    const dead = createOpenAICompatibleProvider({
      name: 'dead',
      baseURL: 'http://127.0.0.1:9/v1',
      apiKey: KEY,
    });
    const error = await failure(() => dead.complete(request('m'), { signal: new AbortController().signal }));
    expect(error.code).toBe('NETWORK');
    expect(error.retryable).toBe(true);
    await dead.close();
  });

  it('429 carries Retry-After seconds, an HTTP date, retry-after-ms and x-ratelimit-reset-requests', async () => {
    const hint = async (model: string) => (await failure(call('complete', model))).retryAfterMs;
    expect(await hint('fault:429:retry-after=2')).toBe(2000);
    expect(await hint('fault:429:retry-after-ms=150')).toBe(150);
    expect(await hint('fault:429:reset-requests=1m30s')).toBe(90_000);
    const date = new Date(Date.now() + 5000).toUTCString();
    const fromDate = await hint(`fault:429:retry-after=${encodeURIComponent(date)}`);
    expect(fromDate).toBeGreaterThanOrEqual(3000);
    expect(fromDate).toBeLessThanOrEqual(5000);
    expect(await hint('fault:503:retry-after=3')).toBe(3000);
    expect(await hint('fault:409:retry-after=4')).toBe(4000);
  });
});

describe('aborts cancel the call and close the connection', () => {
  const cases: readonly [kind: Kind, model: string][] = [
    ['complete', 'fault:hang'],
    ['stream', 'fault:hang'],
    ['complete', 'fault:stall'],
    ['stream', 'fault:stall:after=3'],
    ['streamTo', 'fault:hang'],
    ['streamTo', 'fault:stall:after=3'],
  ];
  for (const [kind, model] of cases) {
    it(`${kind}: ${model}, aborted -> CANCELLED, server sees the close within 200 ms`, async () => {
      const controller = new AbortController();
      const tagged = `${model}:tag=${kind}-${Math.random()}`;
      const running = failure(call(kind, tagged, controller.signal));
      const received = await server.waitForRequest((r) => (r.body as { model?: string })?.model === tagged);
      // Let a stalled stream deliver its first chunks before the abort.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const abortedAt = Date.now();
      controller.abort();
      const error = await running;
      expect(error.code).toBe('CANCELLED');
      const closedAt = await server.waitForClose(received);
      expect(received.completed).toBe(false);
      expect(closedAt - abortedAt).toBeLessThan(200);
    });
  }

  it('a consumer that stops reading a stream early closes the connection too', async () => {
    const tagged = `fault:stall:after=4:tag=${Math.random()}`;
    for await (const delta of provider.stream(request(tagged), { signal: new AbortController().signal })) {
      expect(delta.type).toBeDefined();
      break;
    }
    const received = await server.waitForRequest((r) => (r.body as { model?: string })?.model === tagged);
    await server.waitForClose(received);
    expect(received.completed).toBe(false);
  });
});

describe('one-write=1: a stream’s whole body in one write', () => {
  /** The body's first read, and what the reads after it held. */
  async function reads(baseURL: string, model: string): Promise<{ first: string; rest: string }> {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hello there' }] }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read())
      rest += decoder.decode(next.value);
    return { first: first.done ? '' : decoder.decode(first.value), rest };
  }

  it('the first read holds every chunk, the finish and [DONE], though chunk-ms would pace them', async () => {
    // Without the key the same stream comes a chunk at a time: the check tells the two apart.
    const paced = await reads(server.baseURL, 'fault:ok:chunk-ms=30');
    expect(paced.first).not.toContain('[DONE]');
    const whole = await reads(server.baseURL, 'fault:ok:chunk-ms=30:split=7:one-write=1');
    expect(whole.first).toContain('"finish_reason":"stop"');
    expect(whole.first.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(whole.rest).toBe('');
  });

  it('with truncate: the chunks before the cut in the one write, then the end, no [DONE]', async () => {
    const { first, rest } = await reads(server.baseURL, 'fault:truncate:after=3:one-write=1:chunk-ms=30');
    expect(first.match(/^data: /gm)).toHaveLength(3);
    expect(first).not.toContain('[DONE]');
    expect(rest).toBe('');
  });

  it.each(['kimi', 'glm'] as const)(
    'a %s-mode server sends its own stream in one write too',
    async (vendor) => {
      const vendorServer = createOpenAIServer({ vendor });
      await vendorServer.start();
      try {
        const { first, rest } = await reads(vendorServer.baseURL, 'fault:ok:chunk-ms=30:one-write=1');
        expect(first).toContain('"usage"');
        expect(first.endsWith('data: [DONE]\n\n')).toBe(true);
        expect(rest).toBe('');
      } finally {
        await vendorServer.close();
      }
    },
  );
});

describe('an abort after the whole body came in one read', () => {
  // What the contract's signalHonoured holds every adapter to (its `after-body` phase): the body
  // holds `[DONE]`, no read is left to fail, and the call must still end CANCELLED, never whole.
  it('stream: the deltas already parsed may still come, then CANCELLED in place of the usage and finish', async () => {
    const controller = new AbortController();
    const tagged = `fault:ok:one-write=1:tag=${Math.random()}`;
    const iterator = provider.stream(request(tagged), { signal: controller.signal })[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    const received = await server.waitForRequest((r) => (r.body as { model?: string })?.model === tagged);
    await server.waitForClose(received);
    expect(received.completed).toBe(true);
    controller.abort();
    const after: ChatDelta[] = [];
    const error = await failure(async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) after.push(next.value);
    });
    expect(error.code).toBe('CANCELLED');
    expect(after.filter((d) => d.type !== 'content')).toEqual([]);
  });

  it('streamTo: aborted inside onDelta, nothing more is pushed, and it rejects CANCELLED', async () => {
    const controller = new AbortController();
    const deltas: ChatDelta[] = [];
    const error = await failure(() =>
      (provider.streamTo as NonNullable<ChatProvider['streamTo']>)(
        request('fault:ok:one-write=1'),
        { signal: controller.signal },
        (delta) => {
          deltas.push(delta);
          if (deltas.length === 2) controller.abort();
        },
      ),
    );
    expect(error.code).toBe('CANCELLED');
    expect(deltas).toHaveLength(2);
  });
});
