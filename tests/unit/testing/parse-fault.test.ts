/**
 * The fault server reads its faults from the model name. A key it does not know is refused; until
 * 2026-12-05 a number it could not read was not: `latency=1s` gave no latency at all, `first=two`
 * faulted every request, `after=x` moved a stall to the end of the stream, each without a word.
 */
import { describe, expect, it } from 'vitest';
import { parseFault } from '../../../src/testing/faults.js';
import { createOpenAIServer } from '../../../src/testing/openai-server.js';

describe('parseFault’s numbers', () => {
  it('reads whole numbers of ms, bytes, chunks and requests', () => {
    expect(parseFault('fault:ok:latency=250:chunk-ms=20:end-ms=300:split=3')).toMatchObject({
      latencyMs: 250,
      chunkDelayMs: 20,
      endDelayMs: 300,
      splitBytes: 3,
    });
    expect(parseFault('fault:stall:after=0')).toMatchObject({ after: 0 });
    expect(parseFault('fault:oversized:bytes=4096:first=2')).toMatchObject({ bytes: 4096, first: 2 });
  });

  it('refuses one it cannot read, naming the key and the value', () => {
    for (const [model, key, value] of [
      ['fault:ok:latency=1s', 'latency', '1s'],
      ['fault:ok:chunk-ms=', 'chunk-ms', ''],
      ['fault:ok:end-ms=-5', 'end-ms', '-5'],
      ['fault:ok:split=2.5', 'split', '2.5'],
      ['fault:stall:after=x', 'after', 'x'],
      ['fault:oversized:bytes=1e6', 'bytes', '1e6'],
      ['fault:503:first=two', 'first', 'two'],
      ['fault:ok:latency', 'latency', ''],
    ] as const) {
      expect(() => parseFault(model)).toThrow(
        `Expected \`${key}\` to be a whole number, got ${JSON.stringify(value)} in "${model}"`,
      );
    }
  });

  it('takes a switch as 1 or 0, and refuses any other value, naming the key and the value', () => {
    expect(parseFault('fault:401:echo-auth=1:html=1')).toMatchObject({ echoAuth: true, html: true });
    expect(parseFault('fault:ok:one-write=0')).toMatchObject({ oneWrite: false });
    // `echo-auth=true` sent no key to scrub, and a test of the scrubbing passed without one.
    for (const [model, key, value] of [
      ['fault:401:echo-auth=true', 'echo-auth', 'true'],
      ['fault:401:echo-headers', 'echo-headers', ''],
      ['fault:502:html=yes', 'html', 'yes'],
      ['fault:ok:no-sse=true', 'no-sse', 'true'],
      ['fault:ok:no-finish=on', 'no-finish', 'on'],
      ['fault:ok:one-write=2', 'one-write', '2'],
      ['fault:ok:last-in-finish=true', 'last-in-finish', 'true'],
    ] as const) {
      expect(() => parseFault(model)).toThrow(
        `Expected \`${key}\` to be 1 or 0, got ${JSON.stringify(value)} in "${model}"`,
      );
    }
  });

  it('takes the ways of writing SSE events it knows, and refuses another', () => {
    expect(parseFault('fault:ok').sse).toBe('plain');
    for (const style of ['crlf', 'compact', 'comments'] as const)
      expect(parseFault(`fault:ok:sse=${style}`).sse).toBe(style);
    expect(() => parseFault('fault:ok:sse=cr')).toThrow(
      'Expected `sse` to be one of plain, crlf, compact, comments, got "cr"',
    );
  });

  it('the server answers such a model with 400 and the reason', async () => {
    const server = createOpenAIServer();
    await server.start();
    try {
      const response = await fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fault:ok:latency=1s', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        'Expected `latency` to be a whole number, got "1s" in "fault:ok:latency=1s"',
      );
    } finally {
      await server.close();
    }
  });
});
