/**
 * multi_file_chat's read of a file that grows between its size check and its read (a log being
 * written to): refused, naming the cap, never sent as `maxFileBytes + 1` bytes of partial content;
 * and files that each stay within it but together grow past `maxTotalBytes`, refused too.
 * The files opened are wrapped so that they grow right before their read, every time.
 */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';

const growing = vi.hoisted(() => ({ paths: [] as string[], by: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const path = args[0];
      if (typeof path !== 'string' || !growing.paths.includes(path)) return handle;
      // Phase 1 checks the size of the file opened, phase 2 reads it: the file grows in between.
      const read = handle.read.bind(handle) as (...a: unknown[]) => ReturnType<typeof handle.read>;
      handle.read = (async (...a: unknown[]) => {
        await actual.appendFile(path, 'x'.repeat(growing.by));
        return read(...a);
      }) as typeof handle.read;
      return handle;
    },
  };
});

const { readFilesUnderRoots } = await import('../../../src/mcp/files.js');

it('refuses a file that grew past maxFileBytes after its size was checked, not sending it cut', async () => {
  const root = await mkdtemp(join(tmpdir(), 'troupe-files-growing-'));
  const path = join(root, 'log.txt');
  await writeFile(path, 'x'.repeat(90));
  growing.paths = [await realpath(path)];
  growing.by = 50;
  const limits = { maxFileBytes: 100, maxTotalBytes: 1000, maxFiles: 3 };
  const read = await readFilesUnderRoots([path], [root], limits).finally(() =>
    rm(root, { recursive: true, force: true }),
  );
  expect(read.ok).toBe(false);
  if (!read.ok) {
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).toBe(`Expected \`${path}\` to be at most 100 bytes, got more`);
  }
});

it('refuses files that grew past maxTotalBytes together after their sizes were checked', async () => {
  // Each within its own cap at the read too: until 2026-12-07 only that was checked again, so a
  // call's files could reach maxFiles × maxFileBytes (20 × 256 KiB) where the bound is 1 MiB.
  const root = await mkdtemp(join(tmpdir(), 'troupe-files-growing-'));
  const paths = [join(root, 'a.log'), join(root, 'b.log')];
  for (const path of paths) await writeFile(path, 'x'.repeat(60));
  growing.paths = await Promise.all(paths.map((path) => realpath(path)));
  growing.by = 30;
  const limits = { maxFileBytes: 100, maxTotalBytes: 150, maxFiles: 3 };
  const read = await readFilesUnderRoots(paths, [root], limits).finally(() =>
    rm(root, { recursive: true, force: true }),
  );
  expect(read.ok).toBe(false);
  if (!read.ok) {
    expect(read.error.code).toBe('INVALID_REQUEST');
    expect(read.error.message).toBe(
      `Expected the files to total at most 150 bytes, got more (at \`${paths[1]}\`)`,
    );
  }
});
