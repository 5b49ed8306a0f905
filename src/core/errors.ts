/**
 * troupe's errors: two families with closed string codes, one converter from `unknown`.
 *
 * Errors cross actor boundaries as plain data (`TroupeErrorData`), so a session's context stays
 * serialisable; `TroupeError` is the throwable form for callers.
 */

export type RuntimeErrorCode =
  | 'QUEUE_FULL'
  | 'SHUTTING_DOWN'
  | 'TIMED_OUT'
  | 'CANCELLED'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_PROVIDER'
  | 'UNKNOWN_SESSION'
  | 'BACKEND_UNAVAILABLE'
  /** The caller's or the global daily budget is spent (or reserved by calls in flight); it resets at the next UTC midnight. */
  | 'BUDGET_EXCEEDED'
  | 'INTERNAL';

export type ProviderErrorCode =
  | 'RATE_LIMITED'
  | 'AUTH_FAILED'
  | 'MODEL_NOT_FOUND'
  | 'INVALID_REQUEST'
  | 'PROVIDER_UNAVAILABLE'
  | 'NETWORK'
  | 'BAD_RESPONSE'
  | 'CANCELLED'
  | 'NOT_CONFIGURED'
  /** Out of credit, plan expired, or a daily/usage-window quota spent: top up or wait for the reset. */
  | 'QUOTA_EXHAUSTED'
  /** The vendor's safety review refused the input or the output. */
  | 'CONTENT_FILTERED'
  /** Prompt plus completion budget exceed the model's context window. */
  | 'CONTEXT_TOO_LONG';

export type ErrorFamily = 'runtime' | 'provider';

export type TroupeErrorCode = RuntimeErrorCode | ProviderErrorCode;

/** Which deadline a `TIMED_OUT` error passed. */
export type TimeoutKind = 'queue' | 'run' | 'idle';

/**
 * Which silence an `idle` timeout ended: `stream`, the session's own deadline between a stream's
 * deltas (the provider had not answered since); `body`, a whole answer's body that stopped coming
 * after its headers (the provider took the call).
 */
export type StallKind = 'stream' | 'body';

/** The serialisable form of an error, as it travels in events, context and results. */
export interface TroupeErrorData {
  readonly family: ErrorFamily;
  readonly code: TroupeErrorCode;
  readonly message: string;
  /** Whether the session may retry after this error (see the retry table in docs/providers.md). */
  readonly retryable: boolean;
  /** A provider's hint (`Retry-After`), in milliseconds, when it gave one. */
  readonly retryAfterMs?: number;
  /** HTTP status when the error came from an HTTP response. */
  readonly status?: number;
  readonly timeout?: TimeoutKind;
  /**
   * On an `idle` timeout troupe made (its session machine, its adapters): which silence it ended.
   * An adapter of your own may leave it out.
   */
  readonly stalled?: StallKind;
  /**
   * The vendor answered that the model called, alone, is overloaded (GLM 1305, 1312): not a fault
   * of the provider, so its circuit breaker, one for all its models, does not count it.
   */
  readonly modelScoped?: true;
}

const RETRYABLE_PROVIDER_CODES: ReadonlySet<ProviderErrorCode> = new Set([
  'RATE_LIMITED',
  'PROVIDER_UNAVAILABLE',
  'NETWORK',
]);

/** The retry table: only these provider codes are retried by a session. */
export function isRetryableCode(family: ErrorFamily, code: TroupeErrorCode): boolean {
  return family === 'provider' && RETRYABLE_PROVIDER_CODES.has(code as ProviderErrorCode);
}

const MAX_MESSAGE_CHARS = 1000;

/**
 * The longest wait a server may ask of a rate limit or an outage, 10 minutes: the provider's cooldown
 * follows the hint for every caller. Until 2026-12-04 none: one 429 with `Retry-After: 1000000000`
 * paused a provider until the process restarted. Past the run deadline, 10 minutes moves a session
 * to its fallback as the whole hint would; a provider that still refuses is asked again after it. A
 * quota's reset time (`QUOTA_EXHAUSTED`, which nothing retries) is told as it is.
 */
export const MAX_COOLDOWN_HINT_MS = 600_000;

/**
 * A hint as the runtime may follow it, for every error however built (an adapter's own included):
 * not a number of ms from 0 up is no hint; a rate limit's, which sets the provider's cooldown, is
 * held to `MAX_COOLDOWN_HINT_MS`. Until 2026-12-04 an adapter's `retryAfterMs: NaN` (a
 * `Retry-After` it read as `Number(undefined) * 1000`) made the provider's cooldown end at `NaN`,
 * and the next `submit` spun in its pump for ever; its `1e12` paused the provider for 31 years.
 * Other codes keep theirs (a circuit breaker's an hour open, a quota's reset); a vendor's outage
 * hint is held where the vendor's answer is read (`http-errors.ts`).
 */
