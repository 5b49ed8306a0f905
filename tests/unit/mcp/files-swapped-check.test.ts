/**
 * multi_file_chat's check (phase 1) looks up what a path is (a file, its size) after resolving it
 * inside a root. Someone who can write in the root could swap a folder on its way for a link out of
 * the root in between: the refusal then told the type or size of what lay outside (nothing was
 * read). `stat` is wrapped so that the swap happens right before it (as an attacker would win the
 * race); the refusal must say nothing of the file outside.
 */
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const swap = vi.hoisted(() => ({
  path: '',
  before: async () => {},
  after: async () => {},
  lstatAs: undefined as string | undefined,
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    stat: async (...args: Parameters<typeof actual.stat>) => {
      if (args[0] !== swap.path) return actual.stat(...args);
      await swap.before();
      return actual.stat(...args).finally(swap.after);
    },
    // What an `lstat` would see with the swap in place again while it runs.
    lstat: async (...args: Parameters<typeof actual.lstat>) =>
      args[0] === swap.path && swap.lstatAs !== undefined
        ? actual.lstat(swap.lstatAs)
        : actual.lstat(...args),
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');

const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
let base: string;
let root: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-swapped-check-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'sub', 'notes.txt'), 'notes');
  await mkdir(join(base, 'outside', 'notes.txt'), { recursive: true });
  await mkdir(join(base, 'big'));
  await writeFile(join(base, 'big', 'notes.txt'), 'x'.repeat(5000));
  swap.path = join(root, 'sub', 'notes.txt');
});
afterEach(async () => {
  swap.before = async () => {};
  swap.after = async () => {};
  swap.lstatAs = undefined;
  await rm(base, { recursive: true, force: true });
});

it.each([
  ['a folder (got a directory)', 'outside', /directory/],
  ['a file over the size cap (got its size)', 'big', /5000/],
])(
  'tells nothing of %s outside the root when a folder on the way is swapped for a link to it',
  async (_, target, told) => {
    swap.before = async () => {
      await rename(join(root, 'sub'), join(root, 'sub-was'));
      await symlink(join(base, target), join(root, 'sub'));
    };
    const read = await readFilesUnderRoots(['sub/notes.txt'], [root], limits);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).not.toMatch(told);
    expect(read.error.message).toMatch(
      /^Expected `sub\/notes\.txt` to be the file it was when checked, got one changed since/,
    );
  },
);

it.each([
  ['a folder (got a directory)', 'outside', /directory/],
  ['a file over the size cap (got its size)', 'big', /5000/],
])(
  'tells nothing of %s outside the root when the swap is undone for the realpath that checks the stat',
  async (_, target, told) => {
    // In for the `stat` and for the `lstat` (which, through the link, names the file outside), out
    // for the `realpath`: every check by path agrees with the `stat`. Until 2026-12-05 this told.
    swap.before = async () => {
      await rename(join(root, 'sub'), join(root, 'sub-was'));
      await symlink(join(base, target), join(root, 'sub'));
    };
    swap.after = async () => {
      await rm(join(root, 'sub'));
      await rename(join(root, 'sub-was'), join(root, 'sub'));
    };
    swap.lstatAs = join(base, target, 'notes.txt');
    const read = await readFilesUnderRoots(['sub/notes.txt'], [root], limits);
    expect(read.ok ? '' : read.error.message).not.toMatch(told);
    // What is read is what the path names where it was checked: the file inside the root.
    expect(read.ok && read.files.map((f) => f.data)).toEqual(['notes']);
  },
);

it('still tells the type and size of a file inside the root that stayed where it was', async () => {
  await writeFile(swap.path, 'y'.repeat(500));
  const big = await readFilesUnderRoots(['sub/notes.txt'], [root], limits);
  expect(!big.ok && big.error.message).toContain('got 500 bytes');
  const folder = await readFilesUnderRoots(['sub'], [root], limits);
  expect(!folder.ok && folder.error.message).toContain('got a directory');
});
