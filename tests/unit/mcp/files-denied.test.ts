/**
 * multi_file_chat on a file inside a root that the server may not open (a file of another user's,
 * mode 0600): refused saying so. Until 2026-12-07 the failed open read as a swap, and the client
 * was told the file had "changed since" it was checked. `open` is wrapped to fail as the OS does
 * for such a file (tests may run as root, who may open anything).
 */
import { mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const denied = vi.hoisted(() => ({ path: '', code: 'EACCES', before: async () => {} }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      if (args[0] !== denied.path) return actual.open(...args);
      await denied.before();
      throw Object.assign(new Error(`${denied.code}: permission denied, open '${denied.path}'`), {
        code: denied.code,
      });
    },
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');

const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
let root: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-denied-')));
  await writeFile(join(root, 'private.txt'), 'not for this server');
  await writeFile(join(root, 'notes.txt'), 'notes');
  denied.path = join(root, 'private.txt');
});
afterEach(async () => {
  denied.before = async () => {};
  await rm(root, { recursive: true, force: true });
});

it.each(['EACCES', 'EPERM'])('refuses a file the server may not open (%s), saying so', async (code) => {
  denied.code = code;
  const read = await readFilesUnderRoots(['notes.txt', 'private.txt'], [root], limits);
  expect(read.ok).toBe(false);
  if (!read.ok) {
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).toBe(
      'Expected `private.txt` to be a file this server may read, got one it has no permission to open. Nothing was read.',
    );
  }
});

it('still reads as changed a file that cannot be opened for another reason', async () => {
  denied.code = 'ELOOP';
  const read = await readFilesUnderRoots(['private.txt'], [root], limits);
  expect(read.ok).toBe(false);
  if (!read.ok) expect(read.error.message).toMatch(/changed since/);
});

it('reads as changed a file swapped for a link out before its open was refused', async () => {
  // Whether a file outside the roots may be opened is not for the caller to learn.
  const outside = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-denied-outside-')));
  await writeFile(join(outside, 'secret.txt'), 'outside');
  denied.code = 'EACCES';
  denied.before = async () => {
    await rename(denied.path, join(root, 'moved.txt'));
    await symlink(join(outside, 'secret.txt'), denied.path);
  };
  const read = await readFilesUnderRoots(['private.txt'], [root], limits).finally(() =>
    rm(outside, { recursive: true, force: true }),
  );
  expect(read.ok).toBe(false);
  if (!read.ok) expect(read.error.message).toMatch(/changed since/);
});
