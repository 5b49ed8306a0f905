/**
 * Where the API key shows up in what an adapter gives back. Its errors are searched in errors.ts;
 * its notes here: a note goes into the session's metadata, which `troupe serve` returns to MCP
 * clients (`structuredContent.session.notes`) and logs, so one that names the key leaks it to all.
 */

/**
 * The key when the caller gave it, whole or in part: half of it or more in a row (at least 8
 * characters) counts, as a key cut short is still most of a key (until 2026-12-07 only the whole
 * key did, and an error that quoted the server's echo cut at 60 characters, the key's last three
 * lost, passed). A credential masked some other way is not a leak (until 2026-12-05 `Bearer
 * ********` counted, against docs/testing.md's `apiKey` row), nor is a mask's few characters of it
 * (`sk-…cdef`). Without the key: any `Bearer` credential not `[redacted]`.
 */
export function keyIn(text: string, apiKey: string | undefined): string | undefined {
  if (apiKey !== undefined && apiKey.length > 0) return partIn(text, apiKey);
  const bearer = /Bearer\s+(?!\[redacted\])([^\s)'"`\\]{6,})/i.exec(text);
  return bearer === null ? undefined : `\`Bearer ${bearer[1]?.slice(0, 4)}…\``;
}

/** The shortest run of the key that counts as a leak: half of it, and never under 8 characters. */
const leakRun = (apiKey: string): number => Math.max(8, Math.ceil(apiKey.length / 2));

function partIn(text: string, apiKey: string): string | undefined {
  if (text.includes(apiKey)) return 'the key';
  const run = leakRun(apiKey);
  for (let start = 0; start + run <= apiKey.length; start += 1) {
    if (!text.includes(apiKey.slice(start, start + run))) continue;
    let end = start + run;
    while (end < apiKey.length && text.includes(apiKey.slice(start, end + 1))) end += 1;
    return `part of the key (\`${apiKey.slice(start, start + 4)}…\`, ${end - start} of its ${apiKey.length} characters in a row)`;
  }
  return undefined;
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
