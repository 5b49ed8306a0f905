/**
 * What to run next, for the error codes a CLI user can act on. Appended to the one error line.
 */
const HINTS: Readonly<Record<string, string>> = {
  MODEL_NOT_FOUND: 'run `troupe models` to list the providers and models',
  UNKNOWN_PROVIDER: 'run `troupe models` to list the providers and models',
  NOT_CONFIGURED: 'run `troupe models` to see which providers have a key',
  AUTH_FAILED: 'check the key in the environment (`troupe config` shows which keys are set)',
  NETWORK:
    "check that the provider's base URL (--base-url, KIMI_BASE_URL, GLM_BASE_URL, TROUPE_OPENAI_BASE_URL or the providers file) is right and reachable",
  TIMED_OUT: 'raise --timeout (ms, default 120000), or ask a faster model',
};

/** For `troupe ask --base-url`: an endpoint `troupe models` does not list, its key from two variables. */
const AD_HOC_HINTS: Readonly<Record<string, string>> = {
  MODEL_NOT_FOUND:
    'check --model, and that --base-url is the API root the endpoint answers `/chat/completions` under (often ending in `/v1`)',
  AUTH_FAILED: 'check the key in TROUPE_API_KEY or OPENAI_API_KEY, the two --base-url reads',
};

/** `"; run ..."` for a code with a hint, else `""`; `adHoc`: the call went to `--base-url`. */
export function hintFor(code: string, adHoc = false): string {
  const hint = (adHoc ? AD_HOC_HINTS[code] : undefined) ?? HINTS[code];
  return hint === undefined ? '' : `; ${hint}`;
}
