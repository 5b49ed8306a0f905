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
  TIMED_OUT:
    "raise --timeout (ms; default TROUPE_TIMEOUT_MS, else the providers file's runtime.timeoutMs, else 120000), or ask a faster model",
};

/** For `troupe ask --base-url`: an endpoint `troupe models` does not list, its key from two variables. */
const AD_HOC_HINTS: Readonly<Record<string, string>> = {
  MODEL_NOT_FOUND:
    'check --model, and that --base-url is the API root the endpoint answers `/chat/completions` under (often ending in `/v1`)',
  AUTH_FAILED: 'check the key in TROUPE_API_KEY or OPENAI_API_KEY, the two --base-url reads',
};

/**
 * A configured provider's own 404 to a chat: its model may be gone, or its base URL's path may be
 * wrong (`http://host:8000` for vLLM's `http://host:8000/v1`), where `troupe models` lists the model
 * as fine. Until 2026-12-06 the hint named `troupe models` alone.
 */
const ANSWERED_404 =
  "run `troupe models` to list the providers and models; if it lists this one, check that the provider's base URL (KIMI_BASE_URL, GLM_BASE_URL, TROUPE_OPENAI_BASE_URL or the providers file) is the API root it answers `/chat/completions` under (often ending in `/v1`)";

/**
 * `"; run ..."` for a code with a hint, else `""`; `adHoc`: the call went to `--base-url`;
 * `status`: the provider's HTTP status, when it answered.
 */
export function hintFor(code: string, adHoc = false, status?: number): string {
  const answered404 = code === 'MODEL_NOT_FOUND' && status === 404 ? ANSWERED_404 : undefined;
  const hint = (adHoc ? AD_HOC_HINTS[code] : undefined) ?? answered404 ?? HINTS[code];
  return hint === undefined ? '' : `; ${hint}`;
}
