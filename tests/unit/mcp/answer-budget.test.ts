/**
 * One HTTP request's answer budget (`src/mcp/answer-budget.ts`): the answers of a JSON-RPC batch
 * carry at most `ANSWER_BUDGET_BYTES` of stored data, the first whatever its size.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  ANSWER_BUDGET_BYTES,
  AnswerBudgetSpent,
  checkAnswerBudget,
  takeAnswerBytes,
} from '../../../src/mcp/answer-budget.js';

describe('answer budget', () => {
  it('never refuses a request’s first answer, however large', () => {
    const request = {};
    checkAnswerBudget(request);
    expect(() => takeAnswerBytes(request, () => ANSWER_BUDGET_BYTES * 10)).not.toThrow();
    // Spent now: the next message is refused before it builds anything.
    expect(() => checkAnswerBudget(request)).toThrow(AnswerBudgetSpent);
    expect(() => takeAnswerBytes(request, () => 1)).toThrow(AnswerBudgetSpent);
  });

  it('refuses an answer that would go past the budget, and takes one that fits it exactly', () => {
    const request = {};
    takeAnswerBytes(request, () => ANSWER_BUDGET_BYTES - 100);
    expect(() => takeAnswerBytes(request, () => 101)).toThrow(
      /got 1048476 already and 101 more for this message: the answer budget of this HTTP request is spent; send this message in a request of its own/,
    );
    // The refused one counted nothing: one that fits still goes in.
    checkAnswerBudget(request);
    takeAnswerBytes(request, () => 100);
    expect(() => checkAnswerBudget(request)).toThrow(/-32600|at most 1048576 bytes/);
  });

  it('counts each request apart, and nothing without one (stdio, in-process)', () => {
    const first = {};
    takeAnswerBytes(first, () => ANSWER_BUDGET_BYTES);
    expect(() => checkAnswerBudget(first)).toThrow(AnswerBudgetSpent);
    expect(() => checkAnswerBudget({})).not.toThrow();
    // Nothing measured either: a stdio answer's bytes are never counted.
    const measured = vi.fn(() => ANSWER_BUDGET_BYTES);
    for (let i = 0; i < 3; i++) takeAnswerBytes(undefined, measured);
    expect(measured).not.toHaveBeenCalled();
    expect(() => checkAnswerBudget(undefined)).not.toThrow();
  });

  it('is a JSON-RPC invalid request (-32600)', () => {
    expect(new AnswerBudgetSpent(5).code).toBe(-32600);
  });
});
