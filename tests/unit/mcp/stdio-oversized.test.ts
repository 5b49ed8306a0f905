import { describe, expect, it } from 'vitest';
import { answerBeside, oversizedAnswer } from '../../../src/mcp/stdio-oversized.js';

const line = (message: object) => `${JSON.stringify(message)}\n`;
const NOT_SENT =
  /^Expected an answer of at most 100 characters on stdout, got \d+: it was not sent; ask for a shorter one \(max_tokens\)$/;

describe('oversizedAnswer', () => {
  it('turns a tool result into an error result for its id, keeping the session’s metadata and _meta', () => {
    const big = line({
      result: {
        content: [{ type: 'text', text: 'x'.repeat(200) }],
        structuredContent: {
          ok: true,
          content: 'x'.repeat(200),
          session: { sessionId: 's1', state: 'done' },
        },
        _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't1' } },
      },
      jsonrpc: '2.0',
      id: 7,
    });
    const sent = oversizedAnswer(big, 100);
    expect(sent?.endsWith('}\n')).toBe(true);
    const message = JSON.parse(sent ?? '') as Record<string, unknown>;
    expect(message).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      result: {
        isError: true,
        structuredContent: {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: expect.stringMatching(NOT_SENT) },
          session: { sessionId: 's1', state: 'done' },
        },
        _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't1' } },
      },
    });
    expect((message.result as { content: { text: string }[] }).content[0]?.text).toContain(
      `got ${big.length}: it was not sent`,
    );
    expect(sent?.length).toBeLessThan(1000);
  });

  it('a tool result without a session gets none; any other answer gets a -32603 error for its id', () => {
    const tool = JSON.parse(
      oversizedAnswer(
        line({ jsonrpc: '2.0', id: 'a', result: { content: [], pad: 'x'.repeat(200) } }),
        100,
      ) ?? '',
    ) as { id: string; result: { structuredContent: Record<string, unknown> } };
    expect(tool.id).toBe('a');
    expect(Object.keys(tool.result.structuredContent)).toEqual(['ok', 'error']);
    const other = JSON.parse(
      oversizedAnswer(line({ jsonrpc: '2.0', id: 3, result: { resources: ['x'.repeat(200)] } }), 100) ?? '',
    ) as Record<string, unknown>;
    expect(other).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32603, message: expect.stringMatching(NOT_SENT) },
    });
    expect(Object.keys(other)).toEqual(['jsonrpc', 'id', 'error']);
    const error = JSON.parse(
      oversizedAnswer(line({ jsonrpc: '2.0', id: 4, error: { code: 1, message: 'x'.repeat(200) } }), 100) ??
        '',
    ) as Record<string, unknown>;
    expect(error).toMatchObject({ id: 4, error: { code: -32603 } });
    // A `null` result (here its id is what is long) is no tool result either.
    const id = 'x'.repeat(200);
    expect(JSON.parse(oversizedAnswer(line({ jsonrpc: '2.0', id, result: null }), 100) ?? '')).toEqual({
      jsonrpc: '2.0',
      id,
      error: { code: -32603, message: expect.stringMatching(NOT_SENT) },
    });
  });

  it('leaves what is no answer to the bound: a notification, a request, a bad id, not JSON', () => {
    const pad = 'x'.repeat(200);
    expect(
      oversizedAnswer(line({ jsonrpc: '2.0', method: 'notifications/message', params: { pad } }), 100),
    ).toBeUndefined();
    expect(
      oversizedAnswer(
        line({ jsonrpc: '2.0', id: 1, method: 'sampling/createMessage', params: { pad } }),
        100,
      ),
    ).toBeUndefined();
    expect(oversizedAnswer(line({ jsonrpc: '2.0', id: null, result: { pad } }), 100)).toBeUndefined();
    expect(oversizedAnswer(line({ jsonrpc: '2.0', id: {}, result: { pad } }), 100)).toBeUndefined();
    expect(oversizedAnswer(line([{ jsonrpc: '2.0', id: 1, result: { pad } }]), 100)).toBeUndefined();
    expect(oversizedAnswer(`${pad}\n`, 100)).toBeUndefined();
    expect(oversizedAnswer('null\n', 100)).toBeUndefined();
  });
});

describe('answerBeside', () => {
  it('turns an answer that does not fit beside those waiting into its error, saying to ask again once they are read', () => {
    const answer = line({ jsonrpc: '2.0', id: 'a', result: { resources: ['x'.repeat(200)] } });
    expect(answerBeside(answer, 100)).toBe(
      `${JSON.stringify({
        jsonrpc: '2.0',
        id: 'a',
        error: {
          code: -32603,
          message: `Expected an answer to fit the 100 characters that may wait unsent on stdout beside the answers waiting for the host, got ${answer.length}: it was not sent; ask again once they are read, or for a shorter one (max_tokens)`,
        },
      })}\n`,
    );
  });

  it('leaves a notification alone: nobody waits on it', () => {
    expect(answerBeside(line({ jsonrpc: '2.0', method: 'notifications/message', params: {} }), 10)).toBe(
      undefined,
    );
  });
});
