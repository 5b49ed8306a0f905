import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/testing.md lists each mutation group's files and each file's score. A file added to a group
// (or moved between groups) and not to the docs made both tables read as complete when they were not.
type Groups = Record<string, { readonly mutate: readonly string[] }>;
const groupsUrl = new URL('../../.ci/mutation-groups.mjs', import.meta.url).href;
const { GROUPS } = (await import(groupsUrl)) as { GROUPS: Groups };
const doc = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');

function groupRow(group: string): string {
  const row = doc.split('\n').find((line) => line.startsWith(`| \`${group}\` |`));
  if (row === undefined) throw new Error(`docs/testing.md has no row for the group \`${group}\``);
  return row.split(' | ')[1] ?? '';
}

function mutated(group: string): string[] {
  // A glob (the statechart group's `src/core/statechart/*.ts`) stands for its folder's files.
  return (GROUPS[group]?.mutate ?? []).filter((path) => !path.includes('*'));
}

describe('docs/testing.md against .ci/mutation-groups.mjs', () => {
  for (const group of Object.keys(GROUPS)) {
    it(`names every file the \`${group}\` group mutates, in its row and in the scores`, () => {
      const row = groupRow(group);
      for (const path of mutated(group)) {
        const base = path.split('/').at(-1) ?? path;
        // The row's first file is written whole, the rest by name.
        const named = row.includes(`\`${path}\``) || row.includes(`\`${base}\``);
        expect(named, `${path} in the group table: ${row}`).toBe(true);
        expect(doc, `${path} in the scores table`).toMatch(
          new RegExp(`^\\| \`${path.replaceAll('.', '\\.')}\``, 'm'),
        );
      }
    });
  }
});
