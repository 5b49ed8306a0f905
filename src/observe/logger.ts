/**
 * Logs on stderr (pino): stdout stays free for `troupe stdio`'s protocol. JSON lines for machines,
 * and pino-pretty's readable lines when stderr is a terminal (`TROUPE_LOG_FORMAT` = `json` or
 * `pretty` overrides). Keys never reach a log line: known fields are redacted by path, and every
 * string is scrubbed of anything that looks like a key or a bearer token; pretty lines are made from
 * the already scrubbed JSON. Level from `TROUPE_LOG_LEVEL` (@default 'info').
 */
import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Field names whose values are secrets wherever they appear (two levels deep). */
const SECRET_FIELDS = [
  'apiKey',
  'api_key',
  'key',
  'token',
  'authorization',
  'Authorization',
  'password',
  'secret',
];
const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
];

/**
 * Strings that look like keys: `sk-...` (OpenAI, Moonshot), GLM's `<32 hex>.<16 chars>`, bearer
 * tokens, `key=...` and `password=...` and a user and password in URLs, and long opaque runs of base64/hex.
 */
const KEY_PATTERNS: readonly RegExp[] = [
  /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}/g,
  /\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b/g,
  /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  /([?&](?:api[_-]?key|key|token|access_token|password)=)[^&\s"]+/gi,
  // A URL's user and password (`redis://:pw@host`, `https://user:pw@proxy`), up to the `@`.
  /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'`]+(?=@)/gi,
  /\b(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{40,}={0,2}/g,
];

/** Replaces whatever looks like a key in `text` with `[REDACTED]`. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const pattern of KEY_PATTERNS) {
    out = out.replace(pattern, (_match, prefix?: unknown) =>
      typeof prefix === 'string' && prefix !== ''
        ? `${prefix}${/bearer/i.test(prefix) ? ' ' : ''}[REDACTED]`
        : '[REDACTED]',
    );
  }
  return out;
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubSecrets(value.message),
      ...('code' in value ? { code: (value as { code: unknown }).code } : {}),
      ...(value.stack === undefined ? {} : { stack: scrubSecrets(value.stack) }),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

/** Longest message a log line keeps: a rejected request's method name, quoted by the SDK, could be 64 KiB. */
const MAX_MESSAGE_CHARS = 2048;

/**
 * A message as one line: client-chosen text in it (model ids, a 2026-07-28 method name the SDK
 * quotes) must not start a line of its own in pretty output, which prints the message raw.
 */
export function oneLine(text: string): string {
  const flat = text.replace(
    /[\r\n\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return flat.length > MAX_MESSAGE_CHARS
    ? `${flat.slice(0, MAX_MESSAGE_CHARS)}… (${flat.length} characters)`
    : flat;
}

export type LogFormat = 'json' | 'pretty';

/** The format `TROUPE_LOG_FORMAT` names, in any case; `undefined` when it names none. */
export function namedLogFormat(raw: string | undefined): LogFormat | undefined {
  const format = raw?.trim().toLowerCase();
  return format === 'json' || format === 'pretty' ? format : undefined;
}

/** `TROUPE_LOG_FORMAT` when it names a format, else pretty on a terminal and JSON otherwise. */
export function logFormat(raw: string | undefined, tty: boolean): LogFormat {
  return namedLogFormat(raw) ?? (tty ? 'pretty' : 'json');
}

/**
 * pino-pretty as a synchronous stream on stderr, loaded only when used: it is pino's own
 * prettifier, and a JSON-logging server never pays for loading it.
 */
function prettyStderr(colorize: boolean): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
  return pretty({
    destination: 2,
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,component',
    messageFormat: '{if component}{component}: {end}{msg}',
    singleLine: true,
  });
}

export interface LoggerOptions {
  /** @default process.env.TROUPE_LOG_LEVEL ?? 'info' */
  readonly level?: string;
  /**
   * Where lines go. @default stderr, written synchronously so a line is never lost on exit; pretty
   * when `format` says so
   */
  readonly destination?: DestinationStream;
  /** @default logFormat(process.env.TROUPE_LOG_FORMAT, stderr is a terminal) */
  readonly format?: LogFormat;
  /** Bound to every line, e.g. `{ component: 'serve' }`. */
  readonly base?: Record<string, unknown>;
}

/** Resolves a level name; an unknown one falls back to `info` rather than failing to start. */
export function logLevel(raw: string | undefined): (typeof LOG_LEVELS)[number] {
  const level = raw?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level ?? '')
    ? (level as (typeof LOG_LEVELS)[number])
    : 'info';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: logLevel(options.level ?? process.env.TROUPE_LOG_LEVEL),
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrubValue(object, 0) as Record<string, unknown>,
      },
      hooks: {
        // Messages and printf-style arguments are scrubbed too, not only object fields.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? oneLine(scrubSecrets(a)) : a)) as Parameters<
              typeof method
            >,
          );
        },
      },
    },
    options.destination ?? defaultDestination(options.format),
  );
}

function defaultDestination(format: LogFormat | undefined): DestinationStream {
  const tty = process.stderr.isTTY === true;
  return (format ?? logFormat(process.env.TROUPE_LOG_FORMAT, tty)) === 'pretty'
    ? prettyStderr(tty)
    : pino.destination({ fd: 2, sync: true });
}
