/** The default backend (`memoryBackend()`, `src/runtime/backend.ts`): the local runtime, as is. */
import { describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../../src/runtime/backend.js';
import { memoryBackend } from '../../../../src/runtime/backend.js';
import type { RuntimeOptions } from '../../../../src/runtime/types.js';

describe('memoryBackend', () => {
  it('is named memory and builds the local runtime from the options unchanged', () => {
    const backend = memoryBackend();
    expect(backend.kind).toBe('memory');
    const options = { providers: [] } as unknown as RuntimeOptions;
    const local = { id: 'local' } as unknown as LocalRuntime;
    const given: RuntimeOptions[] = [];
    const runtime = backend.createRuntime(options, (o) => {
      given.push(o);
      return local;
    });
    expect(runtime).toBe(local);
    expect(given).toEqual([options]);
    expect(given[0]).toBe(options);
  });
});
