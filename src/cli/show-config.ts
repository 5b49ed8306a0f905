/**
 * `troupe config [flags]`: the configuration `serve` and `stdio` would run with, given the same
 * flags, environment and providers file, and where each value came from. Secrets are never shown:
 * a key or token is reported as set or not set.
 */
import { parseArgs } from 'node:util';
import { tokensFromEnv } from '../mcp/http-auth.js';
import { logLevel } from '../observe/logger.js';
import { loadProviders } from '../providers/config.js';
import type { IgnoredSetting } from '../providers/ignored-defaults.js';
import { rootsFrom, rootsRefusal } from './bootstrap.js';
import {
  describeSource,
  formatValue,
  loadConfig,
  redisUrlFromEnv,
  SETTINGS,
  settingOptions,
  settingsUsage,
} from './config.js';
import type { Command } from './main.js';
import { SERVE_FLAGS } from './serve-options.js';
import { usageMessage } from './usage-error.js';

const USAGE = `Usage: troupe config [--json] [limits...]

Prints the effective configuration of \`troupe serve\` and \`troupe stdio\` with these flags, the
environment and TROUPE_PROVIDERS_FILE, and where each value came from. Keys are shown only as set.
  --json   one JSON object instead of text
Limits and deadlines:
${settingsUsage()}`;

/** Environment variables that hold secrets; only whether each is set is ever printed. */
const SECRET_ENVS = [
  'MOONSHOT_API_KEY',
  'KIMI_API_KEY',
  'ZHIPUAI_API_KEY',
  'GLM_API_KEY',
  'ZAI_API_KEY',
  'TROUPE_OPENAI_API_KEY',
  // `troupe ask --base-url` reads these two.
  'TROUPE_API_KEY',
  'OPENAI_API_KEY',
  'TROUPE_TOKEN',
  'TROUPE_TOKENS',
  'TROUPE_ADMIN_TOKEN',
];

/** `troupe serve`'s flags that are not settings: config refuses them, saying whose they are. */
const SERVE_OWN: ReadonlySet<string> = new Set(Object.keys(SERVE_FLAGS).map((flag) => `--${flag}`));

function serveOwn(error: unknown): string {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return '';
  const option = /'([^']+)'/.exec(error instanceof Error ? error.message : '')?.[1];
  if (option === undefined || !SERVE_OWN.has(option)) return '';
  return ` (\`${option}\` is \`troupe serve\`'s own: config shows the limits, the providers and the environment, TROUPE_REDIS_URL included)`;
}

