import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatDelta } from '../../../src/providers/port.js';
import { assembleToolCalls, ToolCallAssembler } from '../../../src/providers/tool-calls.js';

describe('assembleToolCalls', () => {
  it('joins fragments by index into whole calls, in index order', () => {
    const deltas: ChatDelta[] = [
      { type: 'content', text: 'ignored' },
      { type: 'tool_call', index: 1, id: 'b', name: 'second', arguments: '' },
      { type: 'tool_call', index: 0, id: 'a', name: 'first', arguments: '{"x"' },
      { type: 'tool_call', index: 1, arguments: '{}' },
      { type: 'tool_call', index: 0, arguments: ':1}' },
    ];
    expect(assembleToolCalls(deltas)).toEqual([
      { id: 'a', type: 'function', function: { name: 'first', arguments: '{"x":1}' } },
      { id: 'b', type: 'function', function: { name: 'second', arguments: '{}' } },
    ]);
  });

  it('gives a call without an id a stable one and does not double a repeated name', () => {
    const calls = assembleToolCalls([
      { type: 'tool_call', index: 0, name: 'f' },
      { type: 'tool_call', index: 0, name: 'f', arguments: '{}' },
    ]);
    expect(calls).toEqual([{ id: 'call_0', type: 'function', function: { name: 'f', arguments: '{}' } }]);
  });

  it('property: any split of any arguments string reassembles to the original, interleaved across calls', () => {
    const call = fc.record({
      id: fc.string({ minLength: 1, maxLength: 8 }),
      name: fc.string({ minLength: 1, maxLength: 8 }),
      args: fc.string(),
    });
    fc.assert(
      fc.property(
        fc.array(call, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (calls, cuts) => {
          const streams = calls.map((c, index) => {
            const points = [...new Set(cuts.map((n) => n % (c.args.length + 1)))].sort((a, b) => a - b);
            const pieces = [0, ...points, c.args.length]
              .slice(1)
              .map((end, i, all) => c.args.slice(i === 0 ? 0 : all[i - 1], end));
            return [
              { type: 'tool_call' as const, index, id: c.id, name: c.name },
              ...pieces.map((arguments_) => ({ type: 'tool_call' as const, index, arguments: arguments_ })),
            ];
          });
          const interleaved: ChatDelta[] = [];
          for (let step = 0; streams.some((s) => s.length > 0); step += 1) {
            const s = streams[step % streams.length];
            const next = s?.shift();
            if (next !== undefined) interleaved.push(next);
          }
          const assembler = new ToolCallAssembler();
          for (const d of interleaved) if (d.type === 'tool_call') assembler.add(d);
          const expected = calls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.args },
          }));
          expect(assembleToolCalls(interleaved)).toEqual(expected);
          expect(assembler.calls()).toEqual(expected);
        },
      ),
    );
  });
});
