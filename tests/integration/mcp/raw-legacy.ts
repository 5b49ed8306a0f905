/**
 * A raw 2025-era client over `fetch`, for tests that need the wire (a stream cut, a cancellation
 * POSTed on its own, an oversized handshake): the headers, a POST, the `initialize` request and the
 * whole handshake.
 */
export const HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

export function post(
  url: URL,
  sid: string | undefined,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }) },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** An `initialize` request, with `capabilities` as given. */
export function initializeRequest(capabilities: Record<string, unknown> = {}) {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1' } },
  };
}

/** `initialize` then `notifications/initialized`; resolves with the session's id. */
export async function openSession(url: URL): Promise<string> {
  const init = await post(url, undefined, initializeRequest());
  const sid = init.headers.get('mcp-session-id') as string;
  await init.text();
  await (await post(url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  return sid;
}

/** Reads `response` to its end; `undefined` if it is still open after `ms`. */
export async function ended(response: Response, ms: number): Promise<string | undefined> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  for (;;) {
    const next = await Promise.race([
      reader.read(),
      new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), Math.max(0, deadline - Date.now()))),
    ]);
    if (next === 'open') {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    if (next.done) return text;
    text += decoder.decode(next.value, { stream: true });
  }
}
