/**
 * The one file that reaches past the MCP SDK's public API. Nothing else in troupe may.
 *
 * troupe answers `tools/list` and `tools/call` for its own tools itself (`tool-calls.ts`), because
 * the SDK's `McpServer` handler can return only a `CallToolResult` while a task call returns a
 * `CreateTaskResult`. Tools that the host registers on the same `McpServer` must keep working, so
 * troupe's handlers pass every other name to the handlers `McpServer` installed. The SDK offers no
 * public way to read them: `_getRequestHandler` is protected, and `setToolRequestHandlers` (private)
 * is what makes `McpServer` install them before troupe does, so a tool registered later does not
 * hit "A request handler for tools/call already exists".
 *
 * `tests/unit/mcp/sdk-internals.test.ts` is the canary: it fails, naming what moved, when an SDK
 * upgrade renames or reshapes either member; the integration tests then show the damage.
 */
import type { McpServer, ServerContext, StandardSchemaV1 } from '@modelcontextprotocol/server';

/** A request handler as the SDK stores it: the raw JSON-RPC request in, the result out. */
export type StoredHandler = (
  request: { method: string; params?: unknown },
  ctx: ServerContext,
) => Promise<unknown>;

interface McpServerInternals {
  setToolRequestHandlers?: unknown;
  readonly server: { _getRequestHandler?: unknown };
}

/** Thrown when the SDK no longer has what this file relies on: upgrade troupe's use of it. */
export class SdkInternalsChanged extends Error {
  constructor(what: string) {
    super(
      `The MCP SDK changed: expected ${what}. troupe's tools/list and tools/call routing (src/mcp/sdk-internals.ts) needs updating for this SDK version.`,
    );
    this.name = 'SdkInternalsChanged';
  }
}

/**
 * Makes `McpServer` install its own `tools/list` and `tools/call` handlers (idempotent) and returns
 * them, so troupe's handlers can pass them every tool name that is not troupe's.
 */
export function mcpServerToolHandlers(server: McpServer): { list: StoredHandler; call: StoredHandler } {
  const internals = server as unknown as McpServerInternals;
  if (typeof internals.setToolRequestHandlers !== 'function') {
    throw new SdkInternalsChanged('McpServer#setToolRequestHandlers() to exist');
  }
  (internals.setToolRequestHandlers as () => void).call(server);
  const low = internals.server;
  if (typeof low._getRequestHandler !== 'function') {
    throw new SdkInternalsChanged('Server#_getRequestHandler(method) to exist');
  }
  const get = (method: string): StoredHandler => {
    const handler: unknown = (low._getRequestHandler as (m: string) => unknown).call(low, method);
    if (typeof handler !== 'function') {
      throw new SdkInternalsChanged(`McpServer to have installed a ${method} handler`);
    }
    return handler as StoredHandler;
  };
  return { list: get('tools/list'), call: get('tools/call') };
}

/**
 * Puts a params check in front of the handler `server` has for `method` (the SDK's, McpServer's or
 * troupe's), so a wrong param is refused with -32602 and `params`' own message before the SDK's
 * handler answers it -32603 with zod's dump (`spec-params.ts`). Reached through the same protected
 * `_getRequestHandler`; no handler, no check (the SDK answers "Method not found"). The handler is
 * re-registered with the SDK's three-argument form, which checks `params` and answers -32602; the
 * SDK's own wrapper for the method (input-required results, cache hints) then runs twice: the inner
 * run settles the result and the outer passes it through unchanged.
 */
export function checkParamsFirst(server: McpServer, method: string, params: StandardSchemaV1): void {
  const low = server.server as unknown as McpServerInternals['server'] & {
    setRequestHandler(
      method: string,
      schemas: { params: StandardSchemaV1 },
      handler: (params: unknown, ctx: ServerContext) => Promise<unknown>,
    ): void;
  };
  if (typeof low._getRequestHandler !== 'function') {
    throw new SdkInternalsChanged('Server#_getRequestHandler(method) to exist');
  }
  const handler: unknown = (low._getRequestHandler as (m: string) => unknown).call(low, method);
  if (typeof handler !== 'function') return;
  const stored = handler as StoredHandler;
  low.setRequestHandler(method, { params }, (checked, ctx) => stored({ method, params: checked }, ctx));
}

/**
 * The stream id the SDK's Streamable HTTP transport gives a session's standalone `GET` stream
 * (`_standaloneSseStreamId`, private; `'_GET_stream'` in SDK v2), read from a transport, so
 * `http-standing.ts` can tell a resume of that stream from a resume of a POST's.
 */
export function standaloneStreamId(transport: object): string {
  const inner = (transport as { _webStandardTransport?: { _standaloneSseStreamId?: unknown } })
    ._webStandardTransport;
  const id = inner?._standaloneSseStreamId;
  if (typeof id !== 'string') {
    throw new SdkInternalsChanged(
      'NodeStreamableHTTPServerTransport#_webStandardTransport._standaloneSseStreamId to be a string',
    );
  }
  return id;
}

/**
 * The request ids whose answers are still to go on `streamId` (the transport's private
 * `_requestToStreamMapping`, less the answers it holds in `_requestResponseMap` until the stream's
 * last one comes), read from a transport, so `http-disconnect.ts` knows which calls a
 * `Last-Event-ID` resume keeps, and which a closed resume cancels: until 2026-12-07 the answered
 * requests of a batch were cancelled too, each remembered as an early abort for 30 s.
 */
export function requestsOfStream(transport: object, streamId: string): (string | number)[] {
  const inner = (transport as { _webStandardTransport?: Record<string, unknown> })._webStandardTransport;
  const mapping = inner?._requestToStreamMapping;
  const answers = inner?._requestResponseMap;
  if (!(mapping instanceof Map) || !(answers instanceof Map)) {
    throw new SdkInternalsChanged(
      'NodeStreamableHTTPServerTransport#_webStandardTransport to keep _requestToStreamMapping and _requestResponseMap as Maps',
    );
  }
  const ids: (string | number)[] = [];
  for (const [id, stream] of mapping)
    if (stream === streamId && !answers.has(id)) ids.push(id as string | number);
  return ids;
}

/**
 * Lets the POST stream that carried `requestId` with other requests end without its answer: the
 * SDK sends none to a cancelled request, and its transport ends a POST's stream once every request
 * it carried is answered (`_requestToStreamMapping`, `_requestResponseMap`, `_streamMapping`, all
 * private), so the stream waited for the client to drop its connection. The id leaves the stream's
 * requests; when the others are answered already, the stream ends now, else with the last answer.
 */
export function endWithoutAnswer(transport: object, requestId: string | number): void {
  const inner = (transport as { _webStandardTransport?: Record<string, unknown> })._webStandardTransport;
  const mapping = inner?._requestToStreamMapping;
  const answers = inner?._requestResponseMap;
  const streams = inner?._streamMapping;
  if (!(mapping instanceof Map) || !(answers instanceof Map) || !(streams instanceof Map)) {
    throw new SdkInternalsChanged(
      'NodeStreamableHTTPServerTransport#_webStandardTransport to keep _requestToStreamMapping, _requestResponseMap and _streamMapping as Maps',
    );
  }
  const streamId: unknown = mapping.get(requestId);
  if (streamId === undefined || answers.has(requestId)) return;
  mapping.delete(requestId);
  const others = [...mapping].filter(([, stream]) => stream === streamId).map(([id]) => id);
  if (!others.every((id) => answers.has(id))) return;
  for (const id of others) {
    answers.delete(id);
    mapping.delete(id);
  }
  (streams.get(streamId) as { cleanup?: () => void } | undefined)?.cleanup?.();
}
