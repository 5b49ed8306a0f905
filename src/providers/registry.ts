/**
 * The model registry: which provider serves which model, with context windows and capabilities.
 * It resolves a request's `{ provider?, model? }` before any network call, so an unknown model
 * fails fast with `MODEL_NOT_FOUND`, and it is the runtime's `router`.
 */
import { steadyClock } from '../core/clock.js';
import { providerError, runtimeError } from '../core/errors.js';
import type { FallbackTarget, RoutedTarget, Router, SessionRequest } from './session-request.js';

export interface ModelCapabilities {
  readonly streaming: boolean;
  readonly tools: boolean;
  /** Emits `reasoning_content` or accepts `thinking`. */
  readonly thinking: boolean;
  /** Has a files API for multi-file chat (others inline file text). */
  readonly files: boolean;
  /** Reads images (vision models). */
  readonly vision: boolean;
}

export interface ModelSpec {
  readonly id: string;
  /** Context window, in tokens, when known. */
  readonly contextWindow?: number;
  /** @default streaming and tools on, thinking, files and vision off */
  readonly capabilities?: Partial<ModelCapabilities>;
  /** The completion budget troupe sends when a request gives none, in tokens. @default the vendor's */
  readonly defaultMaxTokens?: number;
  /** Where a request for this model goes when it cannot be served (docs/routing.md). @default none */
  readonly fallbacks?: readonly FallbackTarget[];
}

export interface ProviderEntry {
  readonly name: string;
  /** Whether the provider can be called (its key is set). Unconfigured ones are listed, not served. */
  readonly configured: boolean;
  readonly models: readonly ModelSpec[];
  /** Model used when a request names none. @default the first listed model */
  readonly defaultModel?: string;
  /** Passes any model id through, listed or not. @default true when `models` is empty */
  readonly openModels?: boolean;
  /** Why it is not configured, e.g. "set MOONSHOT_API_KEY"; shown in errors. */
  readonly hint?: string;
}

/**
 * One model as a vendor's `GET /models` lists it: its id and, when the vendor says, its window and
 * capabilities (Moonshot: `context_length`, `supports_reasoning`, `supports_image_in`).
 */
export interface VendorModel {
  readonly id: string;
  readonly contextWindow?: number;
  readonly capabilities?: Partial<ModelCapabilities>;
}

export interface ListedModel {
  readonly id: string;
  readonly contextWindow: number | null;
  readonly capabilities: ModelCapabilities;
  /** Present and `true` for an id only the vendor's `/models` listed (its window and capabilities as the vendor said, if it did). */
  readonly fromVendor?: boolean;
  /** The window this process learned from the vendor's overflow refusal, under `contextWindow`: routing checks calls against it. */
  readonly learnedWindow?: LearnedWindow;
}

/** A window a vendor stated refusing a call for its length, kept by the adapter (`stated-window.ts`). */
export interface LearnedWindow {
  /** In tokens. */
  readonly tokens: number;
  /** When it was learned, epoch ms (wall clock). */
  readonly learnedAt: number;
  /** The vendor's words that stated it, e.g. "exceeded model token limit: 262144". */
  readonly stated: string;
}

export interface ListedProvider {
  readonly name: string;
  readonly configured: boolean;
  readonly defaultModel: string | null;
  readonly openModels: boolean;
  readonly models: readonly ListedModel[];
}

export interface Resolved {
  readonly provider: string;
  readonly model: string;
}

export interface ModelRegistry {
  resolve(request: { readonly provider?: string; readonly model?: string }): Resolved;
  /** For the MCP `list_models` tool: every provider, configured or not. */
  list(): readonly ListedProvider[];
  /** A model's spec, when listed. */
  lookup(provider: string, model: string): ListedModel | undefined;
  /** `resolve` in the runtime's `Router` shape. */
  readonly router: Router;
  /**
   * Asks the provider for its live model ids (`GET /models`) and adds the ones the catalogue lacks
   * to `list()`. Cached per provider for `modelsCacheMs`; present only when a fetcher was given.
   */
  refresh?(provider: string, options: { readonly signal: AbortSignal }): Promise<ListedProvider>;
}

