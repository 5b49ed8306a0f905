/**
 * The options the harness takes, held to their interfaces at compile time. From JavaScript a
 * misspelt option used to be ignored: `checkRuntimeProperties({ provider: [adapter] })` ran the
 * model-based tests on troupe's scripted providers and passed without calling the adapter once;
 * `capabilities: { tool: true }` left tool calls unchecked; `apikey` left the key unlooked-for.
 */
import { MAX_TIMER_MS, systemClock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import { MAX_NAME_CHARS } from '../core/metadata.js';
import { Breakers } from '../runtime/breakers.js';
import { MemorySharedState } from '../runtime/memory-state.js';
import { checkOptionKeys, onlyKeys } from '../runtime/option-keys.js';
import { resolveLimits } from '../runtime/options.js';
import { FINISH_REASONS } from './contract/property.js';
import type { ContractCapabilities, ContractOptions } from './contract/types.js';
import type { PropertyOptions } from './model.js';
import type { ScenarioLimits } from './model-limits.js';

const CONTRACT_KEYS = {
  server: true,
  model: true,
  numRuns: true,
  seed: true,
  capabilities: true,
  apiKey: true,
  logged: true,
  abortWithinMs: true,
  failingFinishReasons: true,
  only: true,
  path: true,
} as const satisfies Record<keyof ContractOptions, true>;

const CAPABILITY_KEYS = {
  streaming: true,
  tools: true,
  files: true,
  thinking: true,
} as const satisfies Record<keyof ContractCapabilities, true>;

// What a run's runtime takes of a given `limits` (`ScenarioLimits`): a misspelt `maxConcurent`
// failed the first run as a broken invariant, createRuntime's refusal on the third line.
const LIMIT_KEYS = {
  maxConcurrent: true,
  perProvider: true,
  maxQueued: true,
  maxQueuedBytes: true,
  maxQueuedPerCaller: true,
  maxRunningPerCaller: true,
  fairnessEvery: true,
  historySize: true,
  providers: true,
  breakers: true,
} as const satisfies Record<keyof ScenarioLimits, true>;

const PROPERTY_KEYS = {
  providers: true,
  model: true,
  limits: true,
  numRuns: true,
  seed: true,
  path: true,
  replayPath: true,
  maxCommands: true,
  backend: true,
  maxDeadlineMs: true,
  engine: true,
  server: true,
  contract: true,
  releaseWithinMs: true,
  onEnd: true,
} as const satisfies Record<keyof PropertyOptions, true>;

/** `onlyKeys` with `extra` names taken too. */
function only(
  where: string,
  value: unknown,
  known: Readonly<Record<string, true>>,
  extra: string[] = [],
): void {
  onlyKeys(
    where,
    value,
    extra.length === 0 ? known : { ...known, ...Object.fromEntries(extra.map((name) => [name, true])) },
  );
}

/** `checkProviderContract`'s options; `extra` for a caller's own (`describeProviderContract`'s `timeoutMs`). */
export function checkContractOptions(where: string, options: unknown, extra: string[] = []): void {
  only(where, options, CONTRACT_KEYS, extra);
  only(
    `${where}.capabilities`,
    (options as { capabilities?: unknown } | undefined)?.capabilities,
    CAPABILITY_KEYS,
  );
  checkSeed(where, options);
  // Every abort is judged by it: NaN passed some timing checks and failed others "within NaN ms";
  // 0 or less failed every adapter; Infinity overflowed the timers (until 2026-12-05).
  checkTimerMs(where, options, 'abortWithinMs');
  checkFailingFinishReasons(where, options);
  const logged = (options as { logged?: unknown } | undefined)?.logged;
  if (logged !== undefined && typeof logged !== 'function')
    throw new TypeError(
      `Expected \`logged\` in \`${where}\` to be a function returning what the adapter logged (\`() => capture.entries\`), got ${typeof logged}`,
    );
}

/**
 * `failingFinishReasons`: drawn reasons an adapter fails on, never `stop` (an adapter that fails
 * every finished answer leaves the suite nothing to check).
 */
function checkFailingFinishReasons(where: string, options: unknown): void {
  const value = (options as { failingFinishReasons?: unknown } | undefined)?.failingFinishReasons;
  if (value === undefined) return;
  const allowed = FINISH_REASONS.filter((reason) => reason !== 'stop');
  if (!Array.isArray(value) || !value.every((reason) => allowed.includes(reason)))
    throw new RangeError(
      `Expected \`failingFinishReasons\` in \`${where}\` to be a list of ${allowed.map((r) => `\`${r}\``).join(', ')}, got ${shown(value)}`,
    );
}

/**
 * A bound in ms a check waits on: above 0 and within Node's longest timer (past 2^31 - 1 ms a timer
 * fires after 1 ms, and every abort check misfired).
 */
export function checkTimerMs(where: string, options: unknown, key: string): void {
  const value = (options as Record<string, unknown> | undefined)?.[key];
  if (value !== undefined && !(typeof value === 'number' && value > 0 && value <= MAX_TIMER_MS))
    throw new RangeError(
      `Expected \`${key}\` in \`${where}\` to be a number of ms above 0, at most ${MAX_TIMER_MS}, got ${shown(value)}`,
    );
}

