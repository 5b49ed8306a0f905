/**
 * `readSSE` (pushed) and `iterateSSE` (pulled, for `stream()`) against the `openai` SDK's own
 * `Stream.fromSSEResponse`: the same bodies, cut into network chunks at random bytes, must give the
 * same chunks in the same order and the same error; both say whether `[DONE]` came.
 */
import fc from 'fast-check';
import { Stream } from 'openai/streaming';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DONE_GRACE_MS, iterateSSE, readSSE } from '../../../src/providers/sse.js';

const numRuns = Number(process.env.TROUPE_PROPERTY_RUNS ?? 300);
const encoder = new TextEncoder();

/** A body in these byte pieces, as fetch hands it over; `cancelled` says whether it was cancelled. */
function bodyOf(pieces: readonly Uint8Array[]): { response: Response; cancelled: () => boolean } {
  let cancelled = false;
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[at++];
      if (piece === undefined) controller.close();
      else controller.enqueue(piece);
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    response: new Response(stream, { headers: { 'content-type': 'text/event-stream' } }),
    cancelled: () => cancelled,
  };
}

/** The text cut at these byte offsets. */
function cut(text: string, offsets: readonly number[]): Uint8Array[] {
  const bytes = encoder.encode(text);
  const at = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const o of [...at, bytes.length]) {
    if (o > from) pieces.push(bytes.slice(from, o));
    from = Math.max(from, o);
  }
  return pieces;
}

type Outcome = { chunks: unknown[]; error?: string };

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);

async function viaSdk(pieces: readonly Uint8Array[]): Promise<Outcome> {
  const chunks: unknown[] = [];
  try {
    const stream = Stream.fromSSEResponse(bodyOf(pieces).response, new AbortController());
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks };
  } catch (error) {
    return { chunks, error: describeError(error) };
  }
}

async function viaReadSSE(pieces: readonly Uint8Array[]): Promise<Outcome> {
  const chunks: unknown[] = [];
  try {
    await readSSE(
      bodyOf(pieces).response,
      (chunk) => chunks.push(chunk),
      () => false,
    );
    return { chunks };
  } catch (error) {
    return { chunks, error: describeError(error) };
  }
}

async function viaIterateSSE(pieces: readonly Uint8Array[]): Promise<Outcome> {
  const chunks: unknown[] = [];
  try {
    for await (const chunk of iterateSSE(bodyOf(pieces).response, { done: false })) chunks.push(chunk);
    return { chunks };
  } catch (error) {
    return { chunks, error: describeError(error) };
  }
}

// The SDK logs a payload it cannot parse before it throws.
beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const ending = fc.constantFrom('\n', '\r\n', '\r');
const payload = fc.oneof(
  fc
    .record({ n: fc.nat(999), text: fc.string({ unit: 'grapheme', maxLength: 6 }) })
    .map((c) => JSON.stringify({ choices: [{ index: 0, delta: { content: c.text } }], n: c.n })),
  fc.constant('{"error":{"message":"overloaded","code":"busy"}}'),
  fc.constant('[DONE]'),
  fc.constant('{oops'),
);
/** One line of an event: data (with or without the space, or split over two lines), a name, a comment, other fields. */
const line = fc.oneof(
  { weight: 6, arbitrary: payload.map((p) => [`data: ${p}`]) },
  { weight: 1, arbitrary: payload.map((p) => [`data:${p}`]) },
  { weight: 1, arbitrary: payload.map((p) => [`data: ${p.slice(0, 3)}`, `data: ${p.slice(3)}`]) },
  { weight: 1, arbitrary: fc.constantFrom(['event: message'], ['event: thread.run'], ['event:'], ['data']) },
  { weight: 1, arbitrary: fc.constantFrom([': keep-alive'], ['id: 7'], ['retry: 100'], ['nonsense']) },
);
const event = fc.record({
  lines: fc.array(line, { minLength: 1, maxLength: 3 }),
  endings: fc.array(ending, { minLength: 5, maxLength: 5 }),
});
const body = fc
  .record({ events: fc.array(event, { maxLength: 6 }), closed: fc.boolean() })
  .map(({ events, closed }) => {
    let text = '';
    for (const e of events) {
      const lines = e.lines.flat();
      lines.forEach((l, i) => {
        text += l + e.endings[i % 5];
      });
      text += e.endings[4];
    }
    // A body can end in the middle of an event (no empty line after it).
    return closed ? text : `${text}data: {"left":"open"}`;
  });

