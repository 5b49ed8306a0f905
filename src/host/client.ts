/**
 * One remote MCP server's tool calls as troupe sessions: each `callTool` is queued in the server's
 * lane (its limit and priority), runs with a deadline, and the session's `AbortSignal` goes to the
 * SDK request, so a deadline or a cancellation sends the server `notifications/cancelled`.
 */
import type { CallToolRequest, CallToolResult, Progress, RequestOptions } from '@modelcontextprotocol/client';
import { describe, providerError, runtimeError, TroupeError, toErrorData } from '../core/errors.js';
import { jsonBytes } from '../core/json-bytes.js';
import { capString, MAX_NAME_CHARS } from '../core/metadata.js';
import { onlyKeys } from '../runtime/option-keys.js';
import type { Runtime, TaskResult } from '../runtime/types.js';

/** The part of an SDK v2 `Client` troupe uses. */
export interface ToolCaller {
  callTool(params: CallToolRequest['params'], options?: RequestOptions): Promise<CallToolResult>;
}

/** A completed call is `ok` even when the tool answered `isError: true`: the call itself worked. */
export type HostCallResult = TaskResult<CallToolResult>;

export interface HostCallOptions {
  /** 0 (lowest) to 9 (highest). @default the server's `priority` */
  readonly priority?: number;
  /** Run deadline, from admission, in ms; when it passes the remote call is cancelled. @default the server's `timeoutMs` */
  readonly timeoutMs?: number;
  /** Longest wait in the queue, in ms. @default the runtime's `defaults.queueTimeoutMs` (60000) */
  readonly queueTimeoutMs?: number;
  /** Aborting it cancels the session and the remote call. */
  readonly signal?: AbortSignal;
  /** Your id for the call; echoed in metadata. @default the session id */
  readonly requestId?: string;
  /** Echoed in the result's `metadata.caller`. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Progress notifications from the server for this call. */
  readonly onProgress?: (progress: Progress) => void;
}

export interface HostClientOptions {
  /** The lane whose limit (`limits.perProvider[lane]`) bounds calls to this server. */
  readonly lane: string;
  /** Tools that are safe to call again after a failure (idempotent); others run once. @default none */
  readonly retrySafe?: readonly string[] | ((tool: string) => boolean);
  /** Attempts in all for retry-safe tools, on connection loss or a server-side internal error. @default 3 */
  readonly maxAttempts?: number;
  /** @default 5 */
  readonly priority?: number;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

export interface HostClient {
  readonly lane: string;
  callTool(params: CallToolRequest['params'], options?: HostCallOptions): Promise<HostCallResult>;
}

/** How much later than the session's deadline the SDK's own request timeout fires, in ms. */
const SDK_TIMEOUT_MARGIN_MS = 1000;

// What wrapClient and callTool take, held to their interfaces at compile time: from JavaScript a
// misspelt `{ timeout: 200 }` used to be ignored, and the call ran under the 60 s default deadline.
const CLIENT_KEYS = {
  lane: true,
  retrySafe: true,
  maxAttempts: true,
  priority: true,
  timeoutMs: true,
} as const satisfies Record<keyof HostClientOptions, true>;
const CALL_KEYS = {
  priority: true,
  timeoutMs: true,
  queueTimeoutMs: true,
  signal: true,
  requestId: true,
  metadata: true,
  onProgress: true,
} as const satisfies Record<keyof HostCallOptions, true>;

export function wrapClient(client: ToolCaller, runtime: Runtime, options: HostClientOptions): HostClient {
  onlyKeys('wrapClient options', options, CLIENT_KEYS);
  const { lane } = options;
  // A lane named as one of the runtime's chat providers would share that provider's limit and
  // queue, and its calls would say that provider in their metadata (until 2026-12-05, silently).
  if (runtime.providers.includes(lane))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected a lane that is none of the runtime's chat providers (${runtime.providers.join(', ')}), got ${JSON.stringify(lane)}: its tool calls would share that provider's limit and queue; name the server otherwise`,
    );
  const safe = retryPolicy(options.retrySafe);
  const maxAttempts = options.maxAttempts ?? 3;
  return {
    lane,
    async callTool(params, call = {}) {
      // From JavaScript: `callTool(undefined)`, a name that is not text or `null` options threw out
      // of a call documented never to throw (library audit). Refused as any other bad call.
      const name = typeof params?.name === 'string' ? params.name : describe(params?.name);
      const priority = call?.priority ?? options.priority ?? 5;
      if (typeof params?.name !== 'string' || call === null || typeof call !== 'object') {
        const error = runtimeError(
          'INVALID_REQUEST',
          typeof params?.name !== 'string'
            ? `Expected \`callTool\`'s params to be { name, arguments? } with a string name, got ${describe(params)}`
            : `Expected \`callTool\`'s options to be an object, got ${describe(call)}`,
        );
        return { ok: false, error: toErrorData(error), metadata: refusedMetadata(lane, name, 5, error) };
      }
      const timeoutMs = call.timeoutMs ?? options.timeoutMs ?? 60_000;
      try {
        onlyKeys('callTool options', call, CALL_KEYS);
        const handle = runtime.run<CallToolResult>(
          async ({ signal, progress }) => {
            try {
              return await client.callTool(params, {
                signal,
                timeout: timeoutMs + SDK_TIMEOUT_MARGIN_MS,
                onprogress: (update) => {
                  progress(update.progress, update.total, update.message);
                  call.onProgress?.(update);
                },
              });
            } catch (error) {
              throw signal.aborted ? error : toHostError(error, lane, params.name);
            }
          },
          {
            lane,
            name: params.name,
            // The call's arguments wait with it: counted against `limits.maxQueuedBytes`.
            bytes: jsonBytes(params),
            // Observational: cut to what a session keeps, never refused for its length.
            label: capString(`${lane}/${params.name}`, MAX_NAME_CHARS),
            priority,
            timeoutMs,
            maxAttempts: safe(params.name) ? maxAttempts : 1,
            ...(call.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: call.queueTimeoutMs }),
            ...(call.signal === undefined ? {} : { signal: call.signal }),
            ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
            ...(call.metadata === undefined ? {} : { metadata: call.metadata }),
          },
        );
        return await handle.result;
      } catch (error) {
        // Refused at admission (QUEUE_FULL, SHUTTING_DOWN, INVALID_REQUEST): no session ran.
        return {
          ok: false,
          error: toErrorData(error),
          metadata: refusedMetadata(lane, params.name, priority, error),
        };
      }
    },
  };
}

