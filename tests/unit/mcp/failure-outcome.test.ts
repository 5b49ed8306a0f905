/**
 * A failed call's tool result (`failureOutcome`): the error and its session, and what a stream had
 * written before it ended, so a model reading the result loses nothing.
 */
import { describe, expect, it } from 'vitest';
import { toolErrorInfo } from '../../../src/mcp/errors.js';
import { failureOutcome, partialText } from '../../../src/mcp/tools/session-result.js';

const error = toolErrorInfo({
  family: 'provider',
  code: 'NETWORK',
  message: 'Expected the stream to go on, got a reset',
  retryable: true,
});

describe('failureOutcome', () => {
  it('is the plain error result when nothing was written', () => {
    const outcome = failureOutcome({ ok: false, error });
    expect(outcome.structured).toEqual({ ok: false, error });
    expect(outcome.text).toBe(`NETWORK: ${error.message}\n${error.hint}`);
  });

  it('adds the partial answer to the structured result and, after the error, to the text', () => {
    const partial = { content: 'The first half of', reasoning: 'thinking' };
    const outcome = failureOutcome({ ok: false, error, partial_answer: partial });
    expect(outcome.structured).toEqual({ ok: false, error, partial_answer: partial });
    expect(outcome.text).toBe(
      `NETWORK: ${error.message}\n${error.hint}\n\n[What the model had written before the session ended (17 characters; not a whole answer):]\nThe first half of`,
    );
  });

  it('says so when the model had only reasoned, without putting the reasoning in the text', () => {
    expect(partialText({ content: '', reasoning: 'step one, step two' })).toBe(
      '\n\n[The model had only reasoned (18 characters, in partial_answer.reasoning) before the session ended.]',
    );
  });
});
