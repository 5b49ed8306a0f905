/**
 * The operator's configuration: every limit and deadline of `serve` and `stdio`, settable by flag,
 * by environment variable and in the providers file's `runtime` section. Precedence: flag, then
 * environment, then file, then the built-in default. Every value is validated where it is read, and
 * each resolved value remembers where it came from, for `troupe config`.
 */
import { readFile } from 'node:fs/promises';
import type { Defaults, Limits, RuntimeOptions } from '../runtime/types.js';

export type SettingKey =
  | 'maxConcurrent'
  | 'maxQueued'
  | 'maxQueuedBytes'
  | 'timeoutMs'
  | 'queueTimeoutMs'
  | 'idleTimeoutMs'
  | 'maxAttempts'
  | 'backoffBaseMs'
  | 'backoffMaxMs'
  | 'drainMs'
  | 'progressMs'
  | 'breakerFailures'
  | 'breakerWindowMs'
  | 'breakerOpenMs'
  | 'breakerMinTimeoutMs'
  | 'budgetPerCaller'
  | 'budgetGlobal';

/** What a value may be; the words are the ones error messages use. */
type Kind = 'positive' | 'nonNegative' | 'positiveMs' | 'nonNegativeMs' | 'money';

/** Daily amounts by currency (`{ USD: 5, CNY: 30 }`); empty: no budget. */
export type Money = Readonly<Record<string, number>>;
type MoneyKey = 'budgetPerCaller' | 'budgetGlobal';
/** Every setting's value: amounts of money for the budgets, numbers for the rest. */
export type SettingValues = { readonly [K in SettingKey]: K extends MoneyKey ? Money : number };
type Value = number | Money;

export interface Setting {
  readonly key: SettingKey;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly fallback: Value;
  readonly summary: string;
}

/** Node's longest timer, about 24.8 days: a longer deadline would fire at once. */
const MAX_MS = 2_147_483_647;

export const SETTINGS: readonly Setting[] = [
  s('maxConcurrent', 'positive', 64, 'sessions running at once, over all providers'),
  s('maxQueued', 'nonNegative', 10_000, 'sessions waiting for a slot; past it a call fails with QUEUE_FULL'),
  s(
    'maxQueuedBytes',
    'nonNegative',
    268_435_456,
    'bytes of request JSON waiting for a slot (256 MiB); past it QUEUE_FULL, a request larger than it INVALID_REQUEST',
  ),
  s('timeoutMs', 'positiveMs', 120_000, "a call's run deadline unless it asks for its own"),
  s('queueTimeoutMs', 'positiveMs', 60_000, 'how long a call may wait in the queue'),
  s('idleTimeoutMs', 'positiveMs', 30_000, 'a stream with no chunk for this long times out'),
  s('maxAttempts', 'positive', 3, 'attempts per call, the first included (retries = attempts - 1)'),
  s('backoffBaseMs', 'nonNegativeMs', 250, 'first retry backoff, doubled per attempt, with jitter'),
  s('backoffMaxMs', 'nonNegativeMs', 10_000, 'longest retry backoff'),
  s('drainMs', 'nonNegativeMs', 10_000, 'on SIGINT/SIGTERM, how long calls may finish before cancelled'),
  s('progressMs', 'positiveMs', 5_000, 'interval of MCP progress notifications while a call runs'),
  s(
    'breakerFailures',
    'nonNegative',
    5,
    "failures (5xx, network, timeouts) that open a provider's breaker; 0: no breakers",
  ),
  s('breakerWindowMs', 'positiveMs', 30_000, 'the window those failures are counted in'),
  s('breakerOpenMs', 'positiveMs', 30_000, 'how long an open breaker fails calls fast before one probe'),
  s(
    'breakerMinTimeoutMs',
    'positiveMs',
    30_000,
    "a timeout counts as a breaker failure only after the provider sent nothing this long (a caller's own short deadline, or one that cuts a stream still flowing, counts neither way)",
  ),
  s(
    'budgetPerCaller',
    'money',
    {},
    'what one caller (MCP session or token) may spend per UTC day, per currency: 5 (USD), 20CNY, 5USD,20CNY',
  ),
  s('budgetGlobal', 'money', {}, 'what all callers together may spend per UTC day, per currency, as above'),
];

function s(key: SettingKey, kind: Kind, fallback: Value, summary: string): Setting {
  const words = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    key,
    flag: words,
    env: `TROUPE_${words.replace(/-/g, '_').toUpperCase()}`,
    kind,
    fallback,
    summary,
  };
}

const EXPECTED: Record<Kind, string> = {
  positive: 'a positive integer',
  nonNegative: 'a non-negative integer',
  positiveMs: 'a positive integer (milliseconds)',
  nonNegativeMs: 'a non-negative integer (milliseconds)',
  money:
    'amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none`',
};

/** The refusal for a value that is not of its kind; a too-long deadline says what the cap is. */
function refusal(kind: Kind, origin: string, n: number, got: string): ConfigError {
  const expected =
    kind.endsWith('Ms') && Number.isSafeInteger(n) && n > MAX_MS
      ? `at most ${MAX_MS} milliseconds (about 24.8 days, the longest timer Node sets)`
      : EXPECTED[kind];
  return new ConfigError(`Expected \`${origin}\` to be ${expected}, got ${got}`);
}

