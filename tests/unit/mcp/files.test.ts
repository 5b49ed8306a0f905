/**
 * multi_file_chat's file access: only under the roots (realpath, so `..` and symlinks count), caps.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isInside, readFilesUnderRoots } from '../../../src/mcp/files.js';
import { tempDir } from '../../support/temp-dir.js';

const limits = { maxFileBytes: 100, maxTotalBytes: 150, maxFiles: 3 };
let base: string;
let root: string;

beforeAll(async () => {
  base = tempDir('troupe-files-');
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'a.txt'), 'a'.repeat(80));
  await writeFile(join(root, 'sub', 'b.txt'), 'b'.repeat(80));
  await writeFile(join(root, 'big.txt'), 'x'.repeat(101));
  await writeFile(join(base, 'secret.txt'), 'secret');
  await symlink(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  await symlink(join(root, 'a.txt'), join(root, 'link-in.txt'));
  await symlink(base, join(root, 'dir-out'));
  await symlink(join(base, 'nothing.txt'), join(root, 'dangling-out.txt'));
  await symlink(join(root, 'nothing.txt'), join(root, 'dangling-in.txt'));
  await symlink('loop-b', join(root, 'loop-a'));
  await symlink('loop-a', join(root, 'loop-b'));
});

describe('readFilesUnderRoots', () => {
  it('reads files inside the root, relative or absolute, and through symlinks that stay inside', async () => {
    const read = await readFilesUnderRoots(['a.txt', join(root, 'link-in.txt')], [root], {
      ...limits,
      maxTotalBytes: 200,
    });
    expect(read.ok && read.files.map((f) => f.data.length)).toEqual([80, 80]);
  });

  it.each([
    ['a `..` path', () => '../secret.txt'],
    ['an absolute path outside', () => join(base, 'secret.txt')],
    ['a symlink leading outside', () => 'link-out.txt'],
    ['a missing file outside', () => '../../nope.txt'],
  ])('refuses %s and names it', async (_name, path) => {
    const read = await readFilesUnderRoots(['a.txt', path()], [root], limits);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error.message).toMatch(/outside/);
  });

  it('answers a path through a link leading outside the same whether or not its file exists', async () => {
    const message = async (path: string) => {
      const read = await readFilesUnderRoots([path], [root], limits);
      return read.ok ? 'read' : read.error.message.replace(path, '<path>');
    };
    const exists = await message('dir-out/secret.txt');
    expect(exists).toMatch(/outside/);
    expect(await message('dir-out/nothing.txt')).toBe(exists);
    expect(await message('dir-out/no/such/dir.txt')).toBe(exists);
    expect(await message('dangling-out.txt')).toBe(exists);
  });

  it('says no such file for a missing path that would stay inside, links and loops included', async () => {
    for (const path of ['nothing.txt', 'sub/nothing.txt', 'dangling-in.txt', 'loop-a', 'loop-a/x.txt']) {
      const read = await readFilesUnderRoots([path], [root], limits);
      expect(!read.ok && read.error.message).toMatch(/got no such file/);
    }
  });

  it('caps file size, total size and count', async () => {
    const big = await readFilesUnderRoots(['big.txt'], [root], limits);
    expect(!big.ok && big.error.message).toMatch(/at most 100 bytes, got 101/);
    const total = await readFilesUnderRoots(['a.txt', 'sub/b.txt'], [root], limits);
    expect(!total.ok && total.error.message).toMatch(/total at most 150/);
    const many = await readFilesUnderRoots(['a.txt', 'a.txt', 'a.txt', 'a.txt'], [root], limits);
    expect(!many.ok && many.error.message).toMatch(/at most 3 files/);
  });

  it('reads nothing when no roots are configured', async () => {
    const read = await readFilesUnderRoots(['a.txt'], [], limits);
    expect(!read.ok && read.error.code).toBe('INVALID_REQUEST');
  });
});

describe('isInside', () => {
  it('accepts the root and below, refuses siblings sharing a prefix', () => {
    expect(isInside('/r', '/r')).toBe(true);
    expect(isInside('/r', '/r/x/y')).toBe(true);
    expect(isInside('/r', '/rx')).toBe(false);
    expect(isInside('/r', '/')).toBe(false);
  });
});
