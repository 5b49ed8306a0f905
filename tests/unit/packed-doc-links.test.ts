/**
 * The package ships README.md and docs/ (package.json `files`), read where it is installed
 * (node_modules/troupe) or on a registry's page: a relative link from them to a file the package
 * does not ship leads nowhere there. Until 2026-12-07 docs/embedding.md linked `../examples`,
 * which only a clone has; such files are named as repository paths in code spans instead.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const shipped: string[] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).files;
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Relative link targets of a Markdown page, code blocks and code spans left out. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => (m[1] as string).split('#')[0] as string)
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('relative links in the packed docs', () => {
  it('lead to files the package ships', () => {
    const dangling: string[] = [];
    for (const page of pages) {
      for (const target of relativeLinks(readFileSync(join(ROOT, page), 'utf8'))) {
        const path = normalize(relative(ROOT, join(ROOT, dirname(page), target)));
        const inPackage = shipped.some((f) => path === f || path.startsWith(`${f}/`));
        if (!inPackage || !existsSync(join(ROOT, path))) dangling.push(`${page}: ${target}`);
      }
    }
    expect(dangling).toEqual([]);
  });
});