export interface RegistryOptions {
  readonly defaultProvider?: string;
  /**
   * The model a request that names none gets from `defaultProvider` (`defaults.model`,
   * `TROUPE_DEFAULT_MODEL`), before that provider's own `defaultModel` or first listed model.
   */
  readonly defaultModel?: string;
  /** Fetches a provider's live models (ids, or ids with what the vendor says of them); enables `refresh`. */
  readonly fetchModels?: (
    provider: string,
    signal: AbortSignal,
  ) => Promise<readonly (string | VendorModel)[]>;
  /**
   * The window a provider's vendor stated for a model in an overflow refusal, under the catalogue's
   * (`OpenAICompatibleProvider.learnedWindow`): routing checks calls to the model against it, and
   * `list()` shows it beside the catalogue's. @default none
   */
  readonly learnedWindow?: (provider: string, model: string) => LearnedWindow | undefined;
  /** How long fetched ids are reused, in ms. @default 600000 (10 minutes) */
  readonly modelsCacheMs?: number;
  /** What the cache's age is measured on. @default steadyClock.now */
  readonly now?: () => number;
}

const DEFAULT_CAPABILITIES: ModelCapabilities = {
  streaming: true,
  tools: true,
  thinking: false,
  files: false,
  vision: false,
};

export function createModelRegistry(
  entries: readonly ProviderEntry[],
  options: RegistryOptions = {},
): ModelRegistry {
  const fetched = new Map<string, { readonly at: number; readonly models: readonly VendorModel[] }>();
  const now = options.now ?? steadyClock.now;
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const isOpen = (entry: ProviderEntry) => entry.openModels ?? entry.models.length === 0;
  const defaultModelOf = (entry: ProviderEntry) =>
    (entry.name === options.defaultProvider ? options.defaultModel : undefined) ??
    entry.defaultModel ??
    entry.models[0]?.id;

  function requireConfigured(entry: ProviderEntry): void {
    if (!entry.configured) {
      throw providerError(
        'NOT_CONFIGURED',
        `Expected provider \`${entry.name}\` to be configured${entry.hint === undefined ? '' : ` (${entry.hint})`}, got no API key`,
      );
    }
  }

  function inProvider(entry: ProviderEntry, model: string | undefined): Resolved {
    requireConfigured(entry);
    const chosen = model ?? defaultModelOf(entry);
    if (chosen === undefined) {
      throw providerError(
        'MODEL_NOT_FOUND',
        `Expected a model for provider \`${entry.name}\`, got none: name one in the request (\`troupe ask --model\`, a tool's \`model\`), or give the provider a default (\`defaultModel\` in the providers file; TROUPE_DEFAULT_MODEL for the default provider)`,
      );
    }
    if (!isOpen(entry) && !entry.models.some((m) => m.id === chosen)) {
      const known = entry.models.map((m) => m.id).join(', ');
      throw providerError(
        'MODEL_NOT_FOUND',
        `Expected a model served by \`${entry.name}\` (${known}), got ${JSON.stringify(chosen)}`,
      );
    }
    return { provider: entry.name, model: chosen };
  }

  function resolve(request: { readonly provider?: string; readonly model?: string }): Resolved {
    if (request.provider !== undefined) {
      const entry = byName.get(request.provider);
      if (entry === undefined) {
        throw runtimeError(
          'UNKNOWN_PROVIDER',
          `Expected one of the providers ${[...byName.keys()].map((n) => `\`${n}\``).join(', ')}, got ${JSON.stringify(request.provider)}`,
        );
      }
      return inProvider(entry, request.model);
    }
    if (request.model !== undefined) {
      const model = request.model;
      const listing = entries.filter((e) => e.models.some((m) => m.id === model));
      const served = listing.find((e) => e.configured);
      if (served !== undefined) return { provider: served.name, model };
      const fallback =
        options.defaultProvider === undefined ? undefined : byName.get(options.defaultProvider);
      if (fallback?.configured && isOpen(fallback)) return { provider: fallback.name, model };
      const open = entries.find((e) => e.configured && isOpen(e));
      if (open !== undefined) return { provider: open.name, model };
      if (listing[0] !== undefined) requireConfigured(listing[0]);
      throw providerError(
        'MODEL_NOT_FOUND',
        `Expected a model some configured provider serves, got ${JSON.stringify(model)}`,
      );
    }
    const fallback =
      (options.defaultProvider === undefined ? undefined : byName.get(options.defaultProvider)) ??
      entries.find((e) => e.configured);
    if (fallback === undefined) {
      throw runtimeError('UNKNOWN_PROVIDER', 'Expected at least one configured provider, got none');
    }
    return inProvider(fallback, undefined);
  }

  // Every listed model's routed target, made once: routing runs on every submit.
  const routed = new Map<string, Map<string, RoutedTarget>>();
  // `refresh`'s fetch in flight, and its last failure, by provider.
  const inflight = new Map<string, Fetching>();
  const failed = new Map<string, { readonly at: number; readonly error: unknown }>();
  for (const entry of entries) {
    const byModel = new Map<string, RoutedTarget>();
    for (const spec of entry.models) {
      const out: { -readonly [K in keyof RoutedTarget]: RoutedTarget[K] } = {
        provider: entry.name,
        model: spec.id,
      };
      if (spec.contextWindow !== undefined) out.contextWindow = spec.contextWindow;
      if (spec.defaultMaxTokens !== undefined) out.defaultMaxTokens = spec.defaultMaxTokens;
      if (spec.fallbacks !== undefined && spec.fallbacks.length > 0) out.fallbacks = spec.fallbacks;
      if (!byModel.has(spec.id)) byModel.set(spec.id, Object.freeze(out));
    }
    routed.set(entry.name, byModel);
  }

  /** A resolved target with what the catalogue knows of its model: window, default budget, fallbacks. */
  function withSpec(target: Resolved): RoutedTarget {
    const known: RoutedTarget = routed.get(target.provider)?.get(target.model) ?? target;
    const learned = learnedOf(target.provider, target.model, known.contextWindow);
    return learned === undefined ? known : { ...known, contextWindow: learned.tokens };
  }

  /** The window routing takes from the provider for `model` over the catalogue's (`known`), if any. */
  function learnedOf(
    provider: string,
    model: string,
    known = routed.get(provider)?.get(model)?.contextWindow,
  ): LearnedWindow | undefined {
    const learned = options.learnedWindow?.(provider, model);
    // Only ever smaller: a larger figure from the provider is not taken over the catalogue's.
    return learned === undefined || learned.tokens >= (known ?? Number.POSITIVE_INFINITY)
      ? undefined
      : learned;
  }

  function listModel(spec: ModelSpec): ListedModel {
    return {
      id: spec.id,
      contextWindow: spec.contextWindow ?? null,
      capabilities: { ...DEFAULT_CAPABILITIES, ...(spec.capabilities ?? {}) },
    };
  }

  /** `listModel` with the window routing learned for it, beside the catalogue's (or the vendor's). */
  function listLearned(provider: string, listed: ListedModel): ListedModel {
    const learned = learnedOf(provider, listed.id);
    return learned === undefined ? listed : { ...listed, learnedWindow: { ...learned } };
  }

  function listEntry(entry: ProviderEntry): ListedProvider {
    const live = fetched.get(entry.name)?.models ?? [];
    // A catalogue entry stays as it is (the providers file can correct it); the rest, as the vendor said.
    const extra = live
      .filter((vendor) => !entry.models.some((m) => m.id === vendor.id))
      .map((vendor) => ({ ...listModel(vendor), fromVendor: true }));
    return {
      name: entry.name,
      configured: entry.configured,
      defaultModel: defaultModelOf(entry) ?? null,
      openModels: isOpen(entry),
      models: [...entry.models.map(listModel), ...extra].map((m) => listLearned(entry.name, m)),
    };
  }

  async function refresh(
    provider: string,
    { signal }: { readonly signal: AbortSignal },
  ): Promise<ListedProvider> {
    const entry = byName.get(provider);
    if (entry === undefined) {
      throw runtimeError(
        'UNKNOWN_PROVIDER',
        `Expected a provider to refresh, got ${JSON.stringify(provider)}`,
      );
    }
    requireConfigured(entry);
    const cached = fetched.get(provider);
    const maxAge = options.modelsCacheMs ?? 600_000;
    if (cached === undefined || now() - cached.at >= maxAge) await untilFetched(provider, signal);
    return listEntry(entry);
  }

  /**
   * One fetch of `provider`'s ids at a time, whoever asks meanwhile waiting for it: a caller's abort
   * ends its own wait, and the fetch once nobody waits. A failed fetch is the answer for
   * `MODELS_RETRY_MS`. Until 2026-12-05 each `list_models` refresh fetched while one was in flight,
   * and again at once after a failure: a client looping on it sent the vendor a request per call with
   * the server's key (an audit).
   */
  function untilFetched(provider: string, signal: AbortSignal): Promise<void> {
    const failure = failed.get(provider);
    if (failure !== undefined && now() - failure.at < MODELS_RETRY_MS) return Promise.reject(failure.error);
    let fetching = inflight.get(provider);
    if (fetching === undefined) {
      const fetchModels = options.fetchModels as NonNullable<RegistryOptions['fetchModels']>;
      const left = new AbortController();
      const done = fetchModels(
        provider,
        AbortSignal.any([left.signal, AbortSignal.timeout(MODELS_FETCH_MS)]),
      ).then(
        (listed) => {
          const models = listed.map((m) => (typeof m === 'string' ? { id: m } : m));
          fetched.set(provider, { at: now(), models });
          failed.delete(provider);
        },
        (error: unknown) => {
          // Not a failure to remember when it is its waiters who left.
          if (!left.signal.aborted) failed.set(provider, { at: now(), error });
          throw error;
        },
      );
      const current = { done, left, waiting: 0 };
      fetching = current;
      const settled = () => {
        if (inflight.get(provider) === current) inflight.delete(provider);
      };
      done.then(settled, settled);
      inflight.set(provider, current);
    }
    return waitFor(fetching, signal);
  }

  return {
    resolve,
    list: () => entries.map(listEntry),
    ...(options.fetchModels === undefined ? {} : { refresh }),
    lookup(provider, model) {
      const spec = byName.get(provider)?.models.find((m) => m.id === model);
      return spec === undefined ? undefined : listModel(spec);
    },
    router: (request: SessionRequest) => {
      const picked: { provider?: string; model?: string } = {};
      if (request.provider !== undefined) picked.provider = request.provider;
      if (request.model !== undefined) picked.model = request.model;
      return withSpec(resolve(picked));
    },
  };
}

/** How long one fetch of a provider's model ids may take, whoever waits for it. */
const MODELS_FETCH_MS = 30_000;
/** How long a failed fetch of a provider's model ids is the answer, before one is tried again. */
export const MODELS_RETRY_MS = 30_000;

/** A fetch of one provider's ids in flight: its end, the abort for when its last waiter leaves, how many wait. */
interface Fetching {
  readonly done: Promise<void>;
  readonly left: AbortController;
  waiting: number;
}

/** `fetching`'s end, or `signal`'s abort if it comes first; the last waiter to leave aborts the fetch. */
function waitFor(fetching: Fetching, signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    // Aborted while the fetch it started was being made: nobody else waits for it.
    if (fetching.waiting === 0) fetching.left.abort(signal.reason);
    return Promise.reject(signal.reason);
  }
  fetching.waiting++;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      fetching.waiting--;
      if (fetching.waiting === 0) fetching.left.abort(signal.reason);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    fetching.done.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
