/**
 * How the contract ends a stream whose server gave no `finish_reason` and sent `[DONE]`: a whole
 * answer whose reason is unknown, so no `finish` and a `note` last; on any other stream a missing
 * `finish` stays an error. Until 2026-12-05 the contract demanded a `finish` of every stream, and
 * troupe's own adapter, which ends such a stream with a note, would have failed it.
 */
import { describe, expect, it } from 'vitest';
import type { ChatDelta } from '../../../src/providers/port.js';
import type { ContractContext } from '../../../src/testing/contract/harness.js';
import { shapeViolation } from '../../../src/testing/contract/shape.js';
import { deltaViolations } from '../../../src/testing/contract/stream.js';

const context = {
  capabilities: { streaming: true, tools: false, files: false, thinking: false },
} as unknown as ContractContext;
const reply = { content: 'hi', finishReason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 1 } };
const note: ChatDelta = { type: 'note', text: 'no finish_reason came' };
const content: ChatDelta = { type: 'content', text: 'hi' };
const stop: ChatDelta = { type: 'finish', reason: 'stop' };
const check = (deltas: ChatDelta[], noFinish: boolean) =>
  deltaViolations(deltas, { reply, context, noFinish });

describe('a stream with no finish_reason, ended by [DONE]', () => {
  it('passes with no `finish` and a `note` last', () => {
    expect(check([content, note], true)).toBeUndefined();
  });

  it('fails with `finish: stop`, a reason the server never gave, and says what to do instead', () => {
    expect(check([content, note, stop], true)).toBe(
      'Expected no `finish` delta, got `finish` "stop": the server gave no finish_reason; report none, with a note, rather than `stop`',
    );
  });

  it('fails with no `finish` and no `note` last', () => {
    expect(check([note, content], true)).toBe(
      'Expected a `note` as the last delta, saying why the stream has no `finish` (the server gave no finish_reason), got a `content` delta',
    );
  });

  it('complete(): fails with a finishReason the server never gave', () => {
    expect(
      shapeViolation({ content: 'hi', finishReason: 'stop', usage: undefined }, reply, context, true),
    ).toBe(
      'Expected no `finishReason`, got "stop": the server gave no finish_reason; report none rather than `stop`',
    );
  });
});

describe('a stream whose server gave a finish_reason', () => {
  it('still fails with no `finish`, a `note` last or not', () => {
    expect(check([content, note], false)).toBe('Expected exactly one `finish` delta, got 0');
  });

  it('without a server to say, may end with no `finish` and a `note` last, not with neither', () => {
    expect(deltaViolations([content, note])).toBeUndefined();
    expect(deltaViolations([note, content])).toBe(
      'Expected exactly one `finish` delta (or none and a `note` last, saying why), got 0',
    );
  });
});
