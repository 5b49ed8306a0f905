/**
 * The operator's configuration: every limit and deadline of `serve` and `stdio`, settable by flag,
 * by environment variable and in the providers file's `runtime` section. Precedence: flag, then
 * environment, then file, then the built-in default. Every value is validated where it is read, and
 * each resolved value remembers where it came from, for `troupe config`.
 */
import { LOG_LEVELS, logLevel, namedLogFormat } from '../observe/logger.js';
import { notAnObject } from '../providers/config.js';
import { readProvidersText } from '../providers/json-file.js';
import { callerShares } from '../runtime/options.js';
import type { Defaults, Limits, RuntimeOptions } from '../runtime/types.js';
import { ConfigError, parseJson, parseText, type Value } from './config-values.js';
import { SETTINGS, type SettingKey, type SettingValues } from './settings.js';

export { ConfigError, type Money, parseIntFlag, parseMoney } from './config-values.js';
export { SETTINGS, type Setting, type SettingKey, type SettingValues } from './settings.js';

export interface FileSection {
  /** The providers file's path, for messages and `troupe config`. */
  readonly path: string;
  /** Its `runtime` object; absent when the file has none. */
  readonly values: Readonly<Record<string, unknown>> | undefined;
  /** The environment variables its providers take their keys from (`apiKeyEnv`), for `troupe config`. */
  readonly keyEnvs?: readonly string[];
}

export type Source =
  | { readonly kind: 'flag'; readonly name: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'file'; readonly name: string; readonly path: string }
  | {
      readonly kind: 'default';
      /** How a default that follows another setting was found. */
      readonly from?: string;
    };

export interface ResolvedConfig {
  readonly values: SettingValues;
  readonly sources: Readonly<Record<SettingKey, Source>>;
  /** The providers file, when one is set. */
  readonly file?: string;
  /** The environment variables the file's providers take their keys from. */
  readonly keyEnvs?: readonly string[];
}

export interface ConfigInput {
  /** Raw flag values by flag name (`max-concurrent`), as `parseArgs` gives them. */
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly file?: FileSection;
}

