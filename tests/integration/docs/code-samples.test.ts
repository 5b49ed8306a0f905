/**
 * The code a newcomer copies from README.md and docs/*.md works as written. Every fenced block is
 * found and classified by its language; every JS/TS block is a sample, and every sample is
 * type-checked against the BUILT package (`npm run build` first) as a user's project imports it:
 * `troupe`, `troupe/mcp`, ... resolve through package.json "exports" (a file inside this repository
 * reaches its own package by name, in Node and in TypeScript's `nodenext`), so a sample is checked
 * against what `npm install troupe` gives. TypeScript samples are checked `strict`, JavaScript ones
 * with `checkJs` as a JavaScript user's editor would (not strict; a property read on an SDK value
 * typed `unknown` is fine in JavaScript). Whole programs that need nothing outside then run, each
 * as a child `node` with no API key (troupe falls back to its simulated provider), and must exit 0;
 * a `// <shape>` comment ending a `console.log(...);` line, or on the line after it, says what it
 * prints, and the output must have that shape (numbers stand for any number, `...` or `…` for anything).
 *
 * A comment on the lines directly before a fence says what else a sample is:
 * - `<!-- sample: run -->` (the default, no comment needed): a whole program, run.
 * - `<!-- sample: run against troupe serve -->`: run while `troupe serve` listens, at the URL the
 *   sample names (`http://127.0.0.1:7801/mcp`, the default) changed to the test's server.
 * - `<!-- sample: typecheck — <why it cannot run here> -->`: a whole program, type-checked only.
 * - `<!-- sample: fragment, after the block above -->`: checked joined to the previous JS/TS sample
 *   of the same page; `<!-- sample: fragment, given:` then TypeScript declarations of what the
 *   fragment assumes (its imports, the reader's own values), then `-->`: checked after those.
 * - `<!-- sample: copy of <path> -->`: must equal that file of the repository, which a test runs
 *   (`examples/*.mjs`: tests/e2e/examples.test.ts).
 * A `json` block must parse, unless it is marked `<!-- sample: excerpt -->` (a part of a larger
 * document, `"session": {...}`, or with `…` for what is cut). A fence with no language, a language
 * not listed here, or a marker of another kind fails the test.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { startServeCli } from '../../support/serve-cli.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');
const CODE: Record<string, 'js' | 'ts'> = {
  js: 'js',
  mjs: 'js',
  javascript: 'js',
  ts: 'ts',
  typescript: 'ts',
};
/** Languages that are not programs: shown, not checked here. */
const OTHER = new Set(['sh', 'json', 'text', 'yaml', 'ini', 'dockerfile', 'mermaid']);
const DEFAULT_URL = 'http://127.0.0.1:7801/mcp';

type Kind = 'run' | 'serve' | 'typecheck' | 'fragment' | 'copy';

interface Sample {
  /** `docs/testing.md:44`: the page and the line of the opening fence. */
  readonly where: string;
  readonly file: string;
  readonly line: number;
  readonly lang: 'js' | 'ts';
  readonly code: string;
  readonly kind: Kind;
  /** What is checked before the code: a fragment's given declarations, or the block it follows. */
  readonly prelude: string;
  /** `copy`: the repository file it must equal. */
  readonly copyOf?: string;
}

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The HTML comments on the lines directly before line `index`, nearest first. */
function commentsBefore(lines: readonly string[], index: number): string[] {
  const comments: string[] = [];
  let end = index - 1;
  while (end >= 0 && lines[end]!.trimEnd().endsWith('-->')) {
    let start = end;
    while (start > 0 && !lines[start]!.trimStart().startsWith('<!--')) start -= 1;
    comments.push(lines.slice(start, end + 1).join('\n'));
    end = start - 1;
  }
  return comments;
}

function classify(
  where: string,
  lang: 'js' | 'ts',
  code: string,
  marker: string | undefined,
  previous: Sample | undefined,
  problems: string[],
): Pick<Sample, 'kind' | 'prelude' | 'copyOf'> | undefined {
  if (marker === undefined) return { kind: 'run', prelude: '' };
  const body = marker.replace(/^\s*<!--\s*sample:\s*/, '').replace(/\s*-->\s*$/, '');
  const [head = '', ...rest] = body.split('\n');
  const given = rest.join('\n').trim();
  const [, kind = '', detail = ''] = /^(\w+)[\s,—:-]*(.*)$/.exec(head.trim()) ?? [];
  if (kind === 'run' && detail === '' && given === '') return { kind: 'run', prelude: '' };
  if (kind === 'run' && detail === 'against troupe serve' && given === '') {
    if (!code.includes(DEFAULT_URL))
      problems.push(`${where}: runs against troupe serve but names no ${DEFAULT_URL}`);
    return { kind: 'serve', prelude: '' };
  }
  if (kind === 'typecheck' && detail !== '' && given === '') return { kind: 'typecheck', prelude: '' };
  if (kind === 'fragment' && detail === 'after the block above' && given === '') {
    if (previous?.lang === lang) return { kind: 'fragment', prelude: `${previous.prelude}${previous.code}` };
    problems.push(`${where}: a fragment after the block above, with no ${lang} sample above it on its page`);
    return undefined;
  }
  if (kind === 'fragment' && detail === 'given:' && given !== '')
    return { kind: 'fragment', prelude: `${given}\n` };
  if (kind === 'copy' && detail.startsWith('of ') && given === '') {
    return { kind: 'copy', prelude: '', copyOf: detail.slice(3).trim() };
  }
  problems.push(
    `${where}: cannot classify the sample marker ${JSON.stringify(marker)} (see this test's header)`,
  );
  return undefined;
}

