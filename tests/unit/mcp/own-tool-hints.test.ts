/**
 * The hints of a `withSession` tool's errors name none of troupe's own tools' arguments or tools:
 * an embedder's tool has no `timeout_ms`, and its server may have no `list_models`. Until
 * 2026-12-07 a `withSession` tool past its deadline told its client to call again "with a larger
 * timeout_ms".
 */
import { describe, expect, it } from 'vitest';
import type { TimeoutKind } from '../../../src/core/errors.js';
import { hintFor } from '../../../src/mcp/errors.js';
import { ownToolHint } from '../../../src/mcp/own-tool-hints.js';
import { CODES } from './error-codes.js';

const TROUPE_WORDS =
  /timeout_ms|priority|max_tokens|list_models|sessions tool|\bmodels?\b this server|pick a model/;
const KINDS: readonly (TimeoutKind | undefined)[] = [undefined, 'run', 'queue', 'idle'];

describe('ownToolHint', () => {
  it('names none of troupe’s tools or their arguments, for any code and deadline', () => {
    for (const code of CODES) {
      for (const kind of KINDS) {
        const hint = ownToolHint(code, kind);
        expect(hint.length, `${code} ${kind}`).toBeGreaterThan(20);
        expect(hint, `${code} ${kind}`).not.toMatch(TROUPE_WORDS);
        // "retry" only of troupe's own (`errors.test.ts`): the caller is told to call again.
        expect(hint.replace(/troupe does not (queue or )?retry/, ''), `${code} ${kind}`).not.toMatch(
          /\bretr(y|ying|ied|ies)\b/i,
        );
      }
    }
  });

  it('keeps troupe’s hint where it names nothing of troupe’s tools', () => {
    for (const code of CODES) {
      if (!TROUPE_WORDS.test(hintFor(code))) expect(ownToolHint(code), code).toBe(hintFor(code));
    }
    expect(ownToolHint('TIMED_OUT', 'idle')).toBe(hintFor('TIMED_OUT', 'idle'));
  });

  it('tells a queue deadline from a run deadline', () => {
    expect(ownToolHint('TIMED_OUT', 'queue')).toMatch(/waited in the queue.*busy.*fewer calls/);
    expect(ownToolHint('TIMED_OUT', 'run')).toMatch(/passed its deadline/);
    expect(ownToolHint('TIMED_OUT')).toBe(ownToolHint('TIMED_OUT', 'run'));
  });

  it('reads a deadline’s kind on `TIMED_OUT` alone', () => {
    for (const code of CODES.filter((c) => c !== 'TIMED_OUT'))
      for (const kind of KINDS) expect(ownToolHint(code, kind), `${code} ${kind}`).toBe(ownToolHint(code));
  });
});
