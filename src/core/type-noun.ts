/**
 * A type as an error message names it, with its article: zod's `issue.expected` (`array`, `string`,
 * `record`) read as "an array", "a string", "an object" (a record is one too). Shared by the tool
 * arguments and the spec methods' params (`mcp/argument-issues.ts`) and the providers file
 * (`providers/providers-file.ts`), each of which said zod's "Invalid input: expected …" twice over.
 */
export function typeNoun(expected: string): string {
  const kind = expected === 'record' ? 'object' : expected;
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
}
