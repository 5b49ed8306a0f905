/**
 * Whether a request names one host, before any Host check (DNS rebinding) reads it. Shared by
 * `troupe serve` (the MCP front, the dashboard, `/metrics`, the probes) and `troupe inspector`.
 *
 * - RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
 *   request message that lacks a Host header field and to any request message that contains more
 *   than one Host header field". Node answers the first itself but takes the second, and its
 *   `headers.host` is the first of them: `Host: localhost` then `Host: evil.example` passed a check
 *   of `localhost`, while a proxy or log that keeps the last saw `evil.example` (until 2026-12-07).
 * - RFC 9112 §3.2.2: with an absolute-form target (`GET http://name/path`) the target's authority
 *   replaces Host, so a Host check read the field the request overrides; such a target whose
 *   authority differs from Host is refused too, and an agreeing one is checked as Host is.
 *
 * Pure: it reads Node's `rawHeaders` (every field, in order, as name and value) and the target.
 */

/** Why the request is a 400, in one line; `undefined` to go on to the Host check. */
export function hostFieldsProblem(
  rawHeaders: readonly string[],
  target: string | undefined,
): string | undefined {
  const hosts: string[] = [];
  // Node's `rawHeaders` holds each field as a name and its value, so its length is even.
  for (let i = 0; i < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === 'host') hosts.push(rawHeaders[i + 1] as string);
  if (hosts.length > 1)
    return `Bad Request: expected one Host header, got ${hosts.length} (${hosts.map((h) => JSON.stringify(h)).join(', ')}); RFC 9112 section 3.2`;
  const host = hosts[0];
  // Origin-form (`/path`) and asterisk-form (`*`) name no host; any other target is absolute-form.
  if (host === undefined || target === undefined || target.startsWith('/') || target === '*')
    return undefined;
  const authority = authorityOf(target);
  if (authority === undefined || authority !== authorityOf(`http://${host}`))
    return `Bad Request: expected the request target's host to be the Host header's ${JSON.stringify(host)}, got ${JSON.stringify(target)}; RFC 9112 section 3.2.2`;
  return undefined;
}

/** `host[:port]` as the URL standard writes it (lower case, the scheme's default port dropped). */
function authorityOf(url: string): string | undefined {
  return URL.parse(url)?.host;
}
