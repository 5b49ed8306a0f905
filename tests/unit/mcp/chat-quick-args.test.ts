/**
 * `chat`'s hand-checked arguments (`quickChatArgs`) against its zod schema: whatever the quick
 * check accepts, the schema accepts too, to the same value; what it declines is the schema's to
 * judge (through `parseArgs`, every error still comes from the schema).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/mcp/tool.js';
import { chatTool, quickChatArgs } from '../../../src/mcp/tools/chat.js';

const schema = (raw: unknown) => chatTool.input.safeParse(raw);

describe('quickChatArgs', () => {
  it('gives what the schema gives for the plain calls it takes', () => {
    const cases: unknown[] = [
      { prompt: 'hi' },
      { prompt: 'benchmark', extra: { simulateLatencyMs: 0 } },
      { prompt: 'p', system: '', continuation_id: 'c', provider: 'kimi', model: 'k2', extra: {} },
      { extra: { a: [1, { b: null }], 1: 'one' }, model: 'm', prompt: 'é\u0000' },
    ];
    for (const raw of cases) {
      const quick = quickChatArgs(raw);
      const parsed = schema(raw);
      expect(parsed.success).toBe(true);
      expect(quick).toStrictEqual(parsed.data);
      // A copy, as zod makes one: the caller's object is not handed on.
      const extra = (raw as { extra?: object }).extra;
      if (extra !== undefined) expect(quick?.extra).not.toBe(extra);
    }
  });

  it('leaves everything else to the schema', () => {
    const declined: unknown[] = [
      undefined,
      null,
      'prompt',
      [],
      {},
      { prompt: '' },
      { prompt: 1 },
      { prompt: 'p', provider: '' },
      { prompt: 'p', model: '' },
      { prompt: 'p', system: 3 },
      { prompt: 'p', system: undefined },
      { prompt: 'p', extra: undefined },
      { prompt: 'p', extra: [] },
      { prompt: 'p', extra: null },
      { prompt: 'p', extra: new Map() },
      { prompt: 'p', extra: JSON.parse('{"__proto__": {"x": 1}}') },
      { prompt: 'p', extra: { [Symbol('s')]: 1 } },
      { prompt: 'p', temperature: 0.5 },
      { prompt: 'p', messages: [{ role: 'user', content: 'x' }] },
      { prompt: 'p', max_token: 5 },
      Object.assign(Object.create({ inherited: 1 }), { prompt: 'p' }),
      Object.assign(Object.create(null), { prompt: 'p' }),
      Object.defineProperty({ prompt: 'p' }, 'hidden', { value: 1, enumerable: false }),
      { prompt: 'p', [Symbol('s')]: 1 },
    ];
    for (const raw of declined) expect(quickChatArgs(raw)).toBeUndefined();
  });

  it('agrees with the schema on generated arguments', () => {
    const text = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('', 'kimi', '__proto__'));
    const value = fc.oneof(text, fc.integer(), fc.constant(undefined), fc.constant(null), fc.boolean());
    const key = fc.constantFrom(
      'prompt',
      'system',
      'continuation_id',
      'provider',
      'model',
      'extra',
      'temperature',
      'messages',
      'max_token',
    );
    const extra = fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), fc.constant('__proto__')), value, {
      maxKeys: 3,
    });
    const args = fc.dictionary(key, fc.oneof(value, extra, fc.array(value, { maxLength: 2 })), {
      maxKeys: 5,
    });
    fc.assert(
      fc.property(args, (raw) => {
        const quick = quickChatArgs(raw);
        const parsed = schema(raw);
        if (quick !== undefined) {
          expect(parsed.success).toBe(true);
          expect(quick).toStrictEqual(parsed.data);
        }
        // Through parseArgs the answer is the schema's either way.
        const through = parseArgs(chatTool, raw);
        expect(through.ok).toBe(parsed.success);
        if (through.ok) expect(through.args).toStrictEqual(parsed.data);
      }),
      { numRuns: Number(process.env.TROUPE_PROPERTY_RUNS ?? 500) },
    );
  });

  it('is what parseArgs uses: a plain call skips the schema', () => {
    const raw = { prompt: 'p', extra: { simulateLatencyMs: 0 } };
    const tool = { ...chatTool, input: chatTool.input.refine(() => false, { message: 'the schema ran' }) };
    expect(parseArgs(tool, raw)).toEqual({ ok: true, args: raw });
    expect(parseArgs(tool, { ...raw, temperature: 1 }).ok).toBe(false);
  });
});
