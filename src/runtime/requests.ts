/**
 * Small request helpers: the default router, the chat request a provider sees, and reasons.
 */
import { runtimeError } from '../core/errors.js';
import type { ChatRequest } from '../providers/port.js';
import type { SessionRequest } from './types.js';

export function defaultRouter(
  providers: ReadonlyMap<string, unknown>,
  defaults: { provider: string | undefined; model: string | undefined },
) {
  const only = providers.size === 1 ? [...providers.keys()][0] : undefined;
  return (request: SessionRequest) => {
    const provider = request.provider ?? defaults.provider ?? only;
    if (provider === undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        'Expected `provider` (there are several and no default), got none',
      );
    }
    const model = request.model ?? defaults.model;
    if (model === undefined || model === '') {
      throw runtimeError('INVALID_REQUEST', 'Expected `model` (there is no default), got none');
    }
    return { provider, model };
  };
}

/** The request as the provider sees it: the routed model, without troupe's own fields. */
export function chatRequest(request: SessionRequest, model: string): ChatRequest {
  // Rest-destructure, then set: `delete` would leave a slow dictionary-mode object and
  // spread-and-add is far slower in V8; this runs once per session.
  const { provider: _provider, stream: _stream, model: _model, ...chat } = request;
  const out = chat as Omit<SessionRequest, 'provider' | 'stream' | 'model'> & { model?: string };
  out.model = model;
  return out as ChatRequest;
}

export function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message) return `the caller's signal aborted (${reason.message})`;
  if (typeof reason === 'string' && reason) return `the caller's signal aborted (${reason})`;
  return "the caller's signal aborted";
}

/** The default reporter for errors nobody else can handle (a throwing subscriber). */
export function reportError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'TROUPE_LISTENER_ERROR' });
}
