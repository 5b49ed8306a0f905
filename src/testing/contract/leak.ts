/**
 * Where the API key shows up in what an adapter gives back. Its errors are searched in errors.ts;
 * its notes here: a note goes into the session's metadata, which `troupe serve` returns to MCP
 * clients (`structuredContent.session.notes`) and logs, so one that names the key leaks it to all.
 */

/**
 * The key itself when the caller gave it (a credential masked some other way is not a leak: until
 * 2026-12-05 `Bearer ********` counted, against docs/testing.md's `apiKey` row), else any `Bearer`
 * credential not `[redacted]`.
 */
export function keyIn(text: string, apiKey: string | undefined): string | undefined {
  if (apiKey !== undefined && apiKey.length > 0) return text.includes(apiKey) ? 'the key' : undefined;
  const bearer = /Bearer\s+(?!\[redacted\])([^\s)'"`\\]{6,})/i.exec(text);
  return bearer === null ? undefined : `\`Bearer ${bearer[1]?.slice(0, 4)}…\``;
}

/**
 * A message when a note (`ChatResponse.notes`, or a stream's `note` deltas) carries the key; until
 * 2026-12-05 only error texts were searched, and an adapter that noted the key it sent passed.
 */
export function noteLeak(
  notes: readonly unknown[] | undefined,
  apiKey: string | undefined,
): string | undefined {
  for (const [i, note] of (notes ?? []).entries()) {
    const leak = typeof note === 'string' ? keyIn(note, apiKey) : undefined;
    if (leak !== undefined)
      return `Expected no note to carry the API key (notes go into the session's metadata, which clients and logs read), got ${leak} in note #${i}`;
  }
  return undefined;
}