/** Every fenced block of every page: the samples, and what could not be classified. */
function findSamples(): { samples: Sample[]; others: string[]; problems: string[] } {
  const samples: Sample[] = [];
  const others: string[] = [];
  const problems: string[] = [];
  for (const file of pages) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    let previous: Sample | undefined;
    for (let i = 0; i < lines.length; i += 1) {
      const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
      if (open === null) continue;
      const [, indent = '', fence = '', info = ''] = open;
      let close = i + 1;
      while (close < lines.length && lines[close]!.trim() !== fence) close += 1;
      if (close === lines.length) problems.push(`${file}:${i + 1}: a fence that is never closed`);
      const where = `${file}:${i + 1}`;
      const language = info.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
      const code = `${lines
        .slice(i + 1, close)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
        .join('\n')}\n`;
      const marker = commentsBefore(lines, i).find((c) => /^\s*<!--\s*sample:/.test(c));
      const lang = CODE[language];
      if (lang !== undefined) {
        const classified = classify(where, lang, code, marker, previous, problems);
        if (classified !== undefined) {
          previous = { where, file, line: i + 1, lang, code, ...classified };
          samples.push(previous);
        }
      } else if (OTHER.has(language)) {
        others.push(`${where} ${language}`);
        const excerpt =
          language === 'json' && marker !== undefined && /^\s*<!--\s*sample:\s*excerpt\b/.test(marker);
        if (marker !== undefined && !excerpt)
          problems.push(`${where}: a sample marker on a ${language} block`);
        if (language === 'json' && !excerpt) {
          try {
            JSON.parse(code);
          } catch (error) {
            problems.push(
              `${where}: JSON that does not parse (mark an excerpt <!-- sample: excerpt -->): ${error}`,
            );
          }
        }
      } else {
        problems.push(
          `${where}: a fence whose language (${JSON.stringify(language)}) is neither a program (${Object.keys(CODE).join(', ')}) nor one of ${[...OTHER].join(', ')}: name it`,
        );
      }
      i = close;
    }
  }
  return { samples, others, problems };
}

const { samples, others, problems } = findSamples();
// Inside the repository (its `tmp/` is ignored), so that `troupe` names this package. Made on first
// use, not at import: `vitest list` imports the file and runs no `afterAll`, which left an empty
// directory behind each time.
let made: string | undefined;
function workDir(): string {
  if (made === undefined) {
    mkdirSync(join(root, 'tmp'), { recursive: true });
    made = mkdtempSync(join(root, 'tmp', 'docs-samples-'));
  }
  return made;
}
afterAll(() => {
  if (made !== undefined) rmSync(made, { recursive: true, force: true });
});

/** The sample's file in the temporary project: its prelude, then its code. */
function fileOf(sample: Sample): string {
  return join(workDir(), `${sample.where.replace(/[^\w]+/g, '-')}.${sample.lang === 'ts' ? 'mts' : 'mjs'}`);
}

/** A diagnostic, at its place in the page (or in the prelude, named by the marker). */
function described(diagnostic: ts.Diagnostic, byFile: Map<string, Sample>): string {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  const sample = diagnostic.file === undefined ? undefined : byFile.get(diagnostic.file.fileName);
  if (sample === undefined || diagnostic.start === undefined) return `TS${diagnostic.code}: ${text}`;
  const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
  const preludeLines = sample.prelude.split('\n').length - 1;
  const place =
    line < preludeLines
      ? `${sample.where} (in what it is given)`
      : `${sample.file}:${sample.line + 1 + line - preludeLines}`;
  return `${place}: TS${diagnostic.code}: ${text}`;
}

/** JavaScript has no `unknown`: an editor's checkJs complains of reading an SDK value's property, the program does not. */
const onlyTypedUnknown = (d: ts.Diagnostic) =>
  (d.code === 2339 || d.code === 18046) &&
  /type 'unknown'/.test(ts.flattenDiagnosticMessageText(d.messageText, ' '));

