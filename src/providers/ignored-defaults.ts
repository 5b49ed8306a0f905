/**
 * The default provider and model settings that do not apply as given, said once at start (`serve`,
 * `stdio`, `troupe config`, `troupe ask`): with no key set, those the simulated provider cannot
 * honour; with keys set, a default provider without its key, or a default model only providers
 * without a key list.
 */
import type { ProviderEntry } from './registry.js';
import { SIMULATED_MODELS } from './simulated.js';

/** A setting that does not apply, and why (`${setting} ${why}` reads as one line). */
export interface IgnoredSetting {
  readonly setting: string;
  readonly why: string;
}

/**
 * With no key set, which defaults the simulated provider cannot honour: a default provider other
 * than `simulated`, or a default model it lacks (the caller says them at start; they were dropped
 * unseen before). `source` names the setting each came from.
 */
export function ignoredSimulatedDefaults(
  provider: string | undefined,
  model: string | undefined,
  source: (key: 'provider' | 'model') => string,
): IgnoredSetting[] {
  const ignored: IgnoredSetting[] = [];
  const ids = SIMULATED_MODELS.map((m) => m.id);
  if (provider !== undefined && provider !== 'simulated')
    ignored.push({
      setting: source('provider'),
      why: `${JSON.stringify(provider)} is ignored: no provider key is set, so the simulated provider serves every call; set that provider's key to use it`,
    });
  if (model !== undefined && !ids.includes(model as (typeof ids)[number]))
    ignored.push({
      setting: source('model'),
      why: `${JSON.stringify(model)} is ignored: no provider key is set, and the simulated provider's models are ${ids.join(', ')}; calls naming no model get ${ids[0]}`,
    });
  return ignored;
}

/**
 * The defaults to say at start: the simulated provider's (no key set), else an unkeyed default
 * provider, or a default model only unkeyed providers list. `chosen` is the default provider calls
 * naming none go to.
 */
export function ignoredDefaults(
  simulated: boolean,
  entries: readonly ProviderEntry[],
  provider: string | undefined,
  model: string | undefined,
  source: (key: 'provider' | 'model') => string,
  chosen: string | undefined,
): IgnoredSetting[] {
  return simulated
    ? ignoredSimulatedDefaults(provider, model, source)
    : [
        ...unkeyedDefaultProvider(entries, provider, source),
        ...unkeyedDefaultModel(entries, model, source, chosen),
      ];
}

/**
 * With keys set, a default model only providers with no key list (`glm-4.6` with only Kimi's key):
 * calls naming no model take it to the configured default provider, which does not list it, so it is
 * said at start, naming the provider that lists it and its variable. Not when the default provider
 * has no key (said above) or lists no models (it may serve any). Until 2026-12-07 nothing was said.
 */
function unkeyedDefaultModel(
  entries: readonly ProviderEntry[],
  model: string | undefined,
  source: (key: 'provider' | 'model') => string,
  chosen: string | undefined,
): IgnoredSetting[] {
  const lists = (e: ProviderEntry) => e.models.some((m) => m.id === model);
  const target = entries.find((e) => e.name === chosen);
  if (model === undefined || target === undefined || !target.configured || target.models.length === 0)
    return [];
  const lister = entries.find((e) => !e.configured && lists(e));
  if (lister === undefined || entries.some((e) => e.configured && lists(e))) return [];
  return [
    {
      setting: source('model'),
      why: `${JSON.stringify(model)} is listed only by ${JSON.stringify(lister.name)}, which has no API key: calls naming no model go to ${JSON.stringify(target.name)}, which does not list it; ${lister.hint ?? 'set its key'}`,
    },
  ];
}

/**
 * With keys set, a default provider (TROUPE_DEFAULT_PROVIDER, the file's `defaults.provider`) that
 * has none of its own: said at start, beside the simulated provider's ignored defaults, since every
 * call naming no provider fails `NOT_CONFIGURED` while calls naming another still work. Until
 * 2026-12-07 nothing was said before the first such call.
 */
function unkeyedDefaultProvider(
  entries: readonly ProviderEntry[],
  provider: string | undefined,
  source: (key: 'provider' | 'model') => string,
): IgnoredSetting[] {
  const entry = entries.find((e) => e.name === provider);
  if (entry === undefined || entry.configured) return [];
  return [
    {
      setting: source('provider'),
      why: `${JSON.stringify(entry.name)} has no API key: calls naming no provider fail with NOT_CONFIGURED (calls naming another provider still work); ${entry.hint ?? 'set its key'}`,
    },
  ];
}
