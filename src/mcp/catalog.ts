/**
 * The one place the MCP front reads the provider registry: it turns `registry.list()` into the
 * catalog `list_models` shows. (Types only from `src/providers/registry`; no adapter is imported.)
 */
import type { ModelRegistry } from '../providers/registry.js';
import type { ModelCatalog } from './context.js';

export function catalogFromRegistry(
  registry: Pick<ModelRegistry, 'list'> & Partial<Pick<ModelRegistry, 'refresh' | 'resolve'>>,
  options: { readonly defaults?: { provider?: string; model?: string }; readonly simulated?: boolean } = {},
): ModelCatalog {
  return {
    list: () =>
      registry.list().map((p) => ({
        name: p.name,
        configured: p.configured,
        models: p.models.map((m) => ({
          id: m.id,
          ...(m.contextWindow === null ? {} : { contextWindow: m.contextWindow }),
          ...(m.learnedWindow === undefined ? {} : { learnedWindow: m.learnedWindow }),
        })),
      })),
    ...(registry.refresh === undefined
      ? {}
      : {
          refresh: async (provider: string, refreshOptions: { readonly signal: AbortSignal }) => {
            await registry.refresh?.(provider, refreshOptions);
          },
        }),
    ...(registry.resolve === undefined
      ? {}
      : {
          // The runtime's router is `registry.router`, this same `resolve`: one answer for both.
          lacks: (provider: string, model: string) => {
            try {
              registry.resolve?.({ provider, model });
              return false;
            } catch (error) {
              return (error as { code?: unknown }).code === 'MODEL_NOT_FOUND';
            }
          },
        }),
    defaults: { ...(options.defaults ?? {}) },
    simulated: options.simulated ?? false,
  };
}
