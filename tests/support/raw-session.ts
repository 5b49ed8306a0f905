/**
 * A 2025-era MCP session over raw HTTP, for tests that read the wire itself (SSE ids, headers)
 * rather than what the SDK's client makes of it.
 */

/** The headers of every request of a 2025-era session (`Mcp-Session-Id` apart). */
export const LEGACY_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

/** POSTs one JSON-RPC message, in session `sid` when given, with `headers` (a token, say) added. */
export function postMcp(
  url: URL,
  sid: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...LEGACY_HEADERS, ...headers, ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }) },
    body: JSON.stringify(body),
  });
}

/** Opens a session (`initialize`, then `notifications/initialized`) and answers its id. */
export async function openLegacySession(url: URL, headers: Record<string, string> = {}): Promise<string> {
  const init = await postMcp(
    url,
    undefined,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    },
    headers,
  );
  const sid = init.headers.get('mcp-session-id') as string;
  await init.text();
  await (await postMcp(url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).text();
  return sid;
}
