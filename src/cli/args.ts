/**
 * Flag parsing shared by the commands: unknown flags and bad integers give a one-line error and
 * exit code 2, `--help` prints the usage and exit code 0.
 */
import { parseArgs } from 'node:util';
import { type IntRange, usageMessage } from './usage-error.js';

/** An integer flag: its default and range. */
export type IntFlag = IntRange;

export interface FlagSpec {
  /** Integer flags, with their default and range. */
  readonly ints?: Readonly<Record<string, IntFlag>>;
  readonly strings?: readonly string[];
  readonly booleans?: readonly string[];
}

export type Parsed =
  | {
      readonly ok: true;
      readonly ints: Readonly<Record<string, number>>;
      readonly strings: Readonly<Record<string, string | undefined>>;
      readonly booleans: Readonly<Record<string, boolean>>;
    }
  | { readonly ok: false; readonly exitCode: number };

/** Parses an integer flag, or returns the message saying what was expected. */
export function intFlag(name: string, value: string | undefined, flag: IntFlag): number | string {
  if (value === undefined) return flag.fallback;
  // Plain digits only: `1e3`, `0x10` and `` are refused rather than guessed at.
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < flag.min || n > flag.max) {
    return `Expected \`--${name}\` to be an integer from ${flag.min} to ${flag.max}, got \`${value}\``;
  }
  return n;
}

export function parseFlags(command: string, argv: readonly string[], spec: FlagSpec, usage: string): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const name of [...Object.keys(spec.ints ?? {}), ...(spec.strings ?? [])])
    options[name] = { type: 'string' };
  for (const name of spec.booleans ?? []) options[name] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    // No command using these flags takes an argument: a stray word (`troupe demo fast`) is refused,
    // not ignored while the command runs as if it were not there.
    ({ values } = parseArgs({ args: [...argv], options, allowPositionals: false }));
  } catch (error) {
    process.stderr.write(`troupe ${command}: ${usageMessage(command, error, process.env, spec.ints)}\n`);
    return { ok: false, exitCode: 2 };
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return { ok: false, exitCode: 0 };
  }
  const ints: Record<string, number> = {};
  for (const [name, flag] of Object.entries(spec.ints ?? {})) {
    const parsed = intFlag(name, values[name] as string | undefined, flag);
    if (typeof parsed === 'string') {
      process.stderr.write(`troupe ${command}: ${parsed}\n`);
      return { ok: false, exitCode: 2 };
    }
    ints[name] = parsed;
  }
  const strings: Record<string, string | undefined> = {};
  for (const name of spec.strings ?? []) strings[name] = values[name] as string | undefined;
  const booleans: Record<string, boolean> = {};
  for (const name of spec.booleans ?? []) booleans[name] = values[name] === true;
  return { ok: true, ints, strings, booleans };
}