function retryPolicy(retrySafe: HostClientOptions['retrySafe']): (tool: string) => boolean {
  if (retrySafe === undefined) return () => false;
  if (typeof retrySafe === 'function') return retrySafe;
  // A bare string used to become a set of its letters: `retrySafe: 'lookup'` retried no `lookup`.
  if (!Array.isArray(retrySafe) || retrySafe.some((name) => typeof name !== 'string')) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`retrySafe\` to be an array of tool names or a function, got ${JSON.stringify(retrySafe)}`,
    );
  }
  const names = new Set(retrySafe);
  return (tool) => names.has(tool);
}

/**
 * SDK failures as troupe errors: a lost connection or a server's internal error may pass on a
 * retry (for retry-safe tools only); a refused request will not.
 */
export function toHostError(error: unknown, lane: string, tool: string): TroupeError {
  if (error instanceof TroupeError) return error;
  const where = `${lane}/${tool}`;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SdkError: the transport or the local SDK failed.
    return providerError('NETWORK', `Expected an answer from ${where}, got ${code}: ${message}`, {
      cause: error,
      retryable: code !== 'INVALID_RESULT' && code !== 'CAPABILITY_NOT_SUPPORTED',
    });
  }
  if (typeof code === 'number') {
    // ProtocolError: the server answered with a JSON-RPC error.
    if (code === -32602 || code === -32601 || code === -32600) {
      return runtimeError('INVALID_REQUEST', `${where} refused the call: ${message}`, { cause: error });
    }
    return providerError('PROVIDER_UNAVAILABLE', `${where} failed: ${message}`, {
      cause: error,
      retryable: code === -32603,
    });
  }
  if (error instanceof Error && message === 'Not connected') {
    // The SDK client's request once its transport has closed (a plain Error, no code): the server
    // is gone, as a lost connection. Before, it read as BAD_RESPONSE, never retried.
    return providerError(
      'NETWORK',
      `Expected an answer from ${where}, got a closed connection (${message})`,
      {
        cause: error,
      },
    );
  }
  return providerError('BAD_RESPONSE', `${where} failed: ${message}`, { cause: error, retryable: false });
}

/** The metadata of a call refused before any session ran. */
export function refusedMetadata(
  lane: string,
  tool: string,
  priority: number,
  error: unknown,
): HostCallResult['metadata'] {
  return {
    sessionId: '',
    requestId: '',
    provider: lane,
    model: tool,
    priority,
    state: 'failed',
    queuedMs: 0,
    runMs: 0,
    totalMs: 0,
    attempts: 0,
    code: toErrorData(error).code,
  };
}
