/**
 * `troupe models`: the providers this configuration knows, whether each has its key, and their
 * models with context windows; the one place a CLI user learns what `--model` accepts.
 */
import { parseArgs } from 'node:util';
import { loadProviders } from '../providers/config.js';
import type { ModelRegistry } from '../providers/registry.js';
import { checkFileSection } from './config.js';
import type { Command } from './main.js';
import { usageMessage } from './usage-error.js';

/** `" (set MOONSHOT_API_KEY ...)"`: the registry's own words for what an unconfigured provider lacks. */
function keyHint(registry: ModelRegistry, provider: string): string {
  try {
    registry.resolve({ provider });
    return '';
  } catch (error) {
    // The hint may hold parentheses itself (GLM's names its hosts): take it up to `), got`.
    const said = / \((set .*)\), got /.exec((error as Error).message);
    return said === null ? '' : ` (${said[1]})`;
  }
}

const USAGE = `Usage: troupe models [--json]

Lists providers and their models (from provider keys in the environment and TROUPE_PROVIDERS_FILE),
marking the default and saying which providers lack a key.
  --json   one JSON object instead of text
`;

export const command: Command = {
  summary: 'List the providers and models this configuration serves',
  async run(argv) {
    let json = false;
    try {
      const { values } = parseArgs({
        args: [...argv],
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help === true) {
        process.stdout.write(USAGE);
        return 0;
      }
      json = values.json === true;
    } catch (error) {
      process.stderr.write(`troupe models: ${usageMessage('models', error)}\n`);
      return 2;
    }
    let loaded: Awaited<ReturnType<typeof loadProviders>>;
    try {
      await checkFileSection(process.env);
      loaded = await loadProviders({ env: process.env });
    } catch (error) {
      process.stderr.write(`troupe models: ${(error as Error).message}\n`);
      return 2;
    }
    try {
      const providers = loaded.registry.list();
      let fallback: { provider: string; model: string } | undefined;
      try {
        fallback = loaded.registry.resolve({ ...loaded.defaults });
      } catch {
        fallback = undefined;
      }
      if (json) {
        process.stdout.write(
          `${JSON.stringify({ simulated: loaded.simulated, default: fallback ?? null, providers }, null, 2)}\n`,
        );
        return 0;
      }
      const lines: string[] = [];
      if (loaded.simulated) {
        lines.push('No provider key is set: the simulated provider answers every call.');
        lines.push(...loaded.ignored.map((x) => `Note: ${x.setting} ${x.why}.`), '');
      }
      for (const p of providers) {
        lines.push(
          `${p.name}  ${p.configured ? 'configured' : `not configured${keyHint(loaded.registry, p.name)}`}`,
        );
        if (p.models.length === 0)
          lines.push(`  (no models listed${p.openModels ? '; any model id is passed through' : ''})`);
        for (const m of p.models) {
          const isDefault = fallback?.provider === p.name && fallback.model === m.id;
          const window =
            // A blank read as a missing column (newcomer audit): no vendor page read states it.
            m.contextWindow === null
              ? '  window not stated'
              : `  ${m.contextWindow.toLocaleString('en-US')} tokens`;
          lines.push(`  ${m.id}${window}${isDefault ? '  (default)' : ''}`);
        }
        // A default model the provider does not list (TROUPE_DEFAULT_MODEL) went unshown.
        if (fallback?.provider === p.name && !p.models.some((m) => m.id === fallback?.model))
          lines.push(`  ${fallback.model}  (default; not listed, passed to the provider as is)`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      await loaded.close();
    }
  },
};
