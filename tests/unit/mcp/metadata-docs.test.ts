/**
 * A result's session metadata is documented field by field, under the names it carries: every
 * field of `SessionMetadata` is in the tools' output schema and named in docs/runtime.md ("Session
 * metadata") and docs/mcp.md ("Tools"). Until 2026-12-07 runtime.md's list stopped at `truncated`
 * (no `cost`, `finishReason`, `notes`, `waitingFor`, `route`), mcp.md named neither `notes`,
 * `waitingFor` nor `truncated`, and the output schema had no `waitingFor`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionMetadataSchema } from '../../../src/mcp/schemas.js';
import type { SessionMetadata } from '../../../src/runtime/types.js';

/** Every field of `SessionMetadata`: a field added there and not here fails to compile. */
const FIELDS = {
  sessionId: true,
  requestId: true,
  provider: true,
  model: true,
  priority: true,
  state: true,
  queuedMs: true,
  runMs: true,
  totalMs: true,
  attempts: true,
  usage: true,
  cost: true,
  code: true,
  label: true,
  caller: true,
  truncated: true,
  finishReason: true,
  notes: true,
  waitingFor: true,
  route: true,
} as const satisfies Record<keyof SessionMetadata, true>;

/** The text of `file` from the heading `from` to the next heading of its level or above. */
function section(file: string, from: string): string {
  const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
  const start = text.indexOf(`\n${from}\n`);
  expect(start, `${from} in ${file}`).toBeGreaterThan(-1);
  const level = from.split(' ')[0] ?? '##';
  const rest = text.slice(start + from.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end === -1 ? rest : rest.slice(0, end);
}

describe('session metadata: schema and docs name every field', () => {
  it('the tools’ output schema has every field', () => {
    expect(Object.keys(sessionMetadataSchema.shape).sort()).toEqual(Object.keys(FIELDS).sort());
  });

  it.each([
    ['docs/runtime.md', '## Session metadata'],
    ['docs/mcp.md', '## Tools'],
  ])('%s (%s) names every field', (file, heading) => {
    const text = section(file, heading);
    expect(Object.keys(FIELDS).filter((field) => !text.includes(`\`${field}\``))).toEqual([]);
  });
});
