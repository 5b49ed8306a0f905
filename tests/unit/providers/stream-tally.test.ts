/**
 * The count Moonshot's rate limiter makes of a call (prompt + the budget sent; kimi.com/help,
 * "速率限制的计算逻辑"): which body field is the budget, and the usage that carries it.
 */
import { describe, expect, it } from 'vitest';
import { countedAnswer, sentBudget, withRateLimitTokens } from '../../../src/providers/stream-tally.js';

const usage = { promptTokens: 10, completionTokens: 3, totalTokens: 13 };

describe('sentBudget', () => {
  it('reads max_completion_tokens first, then max_tokens; only a positive number is a budget', () => {
    expect(sentBudget({ max_completion_tokens: 300, max_tokens: 5 })).toBe(300);
    expect(sentBudget({ max_tokens: 40 })).toBe(40);
    expect(sentBudget({ max_tokens: 40.2 })).toBe(41);
    expect(sentBudget({})).toBeUndefined();
    expect(sentBudget({ max_completion_tokens: 0 })).toBeUndefined();
    expect(sentBudget({ max_completion_tokens: '300' })).toBeUndefined();
    expect(sentBudget({ max_completion_tokens: Number.POSITIVE_INFINITY })).toBeUndefined();
  });
});

describe('withRateLimitTokens and countedAnswer', () => {
  it('add the prompt and the budget; no budget leaves the usage as reported', () => {
    expect(withRateLimitTokens(usage, 100)).toEqual({ ...usage, rateLimitTokens: 110 });
    expect(withRateLimitTokens(usage, undefined)).toBe(usage);
    expect(countedAnswer({ content: 'a', usage }, 100).usage).toEqual({ ...usage, rateLimitTokens: 110 });
    const bare = { content: 'a' };
    expect(countedAnswer(bare, 100)).toBe(bare);
  });
});
