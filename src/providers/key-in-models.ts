/**
 * A provider's key pasted into a model setting (`defaults.model`, `TROUPE_DEFAULT_MODEL`, a
 * provider's `defaultModel` or a `models` id): refused where the settings are read. A model id is
 * no secret: it goes into every call's metadata, tool result and `list_models`, to every client.
 * Until 2026-12-07 such a key was served as the default model and shown in each answer's `model`.
 */
import type { ProviderEntry } from './registry.js';

/** Shorter text is no key the scrub would catch either (see security.md, "Keys"). */
const MIN_KEY_LENGTH = 8;

/**
 * Why loading stops, or `undefined`: the first model setting that holds one of `keys`, named by
 * `defaultSetting` (where the default model came from) or by the provider whose setting it is.
 */
export function keyInModels(
  keys: readonly (string | undefined)[],
  entries: readonly ProviderEntry[],
  defaultModel: string | undefined,
  defaultSetting: string,
): string | undefined {
  const secrets = keys.filter((k): k is string => k !== undefined && k.length >= MIN_KEY_LENGTH);
  const holds = (model: string | undefined) => model !== undefined && secrets.some((k) => model.includes(k));
  const refused = (where: string) =>
    `${where}: Expected a model id, got a provider's API key (not shown): a model id is shown to every client; put the key in its variable`;
  if (holds(defaultModel)) return refused(defaultSetting);
  for (const entry of entries) {
    if (holds(entry.defaultModel)) return refused(`provider \`${entry.name}\` defaultModel`);
    if (entry.models.some((m) => holds(m.id))) return refused(`provider \`${entry.name}\` models`);
  }
  return undefined;
}
