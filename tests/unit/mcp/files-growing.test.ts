/**
 * multi_file_chat's read of a file that grows between its size check and its read (a log being
 * written to): refused, naming the cap, never sent as `maxFileBytes + 1` bytes of partial content.
 * The file opened is wrapped so that it grows right before its read, every time.
 */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';

const growing = vi.hoisted(() => ({ path: '', by: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      if (args[0] !== growing.path) return handle;
      // Phase 1 checks the size of the file opened, phase 2 reads it: the file grows in between.
      const read = handle.read.bind(handle) as (...a: unknown[]) => ReturnType<typeof handle.read>;
      handle.read = (async (...a: unknown[]) => {
        await actual.appendFile(growing.path, 'x'.repeat(growing.by));
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
  growing.path = await realpath(path);
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
