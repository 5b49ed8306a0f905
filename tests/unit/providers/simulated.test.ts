import { describe, expect, it } from 'vitest';
import type { CallOptions } from '../../../src/providers/port.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';

/** Call options that count reads of `signal` (the runtime makes its controller on the first read). */
function countingOptions(signal: AbortSignal): { options: CallOptions; reads: () => number } {
  let reads = 0;
  const options = {
    get signal() {
      reads += 1;
      return signal;
    },
  };
  return { options, reads: () => reads };
}

const request = (extra: Record<string, unknown>) => ({
  model: 'sim-fast',
  messages: [{ role: 'user' as const, content: 'hello there' }],
  extra,
});

describe('simulated provider and the call signal', () => {
  it('answers at once without reading the signal', async () => {
    const provider = createSimulatedProvider({ latencyMs: { min: 0, max: 0 } });
    const { options, reads } = countingOptions(new AbortController().signal);
    const answer = await provider.complete(request({ simulateLatencyMs: 0 }), options);
    expect(answer.content).toContain('On "hello there"');
    expect(reads()).toBe(0);
  });

  it('still hears an abort while it waits', async () => {
    const provider = createSimulatedProvider();
    const controller = new AbortController();
    const { options, reads } = countingOptions(controller.signal);
    const pending = provider.complete(request({ simulateLatencyMs: 60_000 }), options);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(reads()).toBeGreaterThan(0);
  });

  it('refuses at once when the signal is already aborted and it must wait', async () => {
    const provider = createSimulatedProvider();
    const controller = new AbortController();
    controller.abort();
    await expect(
      provider.complete(request({ simulateLatencyMs: 5 }), { signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('simulated provider: a stream aborted after its last piece', () => {
  const make = () =>
    createSimulatedProvider({ seed: 7, latencyMs: { min: 0, max: 0 }, tokensPerSec: 100_000 });

  for (const after of ['content', 'usage'] as const) {
    it(`ends by throwing CANCELLED when the abort comes after the last ${after}, not with a finish`, async () => {
      const whole: string[] = [];
      for await (const delta of make().stream(request({}), { signal: new AbortController().signal }))
        whole.push(delta.type);
      expect(whole.slice(-2)).toEqual(['usage', 'finish']);
      const abortAt = whole.lastIndexOf(after); // the same answer again: the same seed
      const controller = new AbortController();
      const deltas = make().stream(request({}), { signal: controller.signal })[Symbol.asyncIterator]();
      for (let i = 0; i <= abortAt; i++) expect((await deltas.next()).value?.type).toBe(whole[i]);
      controller.abort();
      await expect(deltas.next()).rejects.toMatchObject({ code: 'CANCELLED' });
    });
  }
});

describe('simulated provider and content parts', () => {
  it('answers a user message of content parts on its text, as submit takes it (it failed INTERNAL)', async () => {
    const provider = createSimulatedProvider({ latencyMs: { min: 0, max: 0 } });
    const content = [
      { type: 'text', text: 'what is' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
      { type: 'text', text: 'in it?' },
    ];
    const parts = { model: 'sim-fast', messages: [{ role: 'user' as const, content: content as never }] };
    const answer = await provider.complete(parts, { signal: new AbortController().signal });
    expect(answer.content).toContain('On "what is in it?"');
    // The prompt counted by its text (14 characters), not by its number of parts (review).
    expect(answer.usage?.promptTokens).toBe(Math.ceil('what is in it?'.length / 4));
    let streamed = '';
    for await (const delta of provider.stream(parts, { signal: new AbortController().signal })) {
      if (delta.type === 'content') streamed += delta.text;
    }
    expect(streamed).toContain('On "what is in it?"');
    const imageOnly = {
      model: 'sim-fast',
      messages: [{ role: 'user' as const, content: [content[1]] as never }],
    };
    await expect(
      provider.complete(imageOnly, { signal: new AbortController().signal }),
    ).resolves.toMatchObject({
      finishReason: 'stop',
    });
  });
});

describe('simulated provider and max_tokens', () => {
  // `troupe ask --max-tokens 5` on the simulated provider printed the whole answer, `finish=stop`.
  const ask = (max_tokens?: number) => ({
    model: 'sim-fast',
    messages: [{ role: 'user' as const, content: 'hello there' }],
    ...(max_tokens === undefined ? {} : { max_tokens }),
  });
  const signal = new AbortController().signal;
  const make = () =>
    createSimulatedProvider({ latencyMs: { min: 0, max: 0 }, answerWords: { min: 20, max: 20 } });

  it('cuts the answer at its budget with `length`, whole or streamed, counting what it kept', async () => {
    const whole = await make().complete(ask(9), { signal });
    expect(whole).toMatchObject({ finishReason: 'length', usage: { completionTokens: 9 } });
    expect(whole.content.replace(/^On "hello there": /, '').split(' ')).toHaveLength(5);
    const deltas: string[] = [];
    let finish: unknown;
    let text = '';
    for await (const delta of make().stream(ask(9), { signal })) {
      deltas.push(delta.type);
      if (delta.type === 'content') text += delta.text;
      if (delta.type === 'finish') finish = delta.reason;
      if (delta.type === 'usage') expect(delta.usage.completionTokens).toBe(9);
    }
    expect(finish).toBe('length');
    expect(text).toBe(whole.content);
    expect(deltas.slice(-2)).toEqual(['usage', 'finish']);
  });

  it('answers whole, `stop`, when the budget holds the answer or none is given', async () => {
    const full = await make().complete(ask(), { signal });
    expect(full).toMatchObject({ finishReason: 'stop', usage: { completionTokens: 24 } });
    expect(full.content.endsWith('.')).toBe(true);
    await expect(make().complete(ask(24), { signal })).resolves.toMatchObject({
      content: full.content,
      finishReason: 'stop',
    });
    await expect(make().complete(ask(23), { signal })).resolves.toMatchObject({ finishReason: 'length' });
  });
});

describe('simulated provider and what `extra` asks of it', () => {
  const fails = (provider: ReturnType<typeof createSimulatedProvider>, extra: Record<string, unknown>) => [
    provider.complete(request(extra), { signal: new AbortController().signal }),
    (async () => {
      for await (const _ of provider.stream(request(extra), { signal: new AbortController().signal })) {
        // Drained only to reach the error.
      }
    })(),
  ];

  it('refuses a `simulate` it does not know, at once and not retryable (a misspelt `hang` failed as a network fault, and was retried)', async () => {
    const provider = createSimulatedProvider({ latencyMs: { min: 0, max: 0 } });
    for (const asked of ['hange', 42]) {
      for (const call of fails(provider, { simulate: asked })) {
        await expect(call).rejects.toMatchObject({
          code: 'INVALID_REQUEST',
          retryable: false,
          message: expect.stringContaining(`, got ${asked === 42 ? '`42` (number)' : '`"hange"` (string)'}`),
        });
      }
    }
    const known = await Promise.allSettled(fails(provider, { simulate: 'network' }));
    expect(known.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code)).toEqual([
      'NETWORK',
      'NETWORK',
    ]);
  });

  it('waits out a `simulateLatencyMs` longer than a Node timer keeps, in timers Node does not fire at once', async () => {
    const asked: number[] = [];
    const clock = {
      now: () => 0,
      setTimeout: (_fn: () => void, ms: number) => asked.push(ms),
      clearTimeout: () => {},
    };
    const provider = createSimulatedProvider({ clock });
    const controller = new AbortController();
    const pending = provider.complete(request({ simulateLatencyMs: 1e12 }), { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(asked).toEqual([2_147_483_647]);
  });
});