describe('readSSE: the SDK rules', () => {
  it('gives the chunks and the error the SDK gives, however the body is cut', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.array(fc.nat(4000), { maxLength: 12 }), async (text, offsets) => {
        const pieces = cut(text, offsets);
        const sdk = await viaSdk(pieces);
        expect(await viaReadSSE(pieces)).toEqual(sdk);
        expect(await viaIterateSSE(pieces)).toEqual(sdk);
      }),
      { numRuns },
    );
  });

  it('both say whether [DONE] came; leaving the pulled one early cancels the body', async () => {
    const answered = 'data: {"a":1}\n\ndata: [DONE]\n\n';
    const cutShort = 'data: {"a":1}\n\n';
    for (const [text, expected] of [
      [answered, true],
      [cutShort, false],
    ] as const) {
      expect(
        await readSSE(
          bodyOf([encoder.encode(text)]).response,
          () => undefined,
          () => false,
        ),
      ).toBe(expected);
      const seen = { done: false };
      for await (const _ of iterateSSE(bodyOf([encoder.encode(text)]).response, seen));
      expect(seen.done).toBe(expected);
    }
    const { response, cancelled } = bodyOf([encoder.encode(cutShort), encoder.encode(cutShort)]);
    for await (const _ of iterateSSE(response, { done: false })) break;
    expect(cancelled()).toBe(true);
  });

  it('a CRLF cut between its two bytes ends one line, not two (an empty line would end the event early)', async () => {
    const text = 'data: {"a":\r\ndata: 1}\r\n\r\n';
    const at = text.indexOf('\r') + 1;
    const pieces = [encoder.encode(text.slice(0, at)), encoder.encode(text.slice(at))];
    expect(await viaReadSSE(pieces)).toEqual({ chunks: [{ a: 1 }] });
  });

  it('a character cut inside its UTF-8 bytes arrives whole', async () => {
    const bytes = encoder.encode('data: {"t":"漢😀"}\n\n');
    const pieces = [bytes.slice(0, 13), bytes.slice(13, 15), bytes.slice(15)];
    expect(await viaReadSSE(pieces)).toEqual({ chunks: [{ t: '漢😀' }] });
  });

  it('after [DONE] nothing more is handed over, and the body is read to its end', async () => {
    const { response, cancelled } = bodyOf([
      encoder.encode('data: {"a":1}\n\ndata: [DONE]\n\ndata: {"b":2}\n\n'),
    ]);
    const chunks: unknown[] = [];
    await readSSE(
      response,
      (c) => chunks.push(c),
      () => false,
    );
    expect(chunks).toEqual([{ a: 1 }]);
    expect(cancelled()).toBe(false);
  });

  /** An answer and `[DONE]`, then whatever `pull` does with the body: read whole by `readSSE`. */
  async function afterDone(
    pull: (controller: ReadableStreamDefaultController<Uint8Array>) => void | Promise<void>,
  ) {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: {"a":1}\n\ndata: [DONE]\n\n'));
      },
      pull,
      cancel() {
        cancelled = true;
      },
    });
    const chunks: unknown[] = [];
    const started = performance.now();
    await readSSE(
      new Response(stream),
      (c) => chunks.push(c),
      () => false,
    );
    return { chunks, cancelled, ms: performance.now() - started };
  }

  it('a body kept open after [DONE] does not hold the answer: the read ends within the grace and the body is cancelled', async () => {
    // Never another byte, never an end.
    const read = await afterDone(() => new Promise<void>(() => undefined));
    expect(read.chunks).toEqual([{ a: 1 }]);
    expect(read.cancelled).toBe(true);
    expect(read.ms).toBeGreaterThanOrEqual(DONE_GRACE_MS - 5);
  });

  it('a body that keeps sending after [DONE] is cut off after the grace too, nothing of it handed over', async () => {
    // Bytes at once on every read (no turn of the event loop between them), for seconds, then an
    // end: the read must stop by the clock, not by its timer nor by the end.
    let sent = 0;
    const read = await afterDone((controller) => {
      sent += 1;
      if (sent > 2_000_000) controller.close();
      else controller.enqueue(encoder.encode('data: {"more":true}\n\n'));
    });
    expect(read.chunks).toEqual([{ a: 1 }]);
    expect(read.cancelled).toBe(true);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(2_000_000);
  });

  it('an error payload throws the SDK error with its message, after the chunks before it, and cancels the body', async () => {
    const { response, cancelled } = bodyOf([
      encoder.encode('data: {"a":1}\n\ndata: {"error":{"message":"overloaded"}}\n\n'),
      encoder.encode('data: {"b":2}\n\n'),
    ]);
    const chunks: unknown[] = [];
    await expect(
      readSSE(
        response,
        (c) => chunks.push(c),
        () => false,
      ),
    ).rejects.toThrow('overloaded');
    expect(chunks).toEqual([{ a: 1 }]);
    expect(cancelled()).toBe(true);
  });

  it('stops once `stop()` says so after an event, even with events already read, and cancels the body', async () => {
    const { response, cancelled } = bodyOf([
      encoder.encode('data: {"a":1}\n\ndata: {"b":2}\n\n'),
      encoder.encode('data: {"c":3}\n\n'),
    ]);
    const chunks: unknown[] = [];
    await readSSE(
      response,
      (c) => chunks.push(c),
      () => chunks.length === 1,
    );
    expect(chunks).toEqual([{ a: 1 }]);
    expect(cancelled()).toBe(true);
  });

  it('a response without a body fails as the SDK fails', async () => {
    await expect(
      readSSE(
        new Response(null),
        () => undefined,
        () => false,
      ),
    ).rejects.toThrow('Attempted to iterate over a response with no body');
  });
});
