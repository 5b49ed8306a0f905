/**
 * Small pieces of the HTTP front (`http.ts`): reading a header, the path and the caller of a
 * request, and answering with JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';

/** Who opened (or uses) a 2025-era session: its token's name, or `anonymous` without a token. */
export function callerName(req: IncomingMessage): string {
  return (req as IncomingMessage & { auth?: AuthInfo }).auth?.clientId ?? 'anonymous';
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The path of a request target, or `undefined` when it is not one (a bad target gets 404). */
export function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

export function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