/** Resolves every setting: flag, then environment, then file, then default. Throws `ConfigError`. */
export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const { flags = {}, env = {}, file } = input;
  const known = new Set<string>(SETTINGS.map((x) => x.key));
  const unknown = Object.keys(file?.values ?? {}).filter((k) => !known.has(k));
  if (file !== undefined && unknown.length > 0) {
    throw new ConfigError(
      `${file.path}: Expected only known fields in \`runtime\` (${[...known].join(', ')}), got ${unknown.map((k) => `\`${k}\``).join(', ')}`,
    );
  }
  const values = {} as Record<SettingKey, Value>;
  const sources = {} as Record<SettingKey, Source>;
  for (const setting of SETTINGS) {
    const flag = flags[setting.flag];
    const fromEnv = env[setting.env];
    const fromFile = file?.values?.[setting.key];
    if (typeof flag === 'string') {
      values[setting.key] = parseText(setting, `--${setting.flag}`, flag);
      sources[setting.key] = { kind: 'flag', name: `--${setting.flag}` };
    } else if (fromEnv !== undefined && fromEnv.trim() !== '') {
      values[setting.key] = parseText(setting, setting.env, fromEnv);
      sources[setting.key] = { kind: 'env', name: setting.env };
    } else if (file !== undefined && fromFile !== undefined) {
      values[setting.key] = parseJson(setting, `runtime.${setting.key}`, fromFile, file.path);
      sources[setting.key] = { kind: 'file', name: `runtime.${setting.key}`, path: file.path };
    } else {
      values[setting.key] = setting.fallback;
      sources[setting.key] = { kind: 'default' };
    }
  }
  // A first backoff set over the longest was cut to the longest unseen: 20 s asked, 10 s waited.
  // (A longest set under the default first is a cap meant as one.)
  if (
    sources.backoffBaseMs.kind !== 'default' &&
    (values.backoffBaseMs as number) > (values.backoffMaxMs as number)
  ) {
    throw new ConfigError(
      `Expected backoffBaseMs (${values.backoffBaseMs}, ${describeSource(sources.backoffBaseMs)}) at most backoffMaxMs (${values.backoffMaxMs}, ${describeSource(sources.backoffMaxMs)}): the longest backoff caps the first; raise --backoff-max-ms or lower --backoff-base-ms`,
    );
  }
  // The default first under a longest set below it is cut to it, as the runtime does: shown as it
  // runs (`troupe config` printed 250 where 100 ran).
  if (
    sources.backoffBaseMs.kind === 'default' &&
    (values.backoffBaseMs as number) > (values.backoffMaxMs as number)
  ) {
    values.backoffBaseMs = values.backoffMaxMs;
  }
  // A share set over the whole queue was cut to the queue unseen: 5000 asked, 1000 held.
  if (
    sources.maxQueuedPerCaller.kind !== 'default' &&
    (values.maxQueuedPerCaller as number) > (values.maxQueued as number)
  ) {
    throw new ConfigError(
      `Expected maxQueuedPerCaller (${values.maxQueuedPerCaller}, ${describeSource(sources.maxQueuedPerCaller)}) at most maxQueued (${values.maxQueued}, ${describeSource(sources.maxQueued)}): one caller's share is of the whole queue; raise --max-queued or lower --max-queued-per-caller`,
    );
  }
  // A share set over all the slots would be cut to them unseen, as the queue's share would.
  if (
    sources.maxRunningPerCaller.kind !== 'default' &&
    (values.maxRunningPerCaller as number) > (values.maxConcurrent as number)
  ) {
    throw new ConfigError(
      `Expected maxRunningPerCaller (${values.maxRunningPerCaller}, ${describeSource(sources.maxRunningPerCaller)}) at most maxConcurrent (${values.maxConcurrent}, ${describeSource(sources.maxConcurrent)}): one caller's share is of the sessions running at once; raise --max-concurrent or lower --max-running-per-caller`,
    );
  }
  // The shares of a server with several callers, by the one rule the library names too.
  const shares = callerShares({
    maxConcurrent: values.maxConcurrent as number,
    maxQueued: values.maxQueued as number,
  });
  if (sources.maxRunningPerCaller.kind === 'default') {
    values.maxRunningPerCaller = shares.maxRunningPerCaller;
    sources.maxRunningPerCaller = {
      kind: 'default',
      from: 'three quarters of maxConcurrent (at least 1); stdio: all of it',
    };
  }
  // One caller's share follows the queue it is a share of.
  if (sources.maxQueuedPerCaller.kind === 'default') {
    values.maxQueuedPerCaller = shares.maxQueuedPerCaller;
    sources.maxQueuedPerCaller = { kind: 'default', from: 'a quarter of maxQueued; stdio: all of it' };
  }
  return {
    values: values as SettingValues,
    sources,
    ...(file === undefined ? {} : { file: file.path, keyEnvs: file.keyEnvs ?? [] }),
  };
}

/**
 * Reads the `runtime` section of the providers file named by `TROUPE_PROVIDERS_FILE` (or by
 * `path`, which `setting` names in errors: `troupe ask --config`), if any.
 */
