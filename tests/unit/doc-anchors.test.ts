/**
 * A link into a section of a page (`page.md#heading`, or `#heading` on the same page) leads to a
 * heading that page has. The anchor is the heading as GitHub and npm write it: lower case, every
 * character but letters, digits, `_`, `-` and spaces dropped, spaces made `-`, a repeated heading
 * numbered `-1`, `-2`. A heading renamed or moved to another page leaves such links leading to
 * the top of the page; until 2026-12-07 two links to providers.md's GLM section did.
 * packed-doc-links.test.ts checks the files; this checks the headings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const withoutCode = (text: string): string => text.replace(/```[\s\S]*?```/g, '');

/** The anchors GitHub gives a page's headings. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of withoutCode(markdown).matchAll(/^#{1,6} (.*)$/gm)) {
    const slug = (match[1] as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}_ -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Links with an anchor to a page of this repository, code blocks and code spans left out. */
function anchoredLinks(markdown: string): { file: string; anchor: string }[] {
  const prose = withoutCode(markdown).replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s#]*)#([^)\s]+)\)/g)]
    .filter((m) => !/^[a-z][a-z0-9+.-]*:/i.test(m[1] as string))
    .map((m) => ({ file: m[1] as string, anchor: m[2] as string }));
}

describe('links into a section of the docs', () => {
  it('turn a heading into GitHub’s anchor', () => {
    const anchors = anchorsOf(
      '# Performance\n## Depth: `npm run bench -- depth --json`\n## Depth: `npm run bench -- depth --json`\n### GLM (ZhipuAI / Z.ai) — `glm.ts`\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual([
      'performance',
      'depth-npm-run-bench----depth---json',
      'depth-npm-run-bench----depth---json-1',
      'glm-zhipuai--zai--glmts',
    ]);
  });

  it('lead to a heading the page has', () => {
    const broken: string[] = [];
    const cache = new Map<string, Set<string>>();
    for (const page of pages) {
      for (const { file, anchor } of anchoredLinks(readFileSync(join(ROOT, page), 'utf8'))) {
        const target = file === '' ? page : normalize(join(dirname(page), file));
        if (!existsSync(join(ROOT, target))) continue; // packed-doc-links.test.ts reports it
        let anchors = cache.get(target);
        if (anchors === undefined) {
          anchors = anchorsOf(readFileSync(join(ROOT, target), 'utf8'));
          cache.set(target, anchors);
        }
        if (!anchors.has(anchor)) broken.push(`${page}: ${file}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
