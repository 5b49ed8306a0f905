/**
 * `Retry-After` as the two hand-written test adapters read it: seconds, or an HTTP date (RFC 9110
 * allows both), in ms from now; `undefined` for none or neither form. Until 2026-12-07 they read
 * seconds only, and the contract sent no date to show it.
 */
export function retryAfterHeaderMs(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