function typeErrors(lang: 'js' | 'ts'): string[] {
  const chosen = samples.filter((s) => s.lang === lang);
  const byFile = new Map(chosen.map((s) => [fileOf(s), s]));
  for (const [file, sample] of byFile) writeFileSync(file, `${sample.prelude}${sample.code}`);
  const program = ts.createProgram([...byFile.keys()], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
    ...(lang === 'ts' ? { strict: true } : { allowJs: true, checkJs: true }),
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || byFile.has(d.file.fileName))
    .filter((d) => lang === 'ts' || !onlyTypedUnknown(d))
    .map((d) => described(d, byFile));
}

/** The shape a `console.log(...); // shape` line promises, as a pattern over the output. */
function shapePattern(code: string): RegExp {
  const shapes = [...code.matchAll(/console\.log\(.*\);[ \t]*\n?[ \t]*\/\/[ \t]*(.+)$/gm)].map(
    ([, shape = '']) =>
      shape
        .trim()
        .split(/(\.\.\.|…|-?\d+(?:\.\d+)?|\s+)/)
        .map((part) => {
          if (part === '...' || part === '…') return '[\\s\\S]*?';
          if (/^-?\d/.test(part)) return '-?\\d+(?:\\.\\d+)?';
          if (/^\s+$/.test(part)) return '\\s*';
          return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/([[{(,:])/g, '$1\\s*');
        })
        .join(''),
  );
  return new RegExp(shapes.join('[\\s\\S]*'));
}

describe('the code samples in README.md and docs/*.md', () => {
  it('finds every fenced block, and every JS/TS one is a sample it can check', () => {
    const count = (kind: Kind) => samples.filter((s) => s.kind === kind).length;
    console.log(
      [
        `${samples.length} JS/TS samples, all type-checked: run ${count('run') + count('serve')}, typecheck only ${count('typecheck')}, fragment ${count('fragment')}, copy of a file run elsewhere ${count('copy')}`,
        ...samples.map((s) => `  ${s.where} ${s.lang} ${s.kind}${s.copyOf ? ` ${s.copyOf}` : ''}`),
        `${others.length} other blocks, not programs: ${[...new Set(others.map((o) => o.split(' ')[1]))]
          .map((lang) => `${others.filter((o) => o.endsWith(` ${lang}`)).length} ${lang}`)
          .join(', ')}`,
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(samples.length).toBeGreaterThan(0);
  });

  it('a copy of a file is that file, as the tests run it', () => {
    for (const sample of samples.filter((s) => s.kind === 'copy')) {
      const path = join(root, sample.copyOf!);
      expect(existsSync(path), `${sample.where}: ${sample.copyOf} is missing`).toBe(true);
      expect(sample.code, `${sample.where} against ${sample.copyOf}`).toBe(readFileSync(path, 'utf8'));
    }
  });

  it('the TypeScript samples type-check against the built package, strict, as a user’s project imports it', () => {
    expect(existsSync(join(root, 'dist/src/index.d.ts')), 'build first: dist/src/index.d.ts is missing').toBe(
      true,
    );
    expect(typeErrors('ts')).toEqual([]);
  }, 60_000);

  it('the JavaScript samples type-check against the built package, as checkJs reads them', () => {
    expect(typeErrors('js')).toEqual([]);
  }, 60_000);

  const runnable = samples.filter((s) => s.kind === 'run' || s.kind === 'serve');
  let serve: Awaited<ReturnType<typeof startServeCli>> | undefined;
  afterAll(() => {
    serve?.child.kill('SIGKILL');
  });

  for (const sample of runnable) {
    it(`${sample.where} runs${sample.kind === 'serve' ? ' against troupe serve' : ''}, exits 0 and prints what its comments show`, async () => {
      mkdirSync(join(workDir(), 'run'), { recursive: true });
      const file = join(workDir(), 'run', `${sample.where.replace(/[^\w]+/g, '-')}.mjs`);
      let source =
        sample.lang === 'ts'
          ? ts.transpileModule(sample.code, {
              compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
            }).outputText
          : sample.code;
      if (sample.kind === 'serve') {
        serve ??= await startServeCli({});
        source = source.replaceAll(DEFAULT_URL, new URL('/mcp', serve.base).href);
      }
      writeFileSync(file, source);
      const { stdout } = await run(process.execPath, [file], {
        cwd: workDir(),
        env: { PATH: process.env.PATH ?? '' },
        timeout: 30_000,
      });
      expect(stdout.replace(/\s+/g, ' '), `${sample.where}: its output`).toMatch(shapePattern(sample.code));
    }, 40_000);
  }
});
