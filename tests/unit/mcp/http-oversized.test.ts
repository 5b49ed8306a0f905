/**
 * One answer too large for the HTTP front's unsent bound by itself, or held too long beside the
 * answers waiting (`http-held.ts`), goes as an error for its id (`http-oversized.ts`): in an SSE
 * event (the 2025 era's answers) and as a JSON body (the 2026-07-28 era's), either sent without a
 * length; anything else is left to the bound. The built CLI end to end:
 * tests/e2e/serve-vendor-host.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { oversizedAnswerOf } from '../../../src/mcp/http-oversized.js';

const LIMIT = 100;
const result = {
  content: [{ type: 'text', text: 'x'.repeat(200) }],
  structuredContent: { ok: true, content: 'x'.repeat(200), session: { state: 'done', provider: 'kimi' } },
  _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't1' } },
  resultType: 'complete',
};
const answer = JSON.stringify({ jsonrpc: '2.0', id: 7, result });
const said =
  'Expected an answer of at most 100 bytes waiting unsent over HTTP (maxUnsentBytes), got 999: it was not sent; ask for a shorter one (max_tokens)';
const chunked = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';

describe('an answer over the unsent bound by itself', () => {
  it('in an SSE event: the same event, its data the answer’s error for its id, metadata kept', () => {
    const event = new TextEncoder().encode(`event: message\nid: e-1\ndata: ${answer}\n\n`);
    const instead = oversizedAnswerOf(event, 999, LIMIT, 'content-type: text/event-stream\r\n') as string;
    const [head, id, data, ...rest] = instead.split('\n');
    expect([head, id, rest]).toEqual(['event: message', 'id: e-1', ['', '']]);
    const message = JSON.parse((data as string).slice('data: '.length));
    expect(message).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      result: {
        isError: true,
        structuredContent: {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: said },
          session: { state: 'done', provider: 'kimi' },
        },
        _meta: result._meta,
        resultType: 'complete',
      },
    });
  });

  it('as a JSON body without a length: the answer’s error; with a length it cannot be rewritten', () => {
    expect(JSON.parse(oversizedAnswerOf(answer, 999, LIMIT, chunked) as string)).toMatchObject({
      id: 7,
      result: { isError: true, structuredContent: { error: { message: said } } },
    });
    expect(
      oversizedAnswerOf(answer, 999, LIMIT, 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n'),
    ).toBeUndefined();
    // Only a `Content-Length` field is one: another field that ends so is not.
    const proxied = chunked.replace('\r\n\r\n', '\r\nX-Original-Content-Length: 999\r\n\r\n');
    expect(JSON.parse(oversizedAnswerOf(answer, 999, LIMIT, proxied) as string)).toMatchObject({ id: 7 });
  });

  it('reads an event’s data with or without the space after its colon, over several lines too', () => {
    const pretty = JSON.stringify({ jsonrpc: '2.0', id: 8, result }, null, 1).split('\n');
    for (const event of [
      `data:${answer}\n\n`,
      `${pretty.map((line) => `data:${line}`).join('\n')}\n\n`,
      `${pretty.map((line) => `data: ${line}`).join('\n')}\n\n`,
    ]) {
      const instead = oversizedAnswerOf(event, 999, LIMIT, '') as string;
      expect(JSON.parse(instead.slice('data: '.length)), event.slice(0, 12)).toMatchObject({
        result: { isError: true, resultType: 'complete' },
      });
    }
  });

  it('an SSE event under a head with a length is left as it is: rewritten, the body would be shorter than said', () => {
    const event = `event: message\ndata: ${answer}\n\n`;
    const sse = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n';
    expect(oversizedAnswerOf(event, 999, LIMIT, `${sse}Content-Length: 999\r\n\r\n`)).toBeUndefined();
    expect(oversizedAnswerOf(event, 999, LIMIT, `${sse}\r\n`)).toMatch(
      /^event: message\ndata: \{"jsonrpc":"2.0","id":7,/,
    );
  });

  it('an answer under the bound that did not fit beside those waiting says so', () => {
    const instead = oversizedAnswerOf(`data: ${answer}\n\n`, 99, LIMIT, '', true) as string;
    expect(JSON.parse(instead.slice('data: '.length))).toMatchObject({
      id: 7,
      result: {
        isError: true,
        structuredContent: {
          error: {
            code: 'INVALID_REQUEST',
            message:
              'Expected an answer to fit the 100 bytes that may wait unsent over HTTP (maxUnsentBytes) beside the answers waiting for their clients, got 99: it was not sent; ask again once they are read, or for a shorter one (max_tokens)',
          },
        },
      },
    });
  });

  it('another answer (not a tool result) becomes a -32603 error for its id', () => {
    const other = `data: ${JSON.stringify({ jsonrpc: '2.0', id: 'r', result: { resources: ['x'.repeat(200)] } })}\n\n`;
    const instead = oversizedAnswerOf(other, 999, LIMIT, '') as string;
    expect(JSON.parse(instead.slice('data: '.length))).toEqual({
      jsonrpc: '2.0',
      id: 'r',
      error: { code: -32603, message: said },
    });
  });

  it('leaves what is no whole answer as it is: a piece of a body, a notification, an event without data, a batch', () => {
    expect(oversizedAnswerOf(answer.slice(0, 150), 999, LIMIT, chunked)).toBeUndefined();
    const note = JSON.stringify({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { x: 'x'.repeat(200) },
    });
    expect(oversizedAnswerOf(`data: ${note}\n\n`, 999, LIMIT, '')).toBeUndefined();
    expect(oversizedAnswerOf(`: ${'x'.repeat(200)}\n\n`, 999, LIMIT, '')).toBeUndefined();
    expect(oversizedAnswerOf(`[${answer},${answer}]`, 999, LIMIT, chunked)).toBeUndefined();
  });
});
