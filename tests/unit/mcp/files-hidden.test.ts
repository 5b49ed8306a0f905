/**
 * multi_file_chat reads no hidden file: a path with a part below its root that starts with a dot,
 * as asked or where its links lead, is refused before anything is looked up (so whether the file
 * exists is not told either). Until 2026-12-04 a client of a server started in a project folder
 * (the default root) read its `.env`, keys and all, back through the model.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFilesUnderRoots } from '../../../src/mcp/files.js';
import { tempDir } from '../../support/temp-dir.js';

const limits = { maxFileBytes: 1000, maxTotalBytes: 2000, maxFiles: 5 };
let root: string;
let dotted: string;

beforeAll(async () => {
  const base = tempDir('troupe-hidden-');
  root = join(base, 'project');
  await mkdir(join(root, '.git'), { recursive: true });
  await mkdir(join(root, 'src', '.private'), { recursive: true });
  await writeFile(join(root, '.env'), 'MOONSHOT_API_KEY=sk-hidden-0123456789');
  await writeFile(join(root, '.git', 'config'), 'url = https://user:pat@example.com/x');
  await writeFile(join(root, 'src', '.private', 'notes.txt'), 'private');
  await writeFile(join(root, 'src', 'main.ts'), 'export {};');
  await writeFile(join(root, 'version.1.txt'), 'dots inside a name are fine');
  await symlink(join(root, '.env'), join(root, 'env-link.txt'));
  await symlink(join(root, '.git'), join(root, 'gitlink'));
  // A project that lives under a hidden folder: the root's own path does not count.
  dotted = join(base, '.config', 'app');
  await mkdir(dotted, { recursive: true });
  await writeFile(join(dotted, 'settings.txt'), 'shared');
});

const message = async (path: string, roots?: readonly string[]) => {
  // With the project's root, beside a file that is fine: one hidden path refuses the whole call.
  const read = await readFilesUnderRoots(
    roots === undefined ? ['src/main.ts', path] : [path],
    roots ?? [root],
    limits,
  );
  return read.ok ? 'read' : read.error.message;
};

describe('hidden files under a root', () => {
  it.each([['.env'], ['.git/config'], ['src/.private/notes.txt'], ['./src/../.env']])(
    'refuses %s by name, and reads nothing',
    async (path) => {
      expect(await message(path)).toBe(
        `Expected \`${path}\` to be a file that is not hidden, got a path with a part starting with a dot (such as .env or .git/config, where keys and settings live), which is never read; a hidden folder named itself as a root folder is shared. Nothing was read.`,
      );
    },
  );

  it('refuses an absolute path to one, and a visible link leading to one', async () => {
    expect(await message(join(root, '.env'))).toMatch(/to be a file that is not hidden/);
    expect(await message('env-link.txt')).toMatch(/to be a file that is not hidden/);
  });

  it('answers a hidden file the same whether or not it exists', async () => {
    const shown = (path: string) => message(path).then((m) => m.replace(path, '<path>'));
    expect(await shown('.env.missing')).toBe(await shown('.env'));
    expect(await shown('.nothing/at/all')).toBe(await shown('.git/config'));
    // Through a visible link into a hidden folder too (until the review: "no such file" for a
    // missing one, "hidden" for one that exists).
    expect(await shown('gitlink/nope')).toBe(await shown('gitlink/config'));
    expect(await shown('gitlink/config')).toMatch(/to be a file that is not hidden/);
  });

  it('reads files whose names only contain a dot, and a hidden folder named itself as a root', async () => {
    expect(await message('version.1.txt')).toBe('read');
    expect(await message('settings.txt', [dotted])).toBe('read');
    expect(await message(join(dotted, 'settings.txt'), [dotted])).toBe('read');
    expect(await message('config', [join(root, '.git')])).toBe('read');
  });
});
