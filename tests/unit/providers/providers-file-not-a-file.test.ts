/**
 * A providers file path that names no regular file is refused before it is read, by both readers
 * (the `runtime` section, src/cli/config.ts; the providers, src/providers/config.ts), through a
 * symlink too. Until 2026-12-07 a named pipe held the read, and `troupe config`, `serve` or
 * `stdio` with it, until something wrote to it; `/dev/zero` was read until memory ran out of
 * string, then called text that does not parse.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/cli/config.js';
import { loadProviders } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const dir = tempDir('troupe-not-a-file-');
const fifo = join(dir, 'providers.fifo');
execFileSync('mkfifo', [fifo]);
const folder = join(dir, 'folder');
mkdirSync(folder);
const linkToFifo = join(dir, 'link-to-fifo.json');
symlinkSync(fifo, linkToFifo);
const linkToFolder = join(dir, 'link-to-folder.json');
symlinkSync(folder, linkToFolder);

/** Both readers' refusals of `path`, each within a second (a read that blocks never settles). */
async function refusals(path: string): Promise<string[]> {
  const within = <T>(promise: Promise<T>) =>
    Promise.race([promise, new Promise((resolve) => setTimeout(resolve, 1_000, 'still reading'))]);
  const section = await within(
    loadConfig({}, { TROUPE_PROVIDERS_FILE: path }).then(String, (e: Error) => e.message),
  );
  const providers = await within(
    loadProviders({ env: {}, configPath: path }).then(String, (e: Error) => e.message),
  );
  return [String(section), String(providers)];
}

describe('a providers file that is no file', () => {
  it('a named pipe, or a symlink to one, is refused at once as such', async () => {
    for (const path of [fifo, linkToFifo]) {
      const [section, providers] = await refusals(path);
      expect(section).toBe(
        `Expected a readable providers file at ${path} (TROUPE_PROVIDERS_FILE), got a named pipe (FIFO), not a file`,
      );
      expect(providers).toBe(
        `Expected a readable providers file at ${path}, got a named pipe (FIFO), not a file`,
      );
    }
  });

  it('a device is refused as one, unread', async () => {
    const [section, providers] = await refusals('/dev/zero');
    expect(section).toContain('got a device, not a file');
    expect(providers).toContain('got a device, not a file');
  });

  it('a folder, or a symlink to one, is EISDIR as before', async () => {
    for (const path of [folder, linkToFolder]) {
      const [section, providers] = await refusals(path);
      expect(section).toBe(
        `Expected a readable providers file at ${path} (TROUPE_PROVIDERS_FILE), got EISDIR`,
      );
      expect(providers).toBe(`Expected a readable providers file at ${path}, got EISDIR`);
    }
  });
});