export const command: Command = {
  summary: 'Show the effective configuration and where each value came from (keys redacted)',
  async run(argv) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...settingOptions() },
      }));
    } catch (error) {
      process.stderr.write(`troupe config: ${usageMessage('config', error)}${serveOwn(error)}\n`);
      return 2;
    }
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    const env = process.env;
    let config: Awaited<ReturnType<typeof loadConfig>>;
    let providers: { name: string; configured: boolean; models: number }[];
    let ignoredDefaults: readonly IgnoredSetting[];
    let redis: string | null = null;
    try {
      config = await loadConfig(values, env);
      const loaded = await loadProviders({ env });
      providers = loaded.registry
        .list()
        .map((p) => ({ name: p.name, configured: p.configured, models: p.models.length }));
      ignoredDefaults = loaded.ignored;
      await loaded.close();
      // What serve would refuse, refused here too: a bad token or root, not a config that cannot run.
      tokensFromEnv(env);
      redis = await redisShown(redisUrlFromEnv(env));
      const badRoots = await rootsRefusal('config', env);
      if (badRoots !== undefined) {
        process.stderr.write(`${badRoots}\n`);
        return 2;
      }
    } catch (error) {
      // A ConfigError, the providers' or the tokens' own validation error: one line, either way.
      process.stderr.write(`troupe config: ${(error as Error).message}\n`);
      return 2;
    }
    const secrets = [...SECRET_ENVS, ...(config.keyEnvs ?? [])].map((name) => ({
      name,
      set: (env[name] ?? '').trim() !== '',
    }));
    const other: Record<string, string | null> = {
      TROUPE_PROVIDERS_FILE: config.file ?? null,
      TROUPE_DEFAULT_PROVIDER: env.TROUPE_DEFAULT_PROVIDER ?? null,
      TROUPE_DEFAULT_MODEL: env.TROUPE_DEFAULT_MODEL ?? null,
      TROUPE_ROOTS: env.TROUPE_ROOTS ?? null,
      TROUPE_REDIS_URL: redis,
      TROUPE_LOG_LEVEL: logLevel(env.TROUPE_LOG_LEVEL),
      TROUPE_LOG_FORMAT: env.TROUPE_LOG_FORMAT ?? null,
    };
    const ignored: Record<string, string> = {};
    for (const x of ignoredDefaults) ignored[x.setting] = x.why;
    if (values.json === true) {
      const settings = Object.fromEntries(
        SETTINGS.map((x) => [
          x.key,
          { value: config.values[x.key], source: describeSource(config.sources[x.key]) },
        ]),
      );
      // The folders multi_file_chat reads, as `serve` and `stdio` would take them here.
      const out = { settings, providers, secrets, environment: other, roots: rootsFrom(env), ignored };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    const width = Math.max(...SETTINGS.map((x) => x.key.length));
    const lines = ['Limits and deadlines (flag > environment > providers file > default):'];
    for (const x of SETTINGS) {
      const value = formatValue(config.values[x.key]).padStart(10);
      lines.push(`  ${x.key.padEnd(width)} ${value}  ${describeSource(config.sources[x.key])}`);
    }
    lines.push('', 'Providers:');
    for (const p of providers) {
      lines.push(
        `  ${p.name.padEnd(width)} ${p.configured ? 'configured' : 'not configured'}, ${p.models} model(s)`,
      );
    }
    lines.push('', 'Secrets (values never shown):');
    const secretWidth = Math.max(width, ...secrets.map((x) => x.name.length));
    for (const secret of secrets)
      lines.push(`  ${secret.name.padEnd(secretWidth)} ${secret.set ? 'set' : 'not set'}`);
    lines.push('', 'Other settings:');
    // The level in effect is shown unset too (it has a default), and said to be the default.
    const levelDefault = (env.TROUPE_LOG_LEVEL ?? '').trim() === '' ? ' (not set: the default)' : '';
    for (const [name, value] of Object.entries(other)) {
      const why = ignored[name];
      const shown = value ?? '(not set)';
      const note =
        name === 'TROUPE_LOG_LEVEL' ? levelDefault : name === 'TROUPE_ROOTS' ? rootsDefault(env) : '';
      lines.push(`  ${name} = ${shown}${note}${why === undefined ? '' : ` (${why})`}`);
    }
    // A default from the providers file, ignored: said under its own name.
    for (const [name, why] of Object.entries(ignored)) if (!(name in other)) lines.push(`  ${name}: ${why}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

/**
 * `TROUPE_REDIS_URL` as `serve` would take it: refused as `serve` refuses it, else shown with its
 * user and password hidden (until 2026-12-04 `troupe config` did not mention Redis). The Redis
 * modules load only when it is set.
 */
async function redisShown(url: string | undefined): Promise<string | null> {
  if (url === undefined) return null;
  const { redactUrl, redisUrlProblem } = await import('../scale/connect.js');
  const problem = redisUrlProblem(url);
  if (problem !== undefined) throw new Error(`TROUPE_REDIS_URL: ${problem}`);
  return redactUrl(url);
}

/** What TROUPE_ROOTS unset means here: the working directory, or none at the filesystem's root. */
function rootsDefault(env: NodeJS.ProcessEnv): string {
  if (env.TROUPE_ROOTS !== undefined) return '';
  const [root] = rootsFrom(env);
  return root === undefined
    ? " (multi_file_chat reads no folder: the working directory is the filesystem's root)"
    : ` (multi_file_chat reads the working directory, ${root})`;
}
