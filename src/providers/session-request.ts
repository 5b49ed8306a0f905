/**
 * A chat request as a caller submits it, before routing, and the router type that resolves it to
 * a provider and model. Here, beside the `ChatProvider` port, because both the runtime (which
 * routes) and the model registry (which is a router) need them, and providers sit inside the
 * runtime: the registry must not import the runtime. `src/runtime/types.ts` re-exports both.
 */
import type { ChatRequest } from './port.js';

/** A chat request as submitted: provider and model may come from the runtime's defaults. */
export interface SessionRequest extends Omit<ChatRequest, 'model'> {
  /** Provider name; defaults to `defaults.provider`, or the only provider. */
  readonly provider?: string;
  /** Model id; defaults to `defaults.model`. */
  readonly model?: string;
  /** Stream the answer (deltas reach `handle.events` and subscribers). @default false */
  readonly stream?: boolean;
  /**
   * Where the session goes if its target cannot serve it, in order (docs/routing.md); at most
   * `MAX_FALLBACKS`. @default the model's `fallbacks` in the providers file, else none
   */
  readonly fallbacks?: readonly FallbackTarget[];
}

/** A fallback: a model, on a named provider or on whichever serves it. */
export interface FallbackTarget {
  readonly provider?: string;
  readonly model: string;
}

/** Where a router sends a request, with what it knows of that model. */
export interface RoutedTarget {
  readonly provider: string;
  readonly model: string;
  /** The model's context window, in tokens, when known: the request is checked against it. */
  readonly contextWindow?: number;
  /** The completion budget the provider applies when a request gives no `max_tokens`, in tokens. */
  readonly defaultMaxTokens?: number;
  /** The model's default fallbacks (used when the request names none). */
  readonly fallbacks?: readonly FallbackTarget[];
}

/** Resolves a request to the provider and model that will serve it, or throws a `TroupeError`. */
export type Router = (request: SessionRequest) => RoutedTarget;
