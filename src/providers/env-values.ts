/**
 * Provider settings read from environment variables: a base URL (the first of several set) and a
 * yes/no switch, each refused with the variable's name when its value cannot be meant.
 */
import { describe, runtimeError } from '../core/errors.js';
import { checkBaseUrl } from './base-url.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The first variable in `names` that is set and not blank. */
export function firstSet(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return checkBaseUrl(name, value);
  }
  return undefined;
}

/** A yes/no variable: unset or blank is no; anything but 1/true/yes/0/false/no is refused, not taken as no. */
export function isTrue(env: Env, name: string): boolean {
  const value = env[name]?.trim();
  if (value && !/^(1|true|yes|0|false|no)$/i.test(value))
    throw runtimeError(
      'INVALID_REQUEST',
      `${name}: Expected 1, true or yes (0, false or no), got ${describe(value)}`,
    );
  return value !== undefined && /^(1|true|yes)$/i.test(value);
}
