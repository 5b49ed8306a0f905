/**
 * Rules of issue 12 that a reviewer should not have to re-check by hand:
 * - no source file in `src/` or `machines/` over 400 lines;
 * - in `src/runtime` and `src/scale`, time only through the injected clock: no `Date.now()`, and
 *   no bare `setTimeout`/`setInterval` (`clock.setTimeout` is the clock's);
 * - in `src/runtime` and `src/scale`, no rejection dropped silently: no `.catch(() => {})` (or one
 *   returning `undefined`/`null`), no empty `catch {}` block. Failures go to `onError` or are
 *   handled with a reason.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) sources(path, out);
    else if (/\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

/** The code without comments, so a comment may name what the code must not do. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const WALL_CLOCK = [
  /\bDate\.now\s*\(/,
  /(?<![.\w])setTimeout\s*\(/,
  /(?<![.\w])setInterval\s*\(/,
  /globalThis\.set(Timeout|Interval)/,
];
const SILENT = [
  /\.catch\(\s*(?:\(\s*\w*\s*\)|\w+)\s*=>\s*(?:\{\s*\}|undefined|null|void 0)\s*\)/,
  /\bcatch\s*(?:\(\s*\w+\s*\))?\s*\{\s*\}/,
];

function offences(text: string, patterns: readonly RegExp[]): string[] {
  const lines = code(text).split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (patterns.some((p) => p.test(line))) out.push(`${i + 1}: ${line.trim()}`);
  });
  // Empty catch blocks over several lines.
  if (patterns === SILENT && /\bcatch\s*(?:\(\s*\w+\s*\))?\s*\{\s*\}/.test(code(text)) && !out.length)
    out.push('an empty catch block');
  return out;
}

describe('code rules (issue 12)', () => {
  const all = [...sources('src'), ...sources('machines')];
  const edge = [...sources('src/runtime'), ...sources('src/scale')];

  it('no source file is over 400 lines', () => {
    const long = all
      .map((file) => [file, readFileSync(join(root, file), 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > 400);
    expect(long).toEqual([]);
  });

  it('src/runtime and src/scale read time only through the injected clock', () => {
    const found = edge.flatMap((f) =>
      offences(readFileSync(join(root, f), 'utf8'), WALL_CLOCK).map((o) => `${f}:${o}`),
    );
    expect(found).toEqual([]);
  });

  it('src/runtime and src/scale drop no rejection silently', () => {
    const found = edge.flatMap((f) =>
      offences(readFileSync(join(root, f), 'utf8'), SILENT).map((o) => `${f}:${o}`),
    );
    expect(found).toEqual([]);
  });

  it('the patterns catch what they are for, and spare the clock and comments', () => {
    expect(offences('const t = Date.now();', WALL_CLOCK)).toHaveLength(1);
    expect(offences('setTimeout(run, 5);', WALL_CLOCK)).toHaveLength(1);
    expect(offences('const i = setInterval(run, 5);', WALL_CLOCK)).toHaveLength(1);
    expect(offences('clock.setTimeout(run, 5); // not Date.now()', WALL_CLOCK)).toEqual([]);
    expect(offences('p.catch(() => {});', SILENT)).toHaveLength(1);
    expect(offences('p.catch((e) => undefined);', SILENT)).toHaveLength(1);
    expect(offences('try { a(); } catch {}', SILENT)).toHaveLength(1);
    expect(offences('try {\n  a();\n} catch {\n}\n', SILENT)).toHaveLength(1);
    expect(offences('p.catch(onError);', SILENT)).toEqual([]);
    expect(
      offences('try { a(); } catch {\n  // Still cut off: the next reconnect tries again.\n}', SILENT),
    ).toHaveLength(1);
  });

  it('no merge-conflict markers are left in the docs, the README or the sources', () => {
    const files = [
      'README.md',
      ...readdirSync(join(root, 'docs')).map((name) => `docs/${name}`),
      ...sources('src'),
      ...sources('machines'),
      ...sources('tests'),
    ].filter((path) => /\.(md|ts)$/.test(path));
    const marker = /^(<{7}|>{7}) |^={7}$/m;
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((path) => marker.test(readFileSync(join(root, path), 'utf8')))).toEqual([]);
    expect(marker.test(`text\n${'<'.repeat(7)} HEAD\nmore`)).toBe(true);
  });
});
