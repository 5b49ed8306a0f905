/**
 * The providers file read as JSON: an unreadable file names its error code, text that is not JSON
 * says where it stops being JSON (`whereJson`), never what it holds.
 */
import { readFile } from 'node:fs/promises';
import { runtimeError } from '../core/errors.js';

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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
