/**
 * multi_file_chat's read of a path changed between its check (phase 1) and its read (phase 2) by
 * someone who can write in the root folder: a folder on the way swapped for a link out of the root
 * or into a hidden folder, the file itself swapped for such a link, or for a FIFO (an open for
 * reading waits for a writer, holding one of libuv's four file threads for good). Each is refused
 * and nothing beyond the root is read. `open` is wrapped so that the swap happens right before it,
 * every time (as an attacker would win the race).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const swap = vi.hoisted(() => ({ path: '', before: async () => {}, proc: true }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      if (args[0] === swap.path) await swap.before();
      return actual.open(...args);
    },
    // Without /proc (macOS), the file opened is checked by its path again.
    readlink: async (...args: Parameters<typeof actual.readlink>) => {
      if (!swap.proc && String(args[0]).startsWith('/proc/')) throw new Error('ENOENT (no /proc here)');
      return actual.readlink(...args);
    },
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');

const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
let base: string;
let root: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-swapped-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'sub', 'notes.txt'), 'notes');
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'notes.txt'), 'the secret beyond the root');
  await mkdir(join(root, '.hidden'));
  await writeFile(join(root, '.hidden', 'notes.txt'), 'the secret in a hidden folder');
  swap.path = join(root, 'sub', 'notes.txt');
});
afterEach(async () => {
  swap.before = async () => {};
  swap.proc = true;
  await rm(base, { recursive: true, force: true });
});

function expectRefused(read: Awaited<ReturnType<typeof readFilesUnderRoots>>): void {
  expect(read.ok ? read.files.map((f) => f.data) : []).toEqual([]);
  expect(read.ok).toBe(false);
  if (!read.ok) {
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).toMatch(/^Expected `sub\/notes\.txt` to .* changed .* Nothing was read\.$/);
  }
}

it.each([
  ['a folder on the way swapped for a link out of the root', join('..', 'outside'), true],
  ['a folder on the way swapped for a link into a hidden folder', '.hidden', true],
  ['without /proc, a folder on the way swapped for a link out of the root', join('..', 'outside'), false],
  ['without /proc, a folder on the way swapped for a link into a hidden folder', '.hidden', false],
])('refuses %s between the check and the read', async (_, target, proc) => {
  swap.proc = proc;
  swap.before = async () => {
    await rename(join(root, 'sub'), join(root, 'sub-was'));
    await symlink(target, join(root, 'sub'));
  };
  expectRefused(await readFilesUnderRoots(['sub/notes.txt'], [root], limits));
});

it('refuses the file swapped for a link out of the root between the check and the read', async () => {
  swap.before = async () => {
    await rm(swap.path);
    await symlink(join(base, 'outside', 'notes.txt'), swap.path);
  };
  expectRefused(await readFilesUnderRoots(['sub/notes.txt'], [root], limits));
});

it('refuses the file swapped for a FIFO between the check and the read, without waiting for a writer', async () => {
  swap.before = async () => {
    await rm(swap.path);
    execFileSync('mkfifo', [swap.path]);
  };
  // The FIFO stands inside the root, where the path was checked: what it is may be told.
  const read = await readFilesUnderRoots(['sub/notes.txt'], [root], limits);
  expect(read.ok).toBe(false);
  expect(!read.ok && read.error.message).toBe('Expected `sub/notes.txt` to be a file, got a special file');
}, 5_000);

it.each([true, false])('still reads a file that stayed where it was checked (/proc: %s)', async (proc) => {
  swap.proc = proc;
  const read = await readFilesUnderRoots(['sub/notes.txt'], [root], limits);
  expect(read.ok && read.files.map((f) => f.data)).toEqual(['notes']);
});
