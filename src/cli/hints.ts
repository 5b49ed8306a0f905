/**
 * What to run next, for the error codes a CLI user can act on. Appended to the one error line.
 */
const HINTS: Readonly<Record<string, string>> = {
  MODEL_NOT_FOUND: 'run `troupe models` to list the providers and models',
  UNKNOWN_PROVIDER: 'run `troupe models` to list the providers and models',
  NOT_CONFIGURED: 'run `troupe models` to see which providers have a key',
};

/** `"; run ..."` for a code with a hint, else `""`. */
export function hintFor(code: string): string {
  const hint = HINTS[code];
  return hint === undefined ? '' : `; ${hint}`;
}
