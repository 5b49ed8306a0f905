import { describe, expect, it, vi } from 'vitest';
import { flatUUID } from '../../../src/runtime/ids.js';

describe('flatUUID', () => {
  it('makes the first id of a fresh module from random bytes too, not from an empty pool', async () => {
    vi.resetModules();
    const fresh = (await import('../../../src/runtime/ids.js')).flatUUID;
    const first = fresh();
    expect(first).not.toBe('00000000-0000-4000-8000-000000000000');
    expect(first).not.toBe(fresh());
  });

  it('makes version 4, variant 1 UUIDs, lower-case hex, none repeated over 4,000 (16 refills of its pool of 256)', () => {
    const seen = new Set<string>();
    const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (let i = 0; i < 4_000; i++) {
      const id = flatUUID();
      if (!shape.test(id)) throw new Error(`not a v4 UUID: ${id}`);
      seen.add(id);
    }
    expect(seen.size).toBe(4_000);
  });

  it('uses every random bit it has: each hex digit outside the fixed ones takes all 16 values', () => {
    // A formatting slip (a shifted nibble, a reused pool slice) shows up as a digit stuck on few values.
    const values = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2_000; i++) {
      const id = flatUUID();
      for (let at = 0; at < 36; at++) values[at]?.add(id[at] as string);
    }
    const sizes = values.map((set) => set.size);
    for (const dash of [8, 13, 18, 23]) expect(sizes[dash]).toBe(1);
    expect(sizes[14]).toBe(1); // the version digit, 4
    expect(sizes[19]).toBe(4); // the variant digit, 8 to b
    const free = sizes.filter((_, at) => ![8, 13, 18, 23, 14, 19].includes(at));
    expect(free.every((size) => size === 16)).toBe(true);
  });
});
