/**
 * The providers file read as JSON: an unreadable file names its error code, text that is not JSON
 * says where it stops being JSON (`whereJson`), never what it holds.
 */
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { runtimeError } from '../core/errors.js';

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readProvidersText(path);
  } catch (error) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected a readable providers file at ${path}, got ${(error as NodeJS.ErrnoException).code ?? 'an error'}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw runtimeError(
      'INVALID_REQUEST',
      `${path}: Expected JSON, got text that does not parse${whereJson(text, error)}`,
    );
  }
  return json;
}

/**
 * The providers file's text. A path that is no regular file is refused before it is read: a named
 * pipe would hold the read, and the command with it, until something wrote to it (until 2026-12-07
 * `troupe config` with `TROUPE_PROVIDERS_FILE` naming a FIFO hung), and a device such as
 * `/dev/zero` never ends. The error's `code` is what callers print: `EISDIR` for a folder, as
 * reading one gives, else what the path is.
 */
export async function readProvidersText(path: string): Promise<string> {
  const kind = notAFile(await stat(path));
  if (kind !== undefined) throw Object.assign(new Error(`${path}: ${kind}`), { code: kind });
  return readFile(path, 'utf8');
}

function notAFile(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isDirectory()) return 'EISDIR';
  if (info.isFIFO()) return 'a named pipe (FIFO), not a file';
  if (info.isSocket()) return 'a socket, not a file';
  return 'a device, not a file';
}

/**
 * Where the providers file stops being JSON, by line and column, from the parser's position; never
 * its message, which can quote the text (and so a key). Until 2026-12-04 it said only "does not
 * parse", a trailing comma included (newcomer audit).
 */
function whereJson(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/end of JSON input/.test(message))
    return text.trim() === '' ? ' (the file is empty)' : ' (it ends early: a bracket or a string left open)';
  const at = /at position (\d+)/.exec(message);
  if (at === null) return '';
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return ` (at line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}
