/**
 * Raw HTTP for the fuzz suite (node:http, so `Host` and odd headers go out as generated) and the
 * check every answer must pass: a well-formed JSON-RPC answer, an empty 202, or a 4xx; never 5xx.
 */
import { request } from 'node:http';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export function send(
  url: URL,
  init: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: init.method ?? 'POST',
        path: init.path ?? url.pathname,
        headers: init.headers ?? {},
        // A fresh connection each time: Node's server closes a keep-alive connection whose request
        // body was still arriving when it answered (any early 4xx), and a reused socket then
        // reads as "socket hang up" though the server is fine.
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body,
          });
        res.on('end', done);
        res.on('close', done);
      },
    );
    // A standing stream (SSE) that has said what it had is cut here; what came is judged.
    req.setTimeout(8000, () => req.destroy());
    req.on('error', (error) => reject(error));
    req.end(init.body);
  });
}

/** Why the answer breaks the fuzz invariants, or `undefined`. */
export function problemWith(answer: Answer, onMcp: boolean): string | undefined {
  if (answer.status >= 500) return `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (answer.status === 0) return 'no status';
  if (!onMcp || answer.body === '') return undefined;
  if (answer.contentType.includes('text/event-stream')) {
    for (const line of answer.body.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '') continue;
      const bad = rpcProblem(data, true);
      if (bad !== undefined) return `SSE: ${bad}`;
    }
    return undefined;
  }
  if (answer.contentType.includes('application/json')) return rpcProblem(answer.body, answer.status < 300);
  return answer.status < 300 ? `2xx with ${answer.contentType}` : undefined;
}

function rpcProblem(text: string, mustBeRpc: boolean): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  if (!mustBeRpc) return undefined;
  for (const m of Array.isArray(value) ? value : [value]) {
    if (m === null || typeof m !== 'object') return `not an object: ${text.slice(0, 200)}`;
    const o = m as Record<string, unknown>;
    if (o.jsonrpc !== '2.0') return `jsonrpc is not "2.0": ${text.slice(0, 200)}`;
    const isResponse = 'id' in o && ('result' in o || 'error' in o);
    const isNotification = typeof o.method === 'string';
    if (!isResponse && !isNotification) return `neither a response nor a notification: ${text.slice(0, 200)}`;
    if ('error' in o) {
      const e = o.error as { code?: unknown; message?: unknown };
      if (typeof e?.code !== 'number' || typeof e.message !== 'string')
        return `malformed error: ${text.slice(0, 200)}`;
    }
  }
  return undefined;
}
