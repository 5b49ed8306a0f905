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
        providers.size === 0
          ? 'Expected a provider, got a runtime without any (`providers` in createRuntime is empty): it runs only tasks (`run`)'
          : 'Expected `provider` (there are several and no default), got none; name one in the request or set `defaults.provider` in createRuntime',
      );
    }
    const model = request.model ?? defaults.model;
    if (model === undefined || model === '') {
      throw runtimeError(
        'INVALID_REQUEST',
        'Expected `model` (there is no default), got none; name one in the request or set `defaults.model` in createRuntime',
      );
    }
    return { provider, model };
  };
}

/**
 * The request as the provider sees it: the routed model, without troupe's own fields (`provider`,
 * `stream`, `fallbacks`). Until 2026-12-07 `fallbacks` stayed in it: never sent, yet held while it
 * waited and counted in its bytes (`limits.maxQueuedBytes`), so a request near the bound was
 * refused for bytes no provider would get.
 */
export function chatRequest(request: SessionRequest, model: string): ChatRequest {
  // Copied key by key into a literal: rest-destructuring with excluded keys makes a
  // dictionary-mode object in V8 (about 450 bytes held per queued session), `delete` does too,
  // and spread-and-add is far slower.
  const out: Record<string, unknown> = { model };
  for (const key in request) {
    if (
      key !== 'provider' &&
      key !== 'stream' &&
      key !== 'model' &&
      key !== 'fallbacks' &&
      Object.hasOwn(request, key)
    )
      out[key] = request[key as keyof SessionRequest];
  }
  return out as unknown as ChatRequest;
}

export function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message) return `the caller's signal aborted (${reason.message})`;
  if (typeof reason === 'string' && reason) return `the caller's signal aborted (${reason})`;
  return "the caller's signal aborted";
}

/** The default reporter for errors nobody else can handle (a throwing subscriber). */
export { warnListenerError as reportError } from '../core/listener-warning.js';
