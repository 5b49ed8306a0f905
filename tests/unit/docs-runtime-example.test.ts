/**
 * Runs the example in docs/runtime.md, with `troupe` pointed at the source, so the doc stays true.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// Made in the test, not at import: `vitest list` imports the file and runs no `afterAll`.
let dir: string | undefined;
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

it('the runtime example in docs/runtime.md runs and prints what the doc says', async () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/runtime.md'), 'utf8');
  const block = /<!-- example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- example:end -->/.exec(doc)?.[1];
  expect(block, 'docs/runtime.md has an example block').toBeDefined();
  const source = block!.replace(
    "from 'troupe'",
    `from '${pathToFileURL(join(import.meta.dirname, '../../src/index.ts')).href}'`,
  );
  dir = mkdtempSync(join(import.meta.dirname, '.docs-example-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, source);
  const { example } = (await import(pathToFileURL(file).href)) as { example: () => Promise<string[]> };
  const lines = await example();
  expect(lines[0]).toMatch(/^streamed done after [1-9]\d* chars, 1 attempt\(s\)$/);
  expect(lines.slice(1)).toEqual([
    'cancelled cancelled CANCELLED',
    'task ran',
    'shutdown cancelled 0',
    'saw ended events',
  ]);
});
