/**
 * An answer the HTTP front's bound on what waits unsent (`maxUnsentBytes`, `http-unsent.ts`) cannot
 * take: one too large for it by itself (a provider's answer near its own 64 MiB cap is one: its text
 * goes in `content` and again in `structuredContent`, escaped), or one that does not fit beside the
 * answers already waiting for their clients (several large answers at once). Written whole, it went
 * over the bound and a response was cut off, the client left waiting for an answer that never came
 * (until its own timeout) though it had done nothing wrong (until 2026-12-07, the second kind until
 * later that day). Now the event carrying it says why instead, an error for its id,
 * as on stdio (`stdio-oversized.ts`), and the server goes on. So does a JSON body that is one answer
 * (the 2026-07-28 era's), when it goes without a `Content-Length`.
 */
import { answerInstead } from './stdio-oversized.js';

/**
 * What to write in place of `chunk` (`size` bytes) when it is one JSON-RPC answer whole, over
 * `limit` by itself or, `beside`, not fitting under it beside the bytes waiting: an SSE event whose
 * data is the answer (the same event, its data the answer's error for its id), or a body that is the
 * answer's JSON itself. Only without a `Content-Length` in `header` (the response's head as sent):
 * a body with a length cannot be rewritten. `undefined` for anything else (a piece of a body, a
 * batch, a notification): written as it is, the bound then cuts its response off.
 */
export function oversizedAnswerOf(
  chunk: string | Uint8Array,
  size: number,
  limit: number,
  header: string,
  beside = false,
): string | undefined {
  if (/^content-length:/im.test(header)) return undefined;
  const text =
    typeof chunk === 'string'
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString();
  const error = beside
    ? `Expected an answer to fit the ${limit} bytes that may wait unsent over HTTP (maxUnsentBytes) beside the answers waiting for their clients, got ${size}: it was not sent; ask again once they are read, or for a shorter one (max_tokens)`
    : `Expected an answer of at most ${limit} bytes waiting unsent over HTTP (maxUnsentBytes), got ${size}: it was not sent; ask for a shorter one (max_tokens)`;
  if (!text.endsWith('\n\n')) return answerInstead(text, error);
  const lines = text.slice(0, -2).split('\n');
  // A field's value is what follows its colon, less one leading space (the SSE spec): JSON reads past
  // that space anyway. An event with no data gives no JSON, and no answer.
  const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice('data:'.length));
  // Stryker disable next-line StringLiteral: JSON has no line break inside a token, so '' joins to the same value.
  const json = data.join('\n');
  const answer = answerInstead(json, error);
  if (answer === undefined) return undefined;
  const kept = lines.filter((line) => !line.startsWith('data:'));
  return `${[...kept, `data: ${answer}`].join('\n')}\n\n`;
}