/** A bad value anywhere in the configuration; `message` is the one line to show. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
}

function inRange(kind: Kind, n: number): boolean {
  if (kind === 'money') return Number.isFinite(n) && n >= 0 && n <= 1e12;
  if (!Number.isSafeInteger(n)) return false;
  if (kind === 'positive' || kind === 'positiveMs') {
    if (n < 1) return false;
  } else if (n < 0) return false;
  return kind.endsWith('Ms') ? n <= MAX_MS : true;
}

/**
 * Parses one text value (a flag or an environment variable) as the setting's kind. Only plain
 * decimal digits count: `1e3`, `0x10`, `10ms` and `` are refused rather than guessed at.
 */
export function parseText(setting: Setting, origin: string, raw: string): Value {
  if (setting.kind === 'money') return parseMoney(origin, raw);
  const text = raw.trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!inRange(setting.kind, n)) throw refusal(setting.kind, origin, n, `\`${raw}\``);
  return n;
}

/**
 * Amounts of money, comma-separated, each a decimal number and a currency code (`USD` when none is
 * given): `5`, `5USD`, `20 CNY`, `5USD,20CNY`; `none` for no budget. Zero lets nothing be spent in
 * that currency, as `budgets` in the library does (a `0CNY` meant to forbid yuan must not lift the
 * limit); a currency given twice is refused.
 */
export function parseMoney(origin: string, raw: string): Money {
  const money: Record<string, number> = {};
  if (raw.trim().toLowerCase() === 'none') return money;
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Z]{3})?\s*$/.exec(part);
    const n = m === null ? Number.NaN : Number(m[1]);
    const currency = m?.[2] ?? 'USD';
    if (!inRange('money', n) || Object.hasOwn(money, currency))
      throw refusal(
        'money',
        origin,
        n,
        `\`${raw}\`${Object.hasOwn(money, currency) ? ` (${currency} twice)` : ''}`,
      );
    money[currency] = n;
  }
  return money;
}

/** Money from the JSON file: a number (USD), a string as on the command line, or `{ "USD": 5, "CNY": 20 }`. */
function parseJsonMoney(origin: string, value: unknown, path: string): Money {
  if (typeof value === 'number' && inRange('money', value)) return { USD: value };
  if (typeof value === 'string') return parseMoney(origin, value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.every(([c, n]) => /^[A-Z]{3}$/.test(c) && typeof n === 'number' && inRange('money', n)))
      return Object.fromEntries(entries) as Money;
  }
  throw new ConfigError(
    `${path}: Expected \`${origin}\` to be ${EXPECTED.money} (or { "USD": 5, "CNY": 20 }), got \`${JSON.stringify(value)}\``,
  );
}

/** Validates a value from the JSON file, where it must already be a number (or money). */
function parseJson(setting: Setting, origin: string, value: unknown, path: string): Value {
  if (setting.kind === 'money') {
    try {
      return parseJsonMoney(origin, value, path);
    } catch (error) {
      if (error instanceof ConfigError && !error.message.startsWith(path))
        throw new ConfigError(`${path}: ${error.message}`);
      throw error;
    }
  }
  if (typeof value !== 'number' || !inRange(setting.kind, value)) {
    const got = `\`${JSON.stringify(value)}\`${typeof value === 'number' ? '' : ` (${typeof value})`}`;
    const error = refusal(setting.kind, origin, typeof value === 'number' ? value : Number.NaN, got);
    throw new ConfigError(`${path}: ${error.message}`);
  }
  return value;
}

/** Validates a flag the same way as a setting, e.g. `--port` with its own range. */
export function parseIntFlag(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`Expected \`--${name}\` to be an integer from ${min} to ${max}, got \`${raw}\``);
  }
  return n;
}

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
  | { readonly kind: 'default' };

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
  return {
    values: values as SettingValues,
    sources,
    ...(file === undefined ? {} : { file: file.path, keyEnvs: file.keyEnvs ?? [] }),
  };
}

/** Reads the `runtime` section of the providers file named by `TROUPE_PROVIDERS_FILE`, if any. */
export async function readFileSection(
  env: Readonly<Record<string, string | undefined>>,
): Promise<FileSection | undefined> {
  const path = env.TROUPE_PROVIDERS_FILE?.trim();
  if (!path) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === undefined
        ? `${path}: Expected JSON, got text that does not parse`
        : `Expected a readable providers file at ${path} (TROUPE_PROVIDERS_FILE), got ${code}`,
    );
  }
  const runtime = (json as { runtime?: unknown } | null)?.runtime;
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
  const file = await readFileSection(env);
  return resolveConfig({ flags, env, ...(file === undefined ? {} : { file }) });
}

/** The runtime's share of the configuration: global limits and per-call defaults. */
export function runtimeOptionsFrom(
  config: ResolvedConfig,
): Pick<RuntimeOptions, 'breakers' | 'budgets'> & { limits: Limits; defaults: Defaults } {
  const v = config.values;
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
    limits: { maxConcurrent: v.maxConcurrent, maxQueued: v.maxQueued, maxQueuedBytes: v.maxQueuedBytes },
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

/** `parseArgs` options for every setting's flag. */
export function settingOptions(): Record<string, { type: 'string' }> {
  return Object.fromEntries(SETTINGS.map((x) => [x.flag, { type: 'string' as const }]));
}

/** The usage lines for the settings' flags, shared by `serve`, `stdio` and `config`. */
export function settingsUsage(): string {
  const lines = SETTINGS.map(
    (x) =>
      `  --${`${x.flag} ${x.kind === 'money' ? 'M' : 'N'}`.padEnd(22)} ${x.summary} (default ${formatValue(x.fallback)}; env ${x.env})`,
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
      return 'default';
  }
}
