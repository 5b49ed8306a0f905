/**
 * `toolResult` (src/mcp/tool-result.ts), called directly: what a `withSession` handler returned is
 * answered only when MCP's `CallToolResult` takes it and JSON can carry it; anything else is an
 * `INTERNAL` error saying what was wrong, which `withSession` answers with the session's metadata
 * (through a server: tests/integration/mcp/with-session-results.test.ts).
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { toolResult } from '../../../src/mcp/tool-result.js';

const EXPECTED = "Expected the tool's handler to return a CallToolResult ({ content: [...] })";
const CARRY = `${EXPECTED} that JSON can carry, got one it cannot: `;

/** The `INTERNAL` error's message `toolResult` threw for `value`. */
function refusal(value: unknown): string {
  try {
    toolResult(value as CallToolResult);
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('INTERNAL');
    return (error as TroupeError).message;
  }
  throw new Error(`Expected toolResult to refuse ${String(value)}`);
}

const text = (s: string) => ({ type: 'text' as const, text: s });

describe('toolResult', () => {
  it('answers a result MCP and JSON take as it is, the same object', () => {
    const shared = { n: 1 };
    const results: CallToolResult[] = [
      { content: [] },
      { content: [text('hi')], isError: true },
      // The same object twice, side by side and in an array, is no cycle.
      { content: [text('a')], structuredContent: { a: shared, b: shared, list: [shared, [shared]] } },
      {
        content: [text('b')],
        structuredContent: { when: new Date(0), none: null, nested: { ok: { deep: [1, 'x', null] } } },
      },
    ];
    for (const result of results) expect(toolResult(result)).toBe(result);
  });

  it('names what a handler returned that is no object', () => {
    expect(refusal(undefined)).toBe(`${EXPECTED}, got undefined`);
    expect(refusal(null)).toBe(`${EXPECTED}, got null`);
    expect(refusal([{ type: 'text', text: 'x' }])).toBe(`${EXPECTED}, got an array`);
    expect(refusal('done')).toBe(`${EXPECTED}, got string`);
    expect(refusal(7)).toBe(`${EXPECTED}, got number`);
  });

  it('refuses a result the schema does not take, naming the field in troupe’s words', () => {
    expect(refusal({ content: 'text' })).toBe(
      `${EXPECTED}: Expected \`content\` to be an array, got \`"text"\` (string)`,
    );
    expect(refusal({ content: [text('a')], isError: 'yes' })).toBe(
      `${EXPECTED}: Expected \`isError\` to be a boolean, got \`"yes"\` (string)`,
    );
  });

  it('refuses a content block in troupe’s words: its `type` when no block has it, else what its kind lacks', () => {
    // Until 2026-12-07 zod's "`content.0`: Invalid input" for any of these.
    expect(refusal({ content: [{ type: 'video', url: 'x' }] })).toBe(
      `${EXPECTED}: Expected \`content.0.type\` to be one of \`"text"\`, \`"image"\`, \`"audio"\`, \`"resource_link"\`, \`"resource"\`, got \`"video"\` (string)`,
    );
    expect(refusal({ content: [text('a'), { text: 'no type' }] })).toBe(
      `${EXPECTED}: Expected \`content.1.type\` to be one of \`"text"\`, \`"image"\`, \`"audio"\`, \`"resource_link"\`, \`"resource"\`, got none`,
    );
    expect(refusal({ content: [{ type: 'text' }] })).toBe(
      `${EXPECTED}: Expected \`content.0.text\` to be a string, got none`,
    );
    expect(refusal({ content: [{ type: 'image', data: 5, mimeType: 'image/png' }] })).toBe(
      `${EXPECTED}: Expected \`content.0.data\` to be a string, got \`5\` (number)`,
    );
    expect(refusal({ content: [{ type: 'resource_link', uri: 'file:///a' }] })).toBe(
      `${EXPECTED}: Expected \`content.0.name\` to be a string, got none`,
    );
    expect(refusal({ content: [{ type: 'resource', resource: { uri: 'file:///a' } }] })).toBe(
      `${EXPECTED}: Expected \`content.0.resource\` to be { text: a string } or { blob: a string }, got \`{"uri":"file:///a"}\` (object)`,
    );
    expect(refusal({ content: ['hello'] })).toBe(
      `${EXPECTED}: Expected \`content.0\` to be an object, got \`"hello"\` (string)`,
    );
  });

  it('answers a result without `content` as one with none, as MCP’s schema and the SDK take it', () => {
    expect(toolResult({} as CallToolResult)).toEqual({ content: [] });
    const structured = { structuredContent: { rows: 2 } } as CallToolResult;
    expect(toolResult(structured)).toEqual({ structuredContent: { rows: 2 }, content: [] });
    expect(structured).toEqual({ structuredContent: { rows: 2 } }); // the handler's own object unchanged
    expect(toolResult({ content: undefined, isError: true } as unknown as CallToolResult)).toEqual({
      content: [],
      isError: true,
    });
    // What follows `content` is still checked.
    expect(refusal({ isError: 'yes' })).toBe(
      `${EXPECTED}: Expected \`isError\` to be a boolean, got \`"yes"\` (string)`,
    );
    expect(refusal({ structuredContent: { n: 1n } })).toBe(`${CARRY}a bigint`);
  });

  it('refuses a result without `content` that carries another result’s field, as the SDK does', () => {
    expect(refusal({ task: { taskId: 't1' } })).toBe(
      `${EXPECTED}, got one without \`content\` that carries \`task\`, another result's field`,
    );
    expect(refusal({ inputRequests: {} })).toContain('carries `inputRequests`');
    expect(refusal({ requestState: 'x', structuredContent: {} })).toContain('carries `requestState`');
    // With `content` it is a tool's result.
    const result = { content: [text('a')], task: { taskId: 't1' } } as CallToolResult;
    expect(toolResult(result)).toBe(result);
  });

  it('refuses a bigint anywhere in it, which JSON cannot write', () => {
    expect(refusal({ content: [text('a')], structuredContent: { n: 1n } })).toBe(`${CARRY}a bigint`);
    expect(refusal({ content: [text('a')], structuredContent: { rows: [{ ok: 1 }, { n: [2n] }] } })).toBe(
      `${CARRY}a bigint`,
    );
    expect(refusal({ content: [text('a')], _meta: { cost: 3n } })).toBe(`${CARRY}a bigint`);
  });

  it('refuses a cycle, in an object or through an array', () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    expect(refusal({ content: [text('a')], structuredContent: loop })).toBe(`${CARRY}a cycle`);
    const list: unknown[] = [1];
    list.push({ back: list });
    expect(refusal({ content: [text('a')], structuredContent: { list } })).toBe(`${CARRY}a cycle`);
  });

  it('asks a value with `toJSON` what `JSON.stringify` says, and takes one it writes', () => {
    const thrown = {
      toJSON: () => {
        throw new Error('no JSON for this row');
      },
    };
    expect(refusal({ content: [text('a')], structuredContent: { row: thrown } })).toBe(
      `${CARRY}no JSON for this row`,
    );
    const odd = {
      toJSON: () => {
        throw 'not an Error';
      },
    };
    expect(refusal({ content: [text('a')], structuredContent: { row: odd } })).toBe(
      `${CARRY}a value JSON.stringify refuses`,
    );
    const big = { toJSON: () => 1n };
    expect(refusal({ content: [text('a')], structuredContent: { row: big } })).toBe(
      `${CARRY}Do not know how to serialize a BigInt`,
    );
    // Its own members are not read: `toJSON` decides what is written.
    const written = { hidden: 1n, toJSON: () => 'fine' };
    const result = { content: [text('a')], structuredContent: { row: written } };
    expect(toolResult(result)).toBe(result);
  });

  it('passes on what a value’s own getter throws while it is read, as `JSON.stringify` does', () => {
    class Row {
      get toJSON(): () => unknown {
        throw new TypeError('the row is closed');
      }
    }
    const result = { content: [text('a')], structuredContent: { rows: [new Row()] } };
    expect(() => JSON.stringify(result)).toThrow('the row is closed');
    expect(() => toolResult(result)).toThrow(new TypeError('the row is closed'));
  });

  it('refuses a value nested past the stack, as `JSON.stringify` does', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i += 1) deep = { d: deep };
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(refusal({ content: [text('a')], structuredContent: deep })).toBe(
      `${CARRY}nesting deeper than the stack`,
    );
  });
});
