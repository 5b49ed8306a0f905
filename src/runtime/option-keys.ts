/**
 * The fields `createRuntime` takes, so a misspelt one is refused instead of ignored: from
 * JavaScript `limits: { maxConcurent: 2 }` or `budgets: { perCalller: 5 }` used to run with no
 * limit and no budget, silently (TypeScript catches them in a literal; nothing did at run time).
 * Each list is checked against its interface at compile time (`satisfies Record<keyof T, true>`),
 * so a field added to the type and not here fails the typecheck, and one removed fails it too.
 */
import { runtimeError } from '../core/errors.js';
import type { SessionRequest } from '../providers/session-request.js';
import type { BreakerOptions } from './breakers.js';
import type { BudgetOptions } from './budgets.js';
import type { Defaults, Limits, RunOptions, RuntimeOptions, SubmitOptions } from './types.js';

const RUNTIME_KEYS = {
  providers: true,
  limits: true,
  defaults: true,
  clock: true,
  random: true,
  router: true,
  onError: true,
  sharedState: true,
  backend: true,
  engine: true,
  inspect: true,
  inspectSampleRate: true,
  tracer: true,
  prices: true,
  breakers: true,
  budgets: true,
} as const satisfies Record<keyof RuntimeOptions, true>;

const LIMIT_KEYS = {
  maxConcurrent: true,
  maxRunningPerCaller: true,
  perProvider: true,
  maxQueued: true,
  maxQueuedPerCaller: true,
  maxQueuedBytes: true,
  fairnessEvery: true,
  historySize: true,
  callerMetadataBytes: true,
  providers: true,
  defaultCompletionTokens: true,
} as const satisfies Record<keyof Limits, true>;

const DEFAULT_KEYS = {
  provider: true,
  model: true,
  priority: true,
  timeoutMs: true,
  queueTimeoutMs: true,
  idleTimeoutMs: true,
  maxAttempts: true,
  backoffBaseMs: true,
  backoffMaxMs: true,
} as const satisfies Record<keyof Defaults, true>;

const BUDGET_KEYS = {
  perCaller: true,
  global: true,
  currency: true,
  maxCallers: true,
  trackAlways: true,
  defaultCompletionTokens: true,
} as const satisfies Record<keyof BudgetOptions, true>;

const BREAKER_KEYS = {
  failures: true,
  windowMs: true,
  openMs: true,
  probeTimeoutMs: true,
  minTimeoutMs: true,
} as const satisfies Record<keyof BreakerOptions, true>;

const SUBMIT_KEYS = {
  priority: true,
  timeoutMs: true,
  queueTimeoutMs: true,
  idleTimeoutMs: true,
  maxAttempts: true,
  signal: true,
  requestId: true,
  metadata: true,
  label: true,
  parent: true,
} as const satisfies Record<keyof SubmitOptions, true>;

const RUN_KEYS = {
  ...SUBMIT_KEYS,
  lane: true,
  name: true,
  bytes: true,
} as const satisfies Record<keyof RunOptions, true>;

const REQUEST_KEYS = {
  provider: true,
  model: true,
  stream: true,
  fallbacks: true,
  messages: true,
  tools: true,
  tool_choice: true,
  temperature: true,
  top_p: true,
  max_tokens: true,
  stop: true,
  thinking: true,
  extra: true,
  files: true,
} as const satisfies Record<keyof SessionRequest, true>;

/**
 * A chat request's fields: from JavaScript `submit({ messages, temprature: 0.2, response_format })`
 * used to drop both on the way to the provider, silently. A vendor's own field goes in `extra`.
 */
export function checkRequestKeys(request: SessionRequest): void {
  // `submit(null)` threw a TypeError, and `submit("hi")` was taken, to fail later.
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw runtimeError('INVALID_REQUEST', `Expected the request to be an object, got ${describe(request)}`);
  }
  // Stryker disable next-line ConditionalExpression: a shortcut; the search below finds no unknown field either.
  if (knownOnly(request, REQUEST_KEYS)) return;
  const unknown = Object.keys(request).find((key) => !Object.hasOwn(REQUEST_KEYS, key));
  if (unknown === undefined) return;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected only ${Object.keys(REQUEST_KEYS).join(', ')} in the request, got \`${unknown}\`; a field of the provider's own API goes in \`extra\` (sent as given)`,
  );
}

/**
 * `submit`'s and `run`'s options: from JavaScript `submit(request, { timeout: 200 })` used to run
 * under the default 120 s deadline, silently.
 */
export function checkSubmitKeys(options: SubmitOptions, kind: 'submit' | 'run'): void {
  const known = kind === 'submit' ? SUBMIT_KEYS : RUN_KEYS;
  // Stryker disable next-line ConditionalExpression: a shortcut; `only` checks every field again.
  if (!knownOnly(options, known)) only(`${kind} options`, options, known);
}

/**
 * Whether every field of `value` is in `known`, with no array of keys on the way of every submit
 * (`only` makes one, for a field not known). Inherited fields too: `only` tells them apart.
 */
// Stryker disable BlockStatement,ConditionalExpression,BooleanLiteral: a shortcut; a wrong answer only sends a valid call the slow way (its callers check again).
function knownOnly(value: object | undefined, known: Readonly<Record<string, true>>): boolean {
  for (const key in value) if (!Object.hasOwn(known, key)) return false;
  return true;
}
// Stryker restore BlockStatement,ConditionalExpression,BooleanLiteral

/**
 * Throws `INVALID_REQUEST` naming the first field of `options` (or of its parts) it does not take,
 * or a part that is not an object (`budgets: null` used to fail every call with `INTERNAL`).
 */
export function checkOptionKeys(options: RuntimeOptions): void {
  only('createRuntime options', options, RUNTIME_KEYS);
  only('limits', options.limits, LIMIT_KEYS);
  only('defaults', options.defaults, DEFAULT_KEYS);
  only('budgets', options.budgets, BUDGET_KEYS);
  // `true` takes the defaults, `false` turns them off: nothing to check.
  if (typeof options.breakers !== 'boolean') only('breakers', options.breakers, BREAKER_KEYS);
}

function only(where: string, value: unknown, known: Readonly<Record<string, true>>): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw runtimeError('INVALID_REQUEST', `Expected \`${where}\` to be an object, got ${describe(value)}`);
  }
  onlyKeys(where, value, known);
}

/**
 * Throws `INVALID_REQUEST` naming the first own field of `value` not in `known`, with the list
 * of those it takes; anything but an object is left to the caller. Every options check of troupe's
 * (the runtime's, the MCP front's, the host's, the test harness's) refuses with this one.
 */
export function onlyKeys(where: string, value: unknown, known: Readonly<Record<string, true>>): void {
  if (typeof value !== 'object' || value === null) return;
  const unknown = Object.keys(value).find((key) => !Object.hasOwn(known, key));
  if (unknown === undefined) return;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected only ${Object.keys(known).join(', ')} in \`${where}\`, got \`${unknown}\``,
  );
}

function describe(value: unknown): string {
  return value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : `\`${String(value)}\` (${typeof value})`;
}
