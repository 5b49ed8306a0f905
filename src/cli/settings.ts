/**
 * Every setting of `serve` and `stdio`: its key, flag, environment variable, kind, default and
 * bounds of its own. `config.ts` resolves them (flag, then environment, then file, then default).
 */
import { ATTEMPTS } from '../runtime/option-numbers.js';
import type { Bounded, Kind, Money, Value } from './config-values.js';

export type SettingKey =
  | 'maxConcurrent'
  | 'maxRunningPerCaller'
  | 'maxQueued'
  | 'maxQueuedPerCaller'
  | 'maxQueuedBytes'
  | 'maxCallerPriority'
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
  | 'budgetGlobal'
  | 'historySize'
  | 'maxTasks'
  | 'maxTaskResultBytes'
  | 'maxRequestBytes'
  | 'maxMcpSessions'
  | 'maxConnections'
  | 'keepAliveTimeoutMs'
  | 'idleSessionMs'
  | 'stalledOutputMs';

type MoneyKey = 'budgetPerCaller' | 'budgetGlobal';
/** Every setting's value: amounts of money for the budgets, numbers for the rest. */
export type SettingValues = { readonly [K in SettingKey]: K extends MoneyKey ? Money : number };

export interface Setting {
  readonly key: SettingKey;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly fallback: Value;
  readonly summary: string;
  /** The default as the usage states it, when it is derived rather than `fallback` itself. */
  readonly defaultText?: string;
  /** A setting of the HTTP front only: `troupe serve` takes it, `troupe stdio` has no such flag. */
  readonly serveOnly?: true;
  /** Bounds of the setting's own, refused past rather than applied unseen. */
  readonly min?: Bounded['min'];
  readonly max?: Bounded['max'];
}

const EVERY_CALL_QUEUES = {
  value: 1,
  why: 'every call waits in the queue, however briefly: 0 would refuse them all',
};

