/**
 * Reading files for `multi_file_chat`, confined to the configured root folders.
 *
 * Every path is resolved with `realpath` (so `..` and symlinks are followed to where they really
 * lead) and checked against the real roots BEFORE anything is read; one path outside refuses the
 * whole call, so nothing outside a root is ever read. Sizes are capped per file and per call.
 *
 * Hidden files are not read: a path with a part below its root that starts with a dot (`.env`,
 * `.git/config`, `.npmrc`, `.ssh/...`), as asked or where its links lead. Until 2026-12-04 any
 * client of a server started in a project folder (the default root) could send its `.env`, keys
 * and all, to a model and read it back. Naming a hidden folder itself as a root shares it.
 */
import type { Stats } from 'node:fs';
import { constants, type FileHandle, lstat, open, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { runtimeError, type TroupeError } from '../core/errors.js';
import type { ChatFile } from '../providers/port.js';
import type { FileLimits } from './context.js';
import { fileHandles } from './file-handles.js';

/**
 * Longest path taken, in characters: Linux's `PATH_MAX` (4,096 bytes with its NUL), so no path
 * refused here could have been opened. Before 2026-12-05 a path's length was the request's.
 */
export const MAX_PATH_CHARS = 4096;

export type ReadFilesResult =
  | { readonly ok: true; readonly files: readonly ChatFile[]; readonly bytes: number }
  | { readonly ok: false; readonly error: TroupeError };

/** Whether `path` (already real) is `root` or inside it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

export async function readFilesUnderRoots(
  paths: readonly string[],
  roots: readonly string[],
  limits: Required<FileLimits>,
): Promise<ReadFilesResult> {
  if (roots.length === 0) {
    return refuse(
      'This server has no root folders configured, so it reads no files. Set TROUPE_ROOTS to the folders multi_file_chat may read.',
    );
  }
  if (paths.length > limits.maxFiles) {
    return refuse(`Expected at most ${limits.maxFiles} files, got ${paths.length}`);
  }
  const long = paths.findIndex((path) => path.length > MAX_PATH_CHARS);
  if (long !== -1) {
    return refuse(
      `Expected each path to be at most ${MAX_PATH_CHARS} characters, got one of ${paths[long]?.length} (path ${long + 1} of ${paths.length}). Nothing was read.`,
    );
  }
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)));
  const usableRoots = realRoots.filter((root): root is string => root !== undefined);
  const firstRoot = usableRoots[0];
  if (firstRoot === undefined) return refuse('None of the configured root folders exists.');

  // Phase 1: resolve and check every path, each opened (nothing read yet) and what it is taken from
  // the open file; phase 2 reads those files, so nothing can be swapped between check and read.
  const opened: { path: string; handle: FileHandle }[] = [];
  // A place for each file it may open, taken before any: `file-handles.ts`.
  await fileHandles.take(paths.length);
  try {
    let total = 0;
    const allRoots = [...roots.map((root) => resolve(root)), ...usableRoots];
    for (const path of paths) {
      const candidate = isAbsolute(path) ? path : resolve(firstRoot, path);
      // Before anything is looked up, so that whether a hidden file exists is not told either.
      if (hiddenUnder(allRoots, resolve(candidate))) return hidden(path);
      let real: string;
      try {
        real = await realpath(candidate);
      } catch (error) {
        // Only say "not found" for paths that would lead inside a root, followed through every link
        // there is; otherwise refuse as outside, as for a file that exists: whether a path beyond a
        // link leading out of a root exists is not for the caller to learn.
        const wouldBe = await whereItWouldLead(resolve(candidate), { links: 40 });
        if (!usableRoots.some((root) => isInside(root, wouldBe))) return outside(path, roots);
        // Through a visible link into a hidden folder: refused as a file there that exists is.
        if (hiddenUnder(usableRoots, wouldBe)) return hidden(path);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') return unsearchable(path);
        return refuse(`Expected \`${path}\` to be a readable file under a root folder, got no such file`);
      }
      if (!usableRoots.some((root) => isInside(root, real))) return outside(path, roots);
      if (hiddenUnder(usableRoots, real)) return hidden(path);
      // Told only of what is still where it was checked: a folder on its way swapped for a link
      // since would show the type or size of a file outside the roots (nothing read, but told).
      const checked = await openChecked(real, usableRoots);
      if (checked === 'denied') return denied(path);
      if (checked === undefined) return changed(path);
      const { handle, info } = checked;
      if (handle !== undefined) opened.push({ path, handle });
      if (!info.isFile())
        return refuse(
          `Expected \`${path}\` to be a file, got a ${info.isDirectory() ? 'directory' : 'special file'}`,
        );
      if (info.size > limits.maxFileBytes) {
        return refuse(
          `Expected \`${path}\` to be at most ${limits.maxFileBytes} bytes, got ${info.size} bytes`,
        );
      }
      total += info.size;
      if (total > limits.maxTotalBytes) return overTotal(limits.maxTotalBytes, path);
    }

    // Phase 2: read the files opened and checked, never more than the caps even if they grew since
    // (until 2026-12-07 only each file's: files growing together reached maxFiles × maxFileBytes).
    const files: ChatFile[] = [];
    let bytes = 0;
    for (const { path, handle } of opened) {
      const buffer = Buffer.alloc(limits.maxFileBytes + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > limits.maxFileBytes) {
        return refuse(`Expected \`${path}\` to be at most ${limits.maxFileBytes} bytes, got more`);
      }
      bytes += bytesRead;
      if (bytes > limits.maxTotalBytes) return overTotal(limits.maxTotalBytes, path);
      files.push({
        name: path,
        data: buffer.subarray(0, bytesRead).toString('utf8'),
        mimeType: 'text/plain',
      });
    }
    return { ok: true, files, bytes };
  } finally {
    await Promise.all(opened.map(({ handle }) => handle.close().catch(() => undefined)));
    fileHandles.give(paths.length);
  }
}

/**
 * `real` (checked inside a root) opened, with what it is (`fstat` of the file opened); `denied`
 * when the OS refused this process the open and `real` is still its own real path; or undefined
 * (closed) when what was opened is not where it was checked: on Linux its `/proc/self/fd` link,
 * race-free; elsewhere `real` must still be its own real path and name the same file (a swap and a
 * swap back within these few calls can pass). A last link is not followed (`real` has none) and the
 * open does not wait (a FIFO swapped in would hold it, and one of libuv's four file threads, until a
 * writer came). A device or socket is never opened (opening some devices acts): a `stat` says what
 * it is, checked after by its path, with the same race as elsewhere, for "special file" alone.
 * Until 2026-12-05 a `stat` by path told every type and size, checked by path after it (a swap for
 * the `stat` and the `lstat` but not the `realpath` between could pass: the refusal then told the
 * size of a file outside the roots), and phase 2 opened the path again.
 */
async function openChecked(real: string, roots: readonly string[]): Promise<Checked | 'denied' | undefined> {
  const first = await stat(real).catch(() => undefined);
  if (first === undefined) return undefined;
  if (!first.isFile() && !first.isDirectory()) {
    const again = await realpath(real).catch(() => '');
    const own = await lstat(real).catch(() => undefined);
    return again === real && own?.dev === first.dev && own.ino === first.ino ? { info: first } : undefined;
  }
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let handle: FileHandle;
  try {
    handle = await open(real, flags);
  } catch (error) {
    // Not the server's to read (until 2026-12-07 told as "changed since"), if still where checked.
    const code = (error as NodeJS.ErrnoException).code;
    const refused = code === 'EACCES' || code === 'EPERM';
    return refused && (await realpath(real).catch(() => '')) === real ? 'denied' : undefined;
  }
  const info = await handle.stat().catch(() => undefined);
  const where = info === undefined ? undefined : await openedAt(handle, real, info);
  if (
    info !== undefined &&
    where !== undefined &&
    roots.some((root) => isInside(root, where)) &&
    !hiddenUnder(roots, where)
  )
    return { handle, info };
  await handle.close();
  return undefined;
}

interface Checked {
  /** Open when `info` is a file or folder, closed by the caller. */
  readonly handle?: FileHandle;
  readonly info: Stats;
}

async function openedAt(handle: FileHandle, real: string, info: Stats): Promise<string | undefined> {
  const viaProc = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (viaProc !== undefined) return viaProc;
  const [again, now] = await Promise.all([realpath(real).catch(() => ''), stat(real).catch(() => undefined)]);
  return again === real && now?.dev === info.dev && now.ino === info.ino ? real : undefined;
}

/**
 * Where `path` (absolute, normalized) would lead if it existed: its deepest part that exists taken
 * at its real path, the first that does not (nothing can exist below it) with the rest appended, a
 * dangling link there followed to its target (40 links in all at most, as the kernel allows;
 * `budget` is shared by the whole walk). The parts that exist are a prefix (each is reached through
 * the one before), so it is found by halving: about log2(parts) lookups. Until 2026-12-05 the walk
 * took a `realpath` per existing part (a path through 2,000 folders, 2,000 of them, each walking
 * its whole prefix), and before that went up from the deepest part, a lookup per missing one (a
 * 63 KB path of `a/` took 48 s of the file threads).
 */
async function whereItWouldLead(path: string, budget: { links: number }): Promise<string> {
  const { root } = parse(path);
  const parts = path
    .slice(root.length)
    .split(sep)
    .filter((part) => part !== '');
  let found = 0;
  let at = root;
  for (let low = 1, high = parts.length; low <= high; ) {
    const mid = (low + high) >> 1;
    const real = await realpath(join(root, ...parts.slice(0, mid))).catch(() => undefined);
    if (real === undefined) high = mid - 1;
    else [found, at, low] = [mid, real, mid + 1];
  }
  if (found === parts.length) return at;
  const next = join(at, parts[found] as string);
  const rest = parts.slice(found + 1);
  const target = budget.links > 0 ? await readlink(next).catch(() => undefined) : undefined;
  if (target === undefined) return join(next, ...rest);
  budget.links--;
  return whereItWouldLead(resolve(at, target, ...rest), budget);
}

/** Whether `path` is under some of `roots` and, below each of those, has a part that starts with a dot. */
function hiddenUnder(roots: readonly string[], path: string): boolean {
  const holders = roots.filter((root) => isInside(root, path));
  return (
    holders.length > 0 &&
    holders.every((root) =>
      relative(root, path)
        .split(sep)
        .some((part) => part.startsWith('.')),
    )
  );
}

function hidden(path: string): ReadFilesResult {
  return refuse(
    `Expected \`${path}\` to be a file that is not hidden, got a path with a part starting with a dot (such as .env or .git/config, where keys and settings live), which is never read; a hidden folder named itself as a root folder is shared. Nothing was read.`,
  );
}

function refuse(message: string): ReadFilesResult {
  return { ok: false, error: runtimeError('INVALID_REQUEST', message) };
}

function overTotal(maxTotalBytes: number, path: string): ReadFilesResult {
  return refuse(`Expected the files to total at most ${maxTotalBytes} bytes, got more (at \`${path}\`)`);
}

function denied(path: string): ReadFilesResult {
  return refuse(
    `Expected \`${path}\` to be a file this server may read, got one it has no permission to open. Nothing was read.`,
  );
}

/**
 * A folder inside a root on the way to `path` that this server may not search (no `x` permission):
 * until 2026-12-07 it read as "no such file", though the file may well be there. Said only of a path
 * that would lead inside a root; one leading out is refused as outside whatever stops it.
 */
function unsearchable(path: string): ReadFilesResult {
  return refuse(
    `Expected \`${path}\` to be a readable file under a root folder, got a path through a folder this server has no permission to search, so whether the file is there is unknown. Nothing was read.`,
  );
}

function changed(path: string): ReadFilesResult {
  return refuse(
    `Expected \`${path}\` to be the file it was when checked, got one changed since (a folder on its way or the file swapped for a link, removed, or no longer a regular file). Nothing was read.`,
  );
}

function outside(path: string, roots: readonly string[]): ReadFilesResult {
  return refuse(
    `Expected \`${path}\` to be inside a root folder (${roots.join(', ')}), got a path outside them. Nothing was read.`,
  );
}
