/**
 * Regression for issue 16 item 3: provider error text was cut to 299 characters before the key was
 * removed, so a key straddling the cut survived in part. Keys are now removed before any cut.
 */
import fc from 'fast-check';
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { toProviderError } from '../../src/providers/http-errors.js';
import { GLM_ERRORS, KIMI_ERRORS } from '../../src/providers/vendor-errors.js';

const KEY = 'sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Every piece of text troupe keeps from the failure. */
function keptText(error: unknown): string {
  const e = error as { message: string; cause?: unknown };
  return `${e.message}\n${JSON.stringify(e.cause ?? null)}`;
}

/** True when any run of 5 or more characters of the key appears. */
function leaksPart(text: string, key: string): boolean {
  for (let i = 0; i + 5 <= key.length; i += 1) if (text.includes(key.slice(i, i + 5))) return true;
  return false;
}

function bodyWithKeyAt(offset: number, length: number): string {
  const filler = 'x'.repeat(length);
  return `${filler.slice(0, offset)}${KEY}${filler.slice(offset)}`;
}

describe('keys are removed before any cut of provider text', () => {
  for (const [label, table] of [
    ['generic', undefined],
    ['kimi', KIMI_ERRORS],
    ['glm', GLM_ERRORS],
  ] as const) {
    it(`${label}: a key at every offset of a 1,200-character body never survives, whole or in part`, () => {
      const length = 1200;
      for (let offset = 0; offset <= length; offset += 1) {
        const body = bodyWithKeyAt(offset, length);
        const thrown = APIError.generate(
          400,
          { error: { message: body, type: 'invalid_request_error', code: '1210' } },
          undefined,
          new Headers(),
        );
        const mapped = toProviderError(thrown, {
          provider: 'p',
          secrets: [KEY],
          ...(table === undefined ? {} : { errorTable: table }),
        });
        const text = keptText(mapped);
        if (leaksPart(text, KEY)) throw new Error(`key leaked with the key at offset ${offset}`);
      }
    });
  }

  it('holds for any filler, key and offset, in HTTP errors and in errors inside a stream', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', ' ', '.', 'é'), minLength: 0, maxLength: 2000 }),
        fc.nat(),
        fc.boolean(),
        (filler, at, inStream) => {
          const offset = at % (filler.length + 1);
          const body = `${filler.slice(0, offset)}${KEY}${filler.slice(offset)}`;
          const thrown = inStream
            ? new APIError(undefined, { message: body }, undefined, undefined)
            : APIError.generate(429, { error: { message: body } }, undefined, new Headers());
          const text = keptText(
            toProviderError(thrown, { provider: 'p', secrets: [KEY], errorTable: KIMI_ERRORS }),
          );
          expect(leaksPart(text, KEY)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
