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
}

/** Resolves a request to the provider and model that will serve it, or throws a `TroupeError`. */
export type Router = (request: SessionRequest) => { readonly provider: string; readonly model: string };
