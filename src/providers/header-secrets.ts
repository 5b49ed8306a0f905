/**
 * Which of a provider's configured request headers (the providers file's `headers`) carry a
 * credential: their values are scrubbed from provider errors like the API key
 * (`http-errors.ts`, `scrubSecrets`). A header counts when its name says so (`api-key`,
 * `x-api-key`, `Authorization`, `x-auth-token`, `Cookie`, `x-gateway-secret`, ...); other headers
 * (`x-team`, `HTTP-Referer`) stay readable in errors.
 */
const CREDENTIAL_NAME = /auth|key|token|secret|passw|cookie|credential|signature|session/i;

export function credentialHeaderValues(headers: Readonly<Record<string, string>> | undefined): string[] {
  if (headers === undefined) return [];
  return Object.entries(headers)
    .filter(([name, value]) => CREDENTIAL_NAME.test(name) && value.trim() !== '')
    .flatMap(([, value]) => {
      // `Bearer <token>` and other schemes: the credential is also the part after the scheme.
      const parts = value.trim().split(/\s+/);
      return parts.length > 1 ? [value, parts.slice(1).join(' ')] : [value];
    });
}
