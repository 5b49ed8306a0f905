/**
 * A logger that keeps what it is given, for the provider contract's `logged` option: hand
 * `capture.logger` to your adapter where it takes a logger (pino-shaped: `info(obj, msg)`,
 * `child(bindings)`; console-shaped: `log(...)`), and `logged: () => capture.entries` to the
 * contract, which searches every entry for the API key after each case. Nothing is printed.
 */

export type LogCaptureLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'log';

/** One call of the logger: its level, its arguments as given, and the bindings of its `child()`s. */
export interface LogEntry {
  readonly level: LogCaptureLevel;
  readonly args: readonly unknown[];
  readonly bindings: Readonly<Record<string, unknown>>;
}

export interface CapturingLogger {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  fatal(...args: unknown[]): void;
  log(...args: unknown[]): void;
  /** A logger whose entries carry `bindings` too (pino's `child`), kept in the same list. */
  child(bindings: Record<string, unknown>): CapturingLogger;
}

export interface LogCapture {
  readonly logger: CapturingLogger;
  /** Every entry so far, oldest first. */
  readonly entries: readonly LogEntry[];
}

export function createLogCapture(): LogCapture {
  const entries: LogEntry[] = [];
  const loggerWith = (bindings: Readonly<Record<string, unknown>>): CapturingLogger => {
    const at =
      (level: LogCaptureLevel) =>
      (...args: unknown[]): void => {
        entries.push({ level, args, bindings });
      };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      log: at('log'),
      child: (more) => loggerWith({ ...bindings, ...more }),
    };
  };
  return { logger: loggerWith({}), entries };
}