function hintOf(code: TroupeErrorCode, ms: number | undefined): number | undefined {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) return undefined;
  if (code === 'RATE_LIMITED') return Math.min(ms, MAX_COOLDOWN_HINT_MS);
  return Number.isFinite(ms) ? ms : undefined;
}

export class TroupeError extends Error {
  readonly family: ErrorFamily;
  readonly code: TroupeErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly timeout: TimeoutKind | undefined;
  /** See `TroupeErrorData.stalled`. */
  readonly stalled: StallKind | undefined;
  /** See `TroupeErrorData.modelScoped`. */
  readonly modelScoped: true | undefined;

  constructor(
    family: ErrorFamily,
    code: TroupeErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryable?: boolean;
      retryAfterMs?: number;
      status?: number;
      timeout?: TimeoutKind;
      stalled?: StallKind;
      modelScoped?: boolean;
    } = {},
  ) {
    super(truncate(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = family === 'runtime' ? 'TroupeRuntimeError' : 'TroupeProviderError';
    this.family = family;
    this.code = code;
    this.retryable = options.retryable ?? isRetryableCode(family, code);
    this.retryAfterMs = hintOf(code, options.retryAfterMs);
    this.status = options.status;
    this.timeout = options.timeout;
    this.stalled = options.stalled;
    this.modelScoped = options.modelScoped === true ? true : undefined;
  }

  toData(): TroupeErrorData {
    return errorData(this);
  }

  static fromData(data: TroupeErrorData): TroupeError {
    return new TroupeError(data.family, data.code, data.message, data);
  }
}

export function runtimeError(
  code: RuntimeErrorCode,
  message: string,
  options?: { cause?: unknown; timeout?: TimeoutKind; stalled?: StallKind },
): TroupeError {
  return new TroupeError('runtime', code, message, options);
}

export function providerError(
  code: ProviderErrorCode,
  message: string,
  options?: {
    cause?: unknown;
    retryAfterMs?: number;
    status?: number;
    retryable?: boolean;
    modelScoped?: boolean;
  },
): TroupeError {
  return new TroupeError('provider', code, message, options);
}

function errorData(e: TroupeError): TroupeErrorData {
  const data: {
    -readonly [K in keyof TroupeErrorData]: TroupeErrorData[K];
  } = { family: e.family, code: e.code, message: e.message, retryable: e.retryable };
  if (e.retryAfterMs !== undefined) data.retryAfterMs = e.retryAfterMs;
  if (e.status !== undefined) data.status = e.status;
  if (e.timeout !== undefined) data.timeout = e.timeout;
  if (e.stalled !== undefined) data.stalled = e.stalled;
  if (e.modelScoped === true) data.modelScoped = true;
  return data;
}

/**
 * The one converter: any thrown value becomes a `TroupeError`. Aborts become `CANCELLED`,
 * anything unrecognised becomes `INTERNAL` with the original kept as `cause`.
 */
export function toTroupeError(value: unknown): TroupeError {
  try {
    return converted(value);
  } catch {
    // A value that throws as it is read (a getter, a Proxy's trap, a revoked Proxy): until 2026-12-07
    // that throw escaped the one converter, and a task's session ran on to its deadline unanswered.
    return runtimeError('INTERNAL', 'Unexpected thrown value, which threw as it was read', { cause: value });
  }
}

function converted(value: unknown): TroupeError {
  if (value instanceof TroupeError) return value;
  if (isAbortError(value)) {
    return runtimeError('CANCELLED', 'Expected the operation to finish, got an abort', { cause: value });
  }
  if (value instanceof Error) {
    return runtimeError('INTERNAL', `Unexpected error: ${value.message}`, { cause: value });
  }
  return runtimeError('INTERNAL', `Unexpected thrown value: ${describe(value)}`, { cause: value });
}

export function toErrorData(value: unknown): TroupeErrorData {
  return toTroupeError(value).toData();
}

export function isAbortError(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as { name: unknown }).name === 'AbortError' ||
      (value as { name: unknown }).name === 'APIUserAbortError')
  );
}

/** `` `12` (number) ``, `` `"x"` (string) ``: for messages that say what came. */
export function describe(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  // JSON has no `Infinity`, `NaN` or bigint: it would show `null` or throw. Their own text says what came.
  if (typeof value === 'number' && !Number.isFinite(value)) return `\`${value}\` (number)`;
  if (typeof value === 'bigint') return `\`${value}n\` (bigint)`;
  let shown: string;
  try {
    // `undefined` from JSON (a function, a symbol) falls back to the value's own text.
    shown = String(JSON.stringify(value) ?? value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return `\`${truncate(shown, 80)}\` (${Array.isArray(value) ? 'array' : typeof value})`;
}

function truncate(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