export async function readFileSection(
  env: Readonly<Record<string, string | undefined>>,
  named: { readonly path?: string; readonly setting?: string } = {},
): Promise<FileSection | undefined> {
  const path = (named.path ?? env.TROUPE_PROVIDERS_FILE)?.trim();
  if (!path) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readProvidersText(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === undefined
        ? `${path}: Expected JSON, got text that does not parse`
        : `Expected a readable providers file at ${path} (${named.setting ?? 'TROUPE_PROVIDERS_FILE'}), got ${code}`,
    );
  }
  // `null`, `5`, `"x"` or `[]` read as a TypeError ("Cannot read properties of null") or zod's words.
  const notObject = notAnObject(json, path);
  if (notObject !== undefined) throw new ConfigError(notObject);
  const runtime = (json as { runtime?: unknown }).runtime;
  if (runtime !== undefined && (runtime === null || typeof runtime !== 'object' || Array.isArray(runtime))) {
    throw new ConfigError(
      `${path}: Expected \`runtime\` to be an object, got \`${JSON.stringify(runtime)}\``,
    );
  }
  const providers = (json as { providers?: unknown }).providers;
  const keyEnvs = (Array.isArray(providers) ? providers : [])
    .map((p) => (p as { apiKeyEnv?: unknown } | null)?.apiKeyEnv)
    .filter((name): name is string => typeof name === 'string');
  return { path, values: runtime as Record<string, unknown> | undefined, keyEnvs };
}

/** Flags, environment and file together: what `serve`, `stdio` and `config` call. */
export async function loadConfig(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ResolvedConfig> {
  checkLogSettings(env);
  const file = await readFileSection(env);
  return resolveConfig({ flags, env, ...(file === undefined ? {} : { file }) });
}

/**
 * Checks the providers file's `runtime` section as `serve`, `stdio` and `config` do, for the
 * commands that read only its providers (`ask`, `models`): a file one command refuses, every
 * command refuses. Before, `troupe models` passed a file with a typo in `runtime` that `serve`
 * then refused, and `ask` named a missing file with a request's error code. Throws `ConfigError`.
 */
export async function checkFileSection(
  env: Readonly<Record<string, string | undefined>>,
  named: { readonly path?: string; readonly setting?: string } = {},
): Promise<void> {
  const file = await readFileSection(env, named);
  if (file !== undefined) resolveConfig({ file });
}

/**
 * A TROUPE_LOG_LEVEL or TROUPE_LOG_FORMAT that names nothing known (a typo such as `degub`) is
 * refused, as any other bad setting is: the server started at `info`, without a word of why.
 */
function checkLogSettings(env: Readonly<Record<string, string | undefined>>): void {
  const level = env.TROUPE_LOG_LEVEL?.trim() ?? '';
  if (level !== '' && logLevel(level) !== level.toLowerCase()) {
    throw new ConfigError(
      `TROUPE_LOG_LEVEL: Expected a level (${LOG_LEVELS.join(', ')}), got ${JSON.stringify(level)}`,
    );
  }
  const format = env.TROUPE_LOG_FORMAT?.trim() ?? '';
  if (format !== '' && namedLogFormat(format) === undefined) {
    throw new ConfigError(
      `TROUPE_LOG_FORMAT: Expected json or pretty (unset: pretty on a terminal, json otherwise), got ${JSON.stringify(format)}`,
    );
  }
}

/** The runtime's share of the configuration: global limits and per-call defaults. */
export function runtimeOptionsFrom(
  config: ResolvedConfig,
  /** How many clients the server has: `many` over HTTP; stdio has `one`, which gets the whole queue unless a share is set. */
  callers: 'one' | 'many' = 'many',
): Pick<RuntimeOptions, 'breakers' | 'budgets'> & { limits: Limits; defaults: Defaults } {
  const v = config.values;
  const perCaller =
    callers === 'one' && config.sources.maxQueuedPerCaller.kind === 'default'
      ? v.maxQueued
      : v.maxQueuedPerCaller;
  // One caller (stdio) and no share set: no share at all, which the runtime reads as every slot.
  // Set to `maxConcurrent`, it made a share the runtime keeps since lent slots can pass that number.
  const runningPerCaller =
    callers === 'one' && config.sources.maxRunningPerCaller.kind === 'default'
      ? undefined
      : v.maxRunningPerCaller;
  // Amounts by currency: a session priced in a currency with no budget is not limited by another's.
  const budgets = {
    ...(Object.keys(v.budgetPerCaller).length > 0 ? { perCaller: v.budgetPerCaller } : {}),
    ...(Object.keys(v.budgetGlobal).length > 0 ? { global: v.budgetGlobal } : {}),
  };
  return {
    breakers:
      v.breakerFailures === 0
        ? false
        : {
            failures: v.breakerFailures,
            windowMs: v.breakerWindowMs,
            openMs: v.breakerOpenMs,
            minTimeoutMs: v.breakerMinTimeoutMs,
          },
    ...(Object.keys(budgets).length === 0 ? {} : { budgets }),
    limits: {
      maxConcurrent: v.maxConcurrent,
      ...(runningPerCaller === undefined ? {} : { maxRunningPerCaller: runningPerCaller }),
      maxQueued: v.maxQueued,
      maxQueuedPerCaller: perCaller,
      maxQueuedBytes: v.maxQueuedBytes,
      historySize: v.historySize,
    },
    defaults: {
      timeoutMs: v.timeoutMs,
      queueTimeoutMs: v.queueTimeoutMs,
      idleTimeoutMs: v.idleTimeoutMs,
      maxAttempts: v.maxAttempts,
      backoffBaseMs: v.backoffBaseMs,
      backoffMaxMs: v.backoffMaxMs,
    },
  };
}

/** The MCP task store's bounds (each caller's share is a quarter of each, as the store defaults it). */
/**
 * `TROUPE_REDIS_URL` as `serve` and `troupe config` take it: trimmed, and unset when empty (a
 * compose file's `${REDIS_URL}` with nothing behind it), as the other variables are.
 */
export function redisUrlFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.TROUPE_REDIS_URL?.trim() || undefined;
}

