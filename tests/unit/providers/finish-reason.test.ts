/**
 * A server's `finish_reason` is kept only when it has the shape of one. It reaches the session's
 * metadata, its summary in the history and the tool result (`finish_reason`, and `finish ...` in
 * the text): a server that echoed the `Authorization` header there showed the key to the client
 * (seen through `troupe serve` against a local echoing server), and one that sent a megabyte kept
 * a megabyte per session.
 */
import { describe, expect, it } from 'vitest';
import { finishReasonOf, fromChunk, fromCompletion } from '../../../src/providers/wire.js';

const completion = (finish_reason: unknown) => ({
  choices: [{ index: 0, finish_reason, message: { role: 'assistant', content: 'ok' } }],
});
const chunk = (finish_reason: unknown) => ({ choices: [{ index: 0, delta: {}, finish_reason }] });

describe('finish_reason', () => {
  it('keeps the reasons vendors send', () => {
    for (const reason of ['stop', 'length', 'tool_calls', 'content_filter', 'sensitive', 'network_error']) {
      expect(fromCompletion('p', completion(reason)).finishReason).toBe(reason);
      expect(fromChunk('p', chunk(reason)).finishReason).toBe(reason);
    }
  });

  it('drops one that is not a word: an echoed key, a long text, a number', () => {
    for (const odd of ['sk-test-SECRET123', 'Bearer sk-abc', 'x'.repeat(65), 'a.b', '', 42, null]) {
      expect(fromCompletion('p', completion(odd)).finishReason).toBeUndefined();
      expect(fromChunk('p', chunk(odd)).finishReason).toBeUndefined();
      expect(finishReasonOf(odd)).toBeUndefined();
    }
  });
});
