/**
 * One configuration value, read and checked: numbers of each kind (only plain decimal digits, in
 * range), amounts of money by currency, from a flag or the environment (text) or from the providers
 * file (JSON), and the one error every bad value becomes (`ConfigError`: its message is the line to
 * show). `config.ts` says which settings there are and where each comes from.
 */
import { isCurrencyCode } from '../core/currency.js';

/** What a value may be; the words are the ones error messages use. */
export type Kind = 'positive' | 'nonNegative' | 'positiveMs' | 'nonNegativeMs' | 'money';

/** Daily amounts by currency (`{ USD: 5, CNY: 30 }`); empty: no budget. */
export type Money = Readonly<Record<string, number>>;
export type Value = number | Money;

/** Node's longest timer, about 24.8 days: a longer deadline would fire at once. */
const MAX_MS = 2_147_483_647;

const EXPECTED: Record<Kind, string> = {
  positive: 'a positive integer',
  nonNegative: 'a non-negative integer',
  positiveMs: 'a positive integer (milliseconds)',
  nonNegativeMs: 'a non-negative integer (milliseconds)',
  money:
    'amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none`',
};

/** The refusal for a value that is not of its kind; a bound of the setting's own says why. */
function refusal(setting: Bounded, origin: string, n: number, got: string): ConfigError {
  const { kind, min, max } = setting;
  const whole = Number.isSafeInteger(n);
  const expected =
    max !== undefined && whole && n > max.value
      ? `at most ${max.value} (${max.why})`
      : min !== undefined && whole && n >= 0 && n < min.value
        ? `at least ${min.value} (${min.why})`
        : kind.endsWith('Ms') && whole && n > MAX_MS
          ? `at most ${MAX_MS} milliseconds (about 24.8 days, the longest timer Node sets)`
          : EXPECTED[kind];
  return new ConfigError(`Expected \`${origin}\` to be ${expected}, got ${got}`);
}

/** A bound of a setting's own, and the reason for it, which its refusal states. */
interface Bound {
  readonly value: number;
  readonly why: string;
}

/** A setting as its values are checked: its kind, and bounds of its own. */
export interface Bounded {
  readonly kind: Kind;
  readonly min?: Bound;
  readonly max?: Bound;
}

function fits(setting: Bounded, n: number): boolean {
  const { min, max } = setting;
  return (
    inRange(setting.kind, n) && (min === undefined || n >= min.value) && (max === undefined || n <= max.value)
  );
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
export function parseText(setting: Bounded, origin: string, raw: string): Value {
  if (setting.kind === 'money') return parseMoney(origin, raw);
  const text = raw.trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!fits(setting, n)) throw refusal(setting, origin, n, `\`${raw}\``);
  return n;
}

/**
 * Amounts of money, comma-separated, each a decimal number and a currency code (`USD` when none is
 * given, ISO 4217, in either case): `5`, `5USD`, `20 cny`, `5USD,20CNY`; `none` for no budget. Zero lets nothing be spent in
 * that currency, as `budgets` in the library does (a `0CNY` meant to forbid yuan must not lift the
 * limit); a currency given twice is refused.
 */
export function parseMoney(origin: string, raw: string): Money {
  const money: Record<string, number> = {};
  if (raw.trim().toLowerCase() === 'none') return money;
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]{3})?\s*$/.exec(part);
    const n = m === null ? Number.NaN : Number(m[1]);
    const currency = m?.[2]?.toUpperCase() ?? 'USD';
    const twice = Object.hasOwn(money, currency);
    const unknown = !isCurrencyCode(currency);
    if (!inRange('money', n) || twice || unknown)
      throw refusal(
        { kind: 'money' },
        origin,
        n,
        `\`${raw}\`${twice ? ` (${currency} twice)` : unknown ? ` (${currency} is no ISO 4217 currency code)` : ''}`,
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
    if (entries.every(([c, n]) => isCurrencyCode(c) && typeof n === 'number' && inRange('money', n)))
      return Object.fromEntries(entries) as Money;
  }
  throw new ConfigError(
    `${path}: Expected \`${origin}\` to be ${EXPECTED.money} (or { "USD": 5, "CNY": 20 }), got \`${JSON.stringify(value)}\``,
  );
}

/** Validates a value from the JSON file, where it must already be a number (or money). */
export function parseJson(setting: Bounded, origin: string, value: unknown, path: string): Value {
  if (setting.kind === 'money') {
    try {
      return parseJsonMoney(origin, value, path);
    } catch (error) {
      if (error instanceof ConfigError && !error.message.startsWith(path))
        throw new ConfigError(`${path}: ${error.message}`);
      throw error;
    }
  }
  if (typeof value !== 'number' || !fits(setting, value)) {
    const got = `\`${JSON.stringify(value)}\`${typeof value === 'number' ? '' : ` (${typeof value})`}`;
    const error = refusal(setting, origin, typeof value === 'number' ? value : Number.NaN, got);
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