/**
 * What every run would fail on the same way, refused once before any: until 2026-12-07 each failed
 * the first run as a broken property ("replay with seed ..."), its cause two lines down, and a bad
 * `onEnd` was shrunk for most of a minute first.
 */
function checkRunShape(where: string, options: PropertyOptions | undefined): void {
  const refuse = (key: string, expected: string, value: unknown) => {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`${key}\` in \`${where}\` to be ${expected}, got ${shown(value)}`,
    );
  };
  const { engine, model, onEnd, backend, providers } = options ?? {};
  if (engine !== undefined && engine !== 'compiled' && engine !== 'xstate')
    refuse('engine', '"compiled" or "xstate"', engine);
  if (
    model !== undefined &&
    !(typeof model === 'string' && model.length >= 1 && model.length <= MAX_NAME_CHARS)
  )
    refuse('model', `a string of 1 to ${MAX_NAME_CHARS} characters`, model);
  if (onEnd !== undefined && typeof onEnd !== 'function') refuse('onEnd', 'a function', onEnd);
  if (backend !== undefined && typeof backend !== 'function') refuse('backend', 'a function', backend);
  checkLimits(`${where}.limits`, options?.limits);
  if (providers !== undefined && !(Array.isArray(providers) && providers.length > 0))
    refuse('providers', "a non-empty array (leave it out for troupe's scripted providers)", providers);
}

/**
 * A given `limits`, by the runtime's own checks (`resolveLimits`, the breakers'), before any run:
 * until 2026-12-07 a `maxConcurrent` of -1, NaN or '4' failed the first run as a broken property,
 * "replay with seed ...", the runtime's refusal three lines down.
 */
function checkLimits(where: string, limits: unknown): void {
  if (limits === undefined) return;
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`${where}\` to be an object of limits, got ${shown(limits)}`,
    );
  onlyKeys(where, limits, LIMIT_KEYS);
  const { breakers, ...runtimeLimits } = limits as ScenarioLimits;
  try {
    checkOptionKeys({
      providers: [],
      limits: runtimeLimits,
      ...(breakers === undefined ? {} : { breakers }),
    });
    resolveLimits(runtimeLimits);
    if (breakers !== undefined) new Breakers(new MemorySharedState(), breakers, systemClock, () => undefined);
  } catch (error) {
    // The runtime names `breakers.failures`; here they sit in `limits`.
    if (error instanceof Error) error.message = error.message.replaceAll('`breakers', '`limits.breakers');
    throw error;
  }
}

/** A whole number from `min` to `max`, when given. */
function checkWhole(where: string, options: unknown, key: string, min: number, max: number): void {
  const value = (options as Record<string, unknown> | undefined)?.[key];
  if (
    value !== undefined &&
    !(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)
  )
    throw new RangeError(
      `Expected \`${key}\` in \`${where}\` to be a whole number from ${min}, at most ${max}, got ${shown(value)}`,
    );
}

/**
 * `only` must name properties the suite has, and at least one: a misspelt `signalHonored` checked
 * nothing and passed (until 2026-12-04). `suite` names it in the refusal ("the contract").
 */
export function checkOnly(suite: string, only: unknown, names: readonly string[]): void {
  if (only === undefined) return;
  const unknown = Array.isArray(only) ? only.filter((name) => !names.includes(name)) : [only];
  if (unknown.length > 0 || (only as unknown[]).length === 0)
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`only\` to list properties of ${suite} (${names.join(', ')}), got ${
        unknown.length > 0 ? unknown.map((name) => JSON.stringify(name)).join(', ') : '[]'
      }`,
    );
}

/** A refused value as the message shows it: a string quoted, so `'100'` does not read as 100. */
const shown = (value: unknown): string =>
  typeof value === 'string'
    ? JSON.stringify(value)
    : Array.isArray(value) && value.length === 0
      ? '[]'
      : String(value);

/**
 * A seed is what a failure prints to replay it, so it must be one fast-check can replay: `NaN` ran
 * (as some other seed) and printed "replay with { seed: NaN }" (until 2026-12-05).
 */
export function checkSeed(where: string, options: unknown): void {
  const seed = (options as { seed?: unknown } | undefined)?.seed;
  if (seed !== undefined && !Number.isSafeInteger(seed))
    throw new RangeError(
      `Expected \`seed\` in \`${where}\` to be an integer (as a failure prints it, to replay), got ${shown(seed)}`,
    );
}

/** `checkRuntimeProperties`' and `runtimeProperty`'s options, the contract's among them. */
export function checkPropertyOptions(where: string, options: unknown): void {
  only(where, options, PROPERTY_KEYS);
  checkSeed(where, options);
  // Until 2026-12-07 a `releaseWithinMs` of NaN, Infinity or '100' let a provider that ignores its
  // signal pass `callsReleased`, `maxCommands: 0` ran no command and passed, and a NaN or a
  // `maxDeadlineMs` under 50 (the least deadline drawn) failed as fast-check's "fc.integer maximum".
  checkTimerMs(where, options, 'releaseWithinMs');
  checkWhole(where, options, 'maxCommands', 1, Number.MAX_SAFE_INTEGER);
  checkWhole(where, options, 'maxDeadlineMs', 50, MAX_TIMER_MS);
  checkRunShape(where, options as PropertyOptions | undefined);
  const contract = (options as { contract?: unknown } | undefined)?.contract;
  if (contract !== false) checkContractOptions(`${where}.contract`, contract);
}
