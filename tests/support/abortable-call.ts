/**
 * A tool call the test can abort on the client (the SDK client then sends `notifications/cancelled`),
 * and how it ended: `'answered'`, `'error'` (a tool error result) or `'rejected'` (the call threw).
 */
import type { Client } from '@modelcontextprotocol/client';

export function abortableCall(client: Client, name: string, args: Record<string, unknown>) {
  const controller = new AbortController();
  const result = client
    .callTool({ name, arguments: args }, { signal: controller.signal })
    .then((r) => (r.isError ? 'error' : 'answered'))
    .catch(() => 'rejected');
  return { result, cancel: () => controller.abort() };
}