export const SETTINGS: readonly Setting[] = [
  s('maxConcurrent', 'positive', 64, 'sessions running at once, over all providers'),
  s(
    'maxRunningPerCaller',
    'positive',
    48,
    "sessions of one caller (named token, else MCP session) running at once; past it that caller's calls wait while others' run",
    'three quarters of maxConcurrent (at least 1), 48 with its default; stdio: all of it, one caller',
  ),
  // Every call of serve and stdio waits in the queue, however briefly: a queue bound of 0 refused
  // them all on an idle server (the runtime's 0 admits only `run` tasks, which neither has).
  {
    ...s(
      'maxQueued',
      'nonNegative',
      10_000,
      'sessions waiting for a slot; past it a call fails with QUEUE_FULL',
    ),
    min: EVERY_CALL_QUEUES,
  },
  {
    ...s(
      'maxQueuedPerCaller',
      'nonNegative',
      2_500,
      "sessions of one caller (named token, else MCP session) waiting; past it that caller's calls fail with QUEUE_FULL",
      'a quarter of maxQueued, 2500 with its default; stdio: all of it, one caller',
    ),
    min: EVERY_CALL_QUEUES,
  },
  {
    ...s(
      'maxQueuedBytes',
      'nonNegative',
      268_435_456,
      'bytes of request JSON waiting for a slot (256 MiB); past it QUEUE_FULL, a request larger than it INVALID_REQUEST',
    ),
    min: EVERY_CALL_QUEUES,
  },
  {
    ...s(
      'maxCallerPriority',
      'nonNegative',
      9,
      'highest priority (5 to 9) a client may ask of the tools; higher gets INVALID_REQUEST; admins are not capped',
    ),
    min: { value: 5, why: 'a call that asks no priority runs at 5, which a lower cap would not hold' },
    max: { value: 9, why: 'priorities run from 0 to 9' },
  },
  s('timeoutMs', 'positiveMs', 120_000, "a call's run deadline unless it asks for its own"),
  s('queueTimeoutMs', 'positiveMs', 60_000, 'how long a call may wait in the queue'),
  s(
    'idleTimeoutMs',
    'positiveMs',
    30_000,
    'a stream with no chunk, or an answer whose body stops coming, for this long times out',
  ),
  {
    ...s('maxAttempts', 'positive', 3, 'attempts per call, the first included (retries = attempts - 1)'),
    // The library's own ceiling (docs/runtime.md, "Ceilings"), refused here under the flag's name.
    max: ATTEMPTS,
  },
  s('backoffBaseMs', 'nonNegativeMs', 250, 'first retry backoff, doubled per attempt, with jitter'),
  s('backoffMaxMs', 'nonNegativeMs', 10_000, 'longest retry backoff'),
  s('drainMs', 'nonNegativeMs', 10_000, 'on SIGINT/SIGTERM, how long calls may finish before cancelled'),
  {
    ...s(
      'progressMs',
      'positiveMs',
      5_000,
      'interval of MCP progress notifications while a call runs, at most 10000',
    ),
    // run-session.ts caps it: clients whose 60 s request timeout resets on progress need it often.
    max: {
      value: 10_000,
      why: 'milliseconds: a client whose 60 s request timeout resets on progress needs it that often',
    },
  },
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
  {
    ...s(
      'historySize',
      'nonNegative',
      1_000,
      'ended sessions kept for the sessions tool and troupe://sessions/{id}; when full, the caller holding the most gives its own oldest',
    ),
    max: {
      value: 20_000,
      why: "each holds its session's metadata (about 0.8 KB of heap), and the sessions tool lists from the newest 1000: more serves only lookups by id",
    },
  },
  s(
    'maxTasks',
    'positive',
    1_000,
    'MCP tasks held at once, finished ones kept until their TTL; one caller holds a quarter, its oldest finished task making room',
  ),
  {
    ...s(
      'maxTaskResultBytes',
      'positive',
      268_435_456,
      'bytes of MCP task results kept (256 MiB); one caller keeps a quarter, its oldest results making room; a result larger than that fails its task',
    ),
    min: {
      value: 65_536,
      why: "a caller's quarter must hold at least the error a refused result ends its task with, and its session's metadata",
    },
  },
  {
    ...s(
      'maxRequestBytes',
      'positive',
      4_194_304,
      'bytes of one MCP message from a client (an HTTP body, a stdio line; 4 MiB); larger gets 413 over HTTP, -32600 on stdio',
    ),
    min: {
      value: 65_536,
      why: 'a request may carry 64 KiB besides its arguments (its id, `_meta`)',
    },
    max: {
      value: 67_108_864,
      why: "one setting for serve and stdio, and serve's HTTP front takes at most 64 MiB of bodies at once: a larger message could never be received there",
    },
  },
  {
    ...s(
      'maxMcpSessions',
      'positive',
      1_000,
      'serve: 2025-era MCP sessions open at once (one more initialize gets 503); with named tokens, split evenly among them',
    ),
    serveOnly: true,
  },
  {
    ...s(
      'maxConnections',
      'positive',
      4_096,
      'serve: client connections open at once (one more is closed); one caller holds at most three quarters',
    ),
    serveOnly: true,
    min: {
      value: 16,
      why: 'a client holds several at once: its calls, a GET stream, a listen stream, the dashboard',
    },
  },
  {
    ...s(
      'keepAliveTimeoutMs',
      'positiveMs',
      5_000,
      "serve: how long an idle client connection stays open between requests; behind a proxy or load balancer that reuses connections, set it above the proxy's idle timeout (AWS ALB: 60 s), or the proxy may send on a connection being closed and answer 502",
    ),
    serveOnly: true,
    max: {
      value: 3_600_000,
      why: 'milliseconds: an idle connection holds a place of --max-connections; an hour is past any proxy default',
    },
  },
  {
    ...s(
      'idleSessionMs',
      'positiveMs',
      1_800_000,
      'serve: a 2025-era MCP session with no call in flight (a standing GET stream does not count) is closed after this long (30 min)',
    ),
    serveOnly: true,
    min: { value: 1_000, why: 'milliseconds: a client pauses between calls' },
    max: {
      value: 86_400_000,
      why: 'milliseconds: a session holds a place of --max-mcp-sessions; a day at most',
    },
  },
  {
    ...s(
      'stalledOutputMs',
      'positiveMs',
      30_000,
      'a client that takes none of its answers this long (any part taken starts the wait afresh) is cut off: over HTTP that response; over stdio the server stops as on a closed stdin',
    ),
    min: { value: 1_000, why: 'milliseconds: a host busy for a moment still reads its answers' },
    max: {
      value: 3_600_000,
      why: 'milliseconds: what waits unread is held in memory (64 MiB at most); an hour at most',
    },
  },
];

function s(key: SettingKey, kind: Kind, fallback: Value, summary: string, defaultText?: string): Setting {
  const words = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    key,
    flag: words,
    env: `TROUPE_${words.replace(/-/g, '_').toUpperCase()}`,
    kind,
    fallback,
    summary,
    ...(defaultText === undefined ? {} : { defaultText }),
  };
}
