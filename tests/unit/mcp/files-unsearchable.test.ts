/**
 * multi_file_chat on a path through a folder inside a root that the server may not search (mode
 * 0600: no `x`): refused saying so, not "no such file" (as until 2026-12-07), while a path through
 * such a folder outside the roots, or a link leading there, is refused as outside exactly as a path
 * that does not exist, so nothing is told of what lies beyond the roots. The folders are chmod'ed
 * for real; as root (who may search anything), the OS's refusal is emulated on every lookup below
 * them (`realpath`, `readlink`, `lstat`, `stat`, `open`), as `files-denied.test.ts` does for an open.
 */
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const locked = vi.hoisted(() => ({ folders: [] as string[], emulate: process.getuid?.() === 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const guarded =
    <F extends (...args: never[]) => Promise<unknown>>(name: string, fn: F) =>
    async (...args: Parameters<F>) => {
      const path = String(args[0]);
      if (locked.emulate && locked.folders.some((folder) => path.startsWith(folder + sep))) {
        throw Object.assign(new Error(`EACCES: permission denied, ${name} '${path}'`), { code: 'EACCES' });
      }
      return fn(...args);
    };
  return {
    ...actual,
    realpath: guarded('realpath', actual.realpath),
    readlink: guarded('readlink', actual.readlink),
    lstat: guarded('lstat', actual.lstat),
    stat: guarded('stat', actual.stat),
    open: guarded('open', actual.open),
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');

const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
let base: string;
let root: string;
let beyond: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'troupe-files-unsearchable-')));
  root = join(base, 'root');
  beyond = join(base, 'beyond');
  for (const folder of [join(root, 'locked'), join(beyond, 'locked')]) {
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'notes.txt'), 'there all along');
    await chmod(folder, 0o600);
    locked.folders.push(folder);
  }
  await symlink(join(beyond, 'locked', 'notes.txt'), join(root, 'out-link'));
});
afterEach(async () => {
  for (const folder of locked.folders.splice(0)) await chmod(folder, 0o700);
  await rm(base, { recursive: true, force: true });
});

async function refusal(path: string): Promise<string | undefined> {
  const read = await readFilesUnderRoots([path], [root], limits);
  return read.ok ? undefined : read.error.message;
}

it('says a folder on the way inside a root may not be searched, whether or not the file is there', async () => {
  for (const path of ['locked/notes.txt', 'locked/missing.txt', join(root, 'locked', 'deeper', 'x.txt')]) {
    expect(await refusal(path)).toBe(
      `Expected \`${path}\` to be a readable file under a root folder, got a path through a folder this server has no permission to search, so whether the file is there is unknown. Nothing was read.`,
    );
  }
  // A file that is not there, with every folder searchable: as before.
  expect(await refusal('missing.txt')).toBe(
    'Expected `missing.txt` to be a readable file under a root folder, got no such file',
  );
});

it('tells nothing of a folder outside the roots: through it, or a link to it, reads as outside', async () => {
  const outside = (path: string) =>
    `Expected \`${path}\` to be inside a root folder (${root}), got a path outside them. Nothing was read.`;
  for (const path of [
    join(beyond, 'locked', 'notes.txt'),
    join(beyond, 'locked', 'missing.txt'),
    join(beyond, 'missing', 'notes.txt'),
    'out-link',
    '../beyond/locked/notes.txt',
  ]) {
    expect(await refusal(path)).toBe(outside(path));
  }
});
