/**
 * multi_file_chat keeps each call's files open from their check to their read, so many calls at
 * once could take the process's file descriptors from its sockets. Every call together holds at
 * most `MAX_OPEN_FILES` open; a call waits for places, in turn, and loses nothing.
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const open = vi.hoisted(() => ({ now: 0, most: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      open.now++;
      open.most = Math.max(open.most, open.now);
      const close = handle.close.bind(handle);
      handle.close = async () => {
        open.now--;
        return close();
      };
      return handle;
    },
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');
const { HandleBudget, MAX_OPEN_FILES } = await import('../../../src/mcp/file-handles.js');

const limits = { maxFileBytes: 1000, maxTotalBytes: 100_000, maxFiles: 20 };
let root: string;
beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-open-bound-')));
  await mkdir(join(root, 'docs'));
  for (let i = 0; i < 20; i++) await writeFile(join(root, 'docs', `f${i}.md`), `file ${i}`);
});
afterAll(() => rm(root, { recursive: true, force: true }));

it(`holds at most ${MAX_OPEN_FILES} files open across 12 calls of 20 files at once, and reads every one`, async () => {
  const paths = Array.from({ length: 20 }, (_, i) => `docs/f${i}.md`);
  const reads = await Promise.all(
    Array.from({ length: 12 }, () => readFilesUnderRoots(paths, [root], limits)),
  );
  for (const read of reads)
    expect(read.ok && read.files.map((f) => f.data)).toEqual(paths.map((_, i) => `file ${i}`));
  expect(open.most).toBeGreaterThan(20); // calls did overlap
  expect(open.most).toBeLessThanOrEqual(MAX_OPEN_FILES);
  expect(open.now).toBe(0);
});

it('gives its places back when a call is refused', async () => {
  const read = await readFilesUnderRoots(['docs/f0.md', 'docs/none.md'], [root], limits);
  expect(read.ok).toBe(false);
  const all = await readFilesUnderRoots(['docs/f1.md'], [root], limits);
  expect(all.ok).toBe(true);
  expect(open.now).toBe(0);
});

describe('HandleBudget', () => {
  it('lets takers go in the order they asked, a large one not passed by later small ones', async () => {
    const budget = new HandleBudget(10);
    const went: string[] = [];
    await budget.take(8);
    const large = budget.take(5).then(() => went.push('large'));
    const small = budget.take(1).then(() => went.push('small'));
    await Promise.resolve();
    expect(went).toEqual([]); // 2 free: the small one would fit, but the large one asked first
    budget.give(8);
    await Promise.all([large, small]);
    expect(went).toEqual(['large', 'small']);
    expect(budget.taken).toBe(6);
  });

  it('takes all its places for a call with more files than it has, and gives them all back', async () => {
    const budget = new HandleBudget(4);
    await budget.take(9);
    expect(budget.taken).toBe(4);
    budget.give(9);
    expect(budget.taken).toBe(0);
  });
});
