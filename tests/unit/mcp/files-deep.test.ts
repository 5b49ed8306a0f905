/**
 * multi_file_chat's cost of a path that does not exist. Where such a path would lead was found by
 * trying every ancestor from the deepest up, a lookup each, and the path's length was unbounded: a
 * 63 KB path (`a/` 32,000 times) took 48 s of the process's file threads, a 4 MiB one about two
 * days, and nothing could cancel it. Now a path over `MAX_PATH_CHARS` is refused before any
 * lookup, and the walk goes from the root down, stopping at the first part that does not exist.
 * `realpath` and `readlink` are counted.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';

const lookups = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    realpath: (async (...args: Parameters<typeof actual.realpath>) => {
      lookups.count++;
      return actual.realpath(...args);
    }) as typeof actual.realpath,
    readlink: (async (...args: Parameters<typeof actual.readlink>) => {
      lookups.count++;
      return actual.readlink(...args);
    }) as typeof actual.readlink,
  };
});

const { MAX_PATH_CHARS, readFilesUnderRoots } = await import('../../../src/mcp/files.js');

const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'troupe-files-deep-'));
  await mkdir(join(root, 'sub'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  lookups.count = 0;
});

it('refuses a path over 4,096 characters before any lookup, naming the bound', async () => {
  expect(MAX_PATH_CHARS).toBe(4096);
  const path = `${'a/'.repeat(2048)}x`;
  const read = await readFilesUnderRoots(['sub', path], [root], limits);
  expect(read.ok).toBe(false);
  if (!read.ok) {
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).toBe(
      'Expected each path to be at most 4096 characters, got one of 4097 (path 2 of 2). Nothing was read.',
    );
  }
  expect(lookups.count).toBe(0);
});

// 400 parts: the message, which quotes the path, stays under errors' 1,000 characters.
it.each([
  ['below the root', `${'a/'.repeat(400)}x`],
  ['below a folder that exists', `sub/${'a/'.repeat(400)}x`],
])('finds a missing path %s, of 400 parts missing, in a few lookups, not one per part', async (_, path) => {
  const read = await readFilesUnderRoots([path], [root], limits);
  expect(read.ok).toBe(false);
  if (!read.ok)
    expect(read.error.message).toBe(
      `Expected \`${path}\` to be a readable file under a root folder, got no such file`,
    );
  expect(lookups.count).toBeLessThan(40);
});

// A path through folders that all exist, then a missing file: the walk took a `realpath` per
// folder (each one walking its whole prefix again), 400 here (the message quotes the path); the
// parts that exist are a prefix, found by halving.
it('finds a missing file below 400 folders that exist in a few lookups, not one per folder', async () => {
  const deep = `${'d/'.repeat(400)}`;
  await mkdir(join(root, deep), { recursive: true });
  lookups.count = 0;
  const path = `${deep}missing.txt`;
  const read = await readFilesUnderRoots([path], [root], limits);
  expect(!read.ok && read.error.message).toBe(
    `Expected \`${path}\` to be a readable file under a root folder, got no such file`,
  );
  expect(lookups.count).toBeLessThan(40);
  // And one leading out of the root from there is refused as outside, as before.
  await symlink(join(root, '..'), join(root, deep, 'up'));
  const out = await readFilesUnderRoots([`${deep}up/nothing/here.txt`], [root], limits);
  expect(!out.ok && out.error.message).toContain('got a path outside them');
});
