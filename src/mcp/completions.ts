/**
 * Completion values for prompt arguments and resource template parameters: provider names and
 * model ids from the catalog, session ids, chart names. Each returns at most `MAX` values that
 * start with what the user typed (case-insensitive), in catalog order.
 */
import type { McpContext } from './context.js';

const MAX = 100;

function starting(values: Iterable<string>, typed: string): string[] {
  const prefix = typed.toLowerCase();
  const out: string[] = [];
  for (const value of new Set(values)) {
    if (value.toLowerCase().startsWith(prefix)) out.push(value);
    if (out.length === MAX) break;
  }
  return out;
}

export function completeProvider(mcp: McpContext, typed: string): string[] {
  return starting(
    mcp.catalog.list().map((p) => p.name),
    typed,
  );
}

/** Model ids; only the given provider's when `provider` names one the catalog has. */
export function completeModel(mcp: McpContext, typed: string, provider?: string): string[] {
  const providers = mcp.catalog.list();
  const chosen = providers.filter((p) => p.name === provider);
  return starting(
    (chosen.length > 0 ? chosen : providers).flatMap((p) => p.models.map((m) => m.id)),
    typed,
  );
}

/**
 * The longest model list completed: 16 `provider/model` pairs of 256 characters. Past it, nothing
 * is offered (each value would repeat the list: up to 100 times what the client sent).
 */
export const MAX_TYPED_LIST = 4096;

/**
 * `provider/model` pairs, for arguments that name several models separated by commas: completes
 * the last one and keeps the ones before it.
 */
export function completeModelList(mcp: McpContext, typed: string): string[] {
  // Each value repeats what was typed before the last comma: a 1 MB list came back as 42 MB.
  if (typed.length > MAX_TYPED_LIST) return [];
  const cut = typed.lastIndexOf(',');
  const before = cut < 0 ? '' : `${typed.slice(0, cut + 1)}`;
  const last = typed.slice(cut + 1).trimStart();
  const spacer = cut < 0 || typed[cut + 1] !== ' ' ? '' : ' ';
  const pairs = mcp.catalog
    .list()
    .flatMap((p) => (p.models.length === 0 ? [p.name] : p.models.map((m) => `${p.name}/${m.id}`)));
  return starting(pairs, last).map((pair) => `${before}${spacer}${pair}`);
}

/**
 * Live and recent session ids. Completion requests carry no caller, so once a caller filter is set
 * (per-client scoping) no ids are offered at all rather than someone else's.
 */
export function completeSessionId(mcp: McpContext, typed: string): string[] {
  if (mcp.sessionFilter !== undefined) return [];
  const live = mcp.runtime.sessions().map((s) => s.sessionId);
  const recent = mcp.runtime.status().recent.map((s) => s.sessionId);
  return starting([...live, ...recent], typed);
}
