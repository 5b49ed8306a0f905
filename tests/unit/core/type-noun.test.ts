/**
 * `typeNoun` (src/core/type-noun.ts): the type zod expected, as an error message names it, with its
 * article. A record is named as the object it is.
 */
import { expect, it } from 'vitest';
import { typeNoun } from '../../../src/core/type-noun.js';

it('names a type with its article, a record as an object', () => {
  expect(['string', 'array', 'object', 'record', 'integer', 'number'].map(typeNoun)).toEqual([
    'a string',
    'an array',
    'an object',
    'an object',
    'an integer',
    'a number',
  ]);
});