export function taskBoundsFrom(config: ResolvedConfig): { maxTasks: number; maxResultBytes: number } {
  return { maxTasks: config.values.maxTasks, maxResultBytes: config.values.maxTaskResultBytes };
}

/** `parseArgs` options for every setting's flag. */
export function settingOptions(
  command: 'serve' | 'stdio' | 'config' = 'config',
): Record<string, { type: 'string' }> {
  return Object.fromEntries(settingsOf(command).map((x) => [x.flag, { type: 'string' as const }]));
}

/** The settings a command takes: `stdio` has no HTTP front, so not the serve-only ones. */
function settingsOf(command: 'serve' | 'stdio' | 'config'): readonly (typeof SETTINGS)[number][] {
  return command === 'stdio' ? SETTINGS.filter((x) => x.serveOnly !== true) : SETTINGS;
}

/** The usage lines for the settings' flags, shared by `serve`, `stdio` and `config`. */
export function settingsUsage(command: 'serve' | 'stdio' | 'config' = 'config'): string {
  const settings = settingsOf(command);
  // One column for the summaries, past the longest flag (`--breaker-min-timeout-ms N`).
  const width = Math.max(...settings.map((x) => x.flag.length + 3));
  const lines = settings.map(
    (x) =>
      `  --${`${x.flag} ${x.kind === 'money' ? 'M' : 'N'}`.padEnd(width)} ${x.summary} (default ${x.defaultText ?? formatValue(x.fallback)}; env ${x.env})`,
  );
  return `${lines.join('\n')}\nEach also reads from the providers file's "runtime" object (e.g. "maxConcurrent": 32).\nPrecedence: flag, then environment, then file, then default. \`troupe config\` shows the result.\n`;
}

/** A setting's value as `troupe config` and the usage print it: money as `5USD,20CNY`, none as `none`. */
export function formatValue(value: Value): string {
  if (typeof value === 'number') return String(value);
  const parts = Object.entries(value).map(([currency, n]) => `${n}${currency}`);
  return parts.length === 0 ? 'none' : parts.join(',');
}

export function describeSource(source: Source): string {
  switch (source.kind) {
    case 'flag':
      return source.name;
    case 'env':
      return `env ${source.name}`;
    case 'file':
      return `${source.path} ${source.name}`;
    default:
      return source.from === undefined ? 'default' : `default (${source.from})`;
  }
}
