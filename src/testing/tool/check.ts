/**
 * `checkToolContract(options)`: your `withSession` tool on a real MCP server and the SDK's client,
 * each named property run with fast-check (every property with the same seed). A first call left
 * alone measures how long the handler runs; aborts are drawn within that time. Throws a
 * `ToolContractError` naming each broken property with its shrunk case; resolves with the report.
 */
import { runtimeError } from '../../core/errors.js';
import { onlyKeys } from '../../runtime/option-keys.js';
import { failureOf } from '../broken.js';
import { type FastCheck, loadFastCheck } from '../fast-check.js';
import { checkOnly, checkSeed, checkTimerMs } from '../option-keys.js';
import { runsFrom } from '../runs.js';
import { stopAfterSlowFailure } from '../slow-failure.js';
import { abortEnds, signalHonoured } from './abort.js';
import { checkAnswer, progressDelivered, resultMetadata } from './answer.js';
import { disconnectEnds } from './disconnect.js';
import { startHarness } from './harness.js';
import type { ToolContext, ToolProperty } from './property.js';
import {
  type ToolArguments,
  ToolContractError,
  type ToolContractFailure,
  type ToolContractOptions,
  type ToolContractPropertyName,
  type ToolContractReport,
  type ToolContractTransport,
} from './types.js';

export const PROPERTIES: readonly ToolProperty<unknown>[] = [
  signalHonoured,
  abortEnds,
  resultMetadata,
  progressDelivered,
  disconnectEnds,
] as unknown as readonly ToolProperty<unknown>[];

/** The properties whose event (a cancel, a deadline, a disconnect) must meet the handler running. */
const MEET_RUNNING: readonly ToolProperty<unknown>[] = [signalHonoured, abortEnds, disconnectEnds] as never;

const OPTION_KEYS = {
  register: true,
  tool: true,
  args: true,
  runtime: true,
  numRuns: true,
  seed: true,
  abortWithinMs: true,
  callTimeoutMs: true,
  only: true,
  transport: true,
  requireProgress: true,
} as const satisfies Record<keyof ToolContractOptions, true>;

const TRANSPORTS: readonly ToolContractTransport[] = ['memory', 'http'];

/** Below this an abort seldom meets the handler running, and the abort properties would check nothing. */
export const MIN_HANDLER_MS = 20;

export async function checkToolContract(options: ToolContractOptions): Promise<ToolContractReport> {
  const args = checkToolOptions('checkToolContract options', options);
  const fc = await loadFastCheck();
  const numRuns = runsFrom(options.numRuns, 'TROUPE_CONTRACT_RUNS', 20);
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 1;
  const abortWithinMs = options.abortWithinMs ?? 100;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const wanted = PROPERTIES.filter((p) => options.only === undefined || options.only.includes(p.name));
  const harness = await startHarness(options, callTimeoutMs);
  const observed = { abortsInFlight: 0, disconnectsInFlight: 0, progressReports: 0 };
  const requireProgress = options.requireProgress ?? false;
  const base = { harness, args, abortWithinMs, callTimeoutMs, observed, requireProgress, windowMs: 0 };
  const checked: { property: ToolContractPropertyName; ms: number }[] = [];
  const failures: ToolContractFailure[] = [];
  let handlerMs = 0;
  try {
    try {
      const first = await checkAnswer(base, { args: 0 });
      const run = first.sessions[0]?.runs.at(-1);
      handlerMs = run?.settled === undefined ? 0 : run.settled.at - run.startedAt;
    } catch (error) {
      failures.push({
        property: 'resultMetadata',
        seed,
        message: error instanceof Error ? error.message : String(error),
        counterexample: '{"args":0} (the first call, which measures the handler)',
        path: '',
        shrinks: 0,
      });
    }
    if (failures.length === 0) {
      if (handlerMs < MIN_HANDLER_MS && wanted.some((p) => MEET_RUNNING.includes(p)))
        throw runtimeError(
          'INVALID_REQUEST',
          `Expected the handler to run at least ${MIN_HANDLER_MS} ms on \`args\` ${JSON.stringify(args[0])}, so an abort can meet it running (have it wait on a slow fake vendor or a delay), got an answer in ${Math.round(handlerMs)} ms; or pass \`only: ['resultMetadata', 'progressDelivered']\``,
        );
      const context: ToolContext = { ...base, windowMs: Math.floor(handlerMs * 0.8) };
      for (const property of wanted) {
        const started = Date.now();
        const failure = await runProperty(fc, property, context, numRuns, seed);
        checked.push({ property: property.name, ms: Date.now() - started });
        if (failure !== undefined) failures.push(failure);
      }
    }
  } finally {
    await harness.close();
  }
  const report: ToolContractReport = {
    tool: harness.tool,
    transport: harness.transport,
    seed,
    numRuns,
    handlerMs: Math.round(handlerMs),
    checked,
    observed,
    failures,
  };
  if (failures.length > 0) throw new ToolContractError(report);
  return report;
}

async function runProperty(
  fc: FastCheck,
  property: ToolProperty<unknown>,
  context: ToolContext,
  numRuns: number,
  seed: number,
): Promise<ToolContractFailure | undefined> {
  // Examples count toward fast-check's `numRuns`: add them, so `numRuns` random cases still run.
  const examples = property.examples(context).map((example) => [example] as [unknown]);
  const slow = stopAfterSlowFailure<[unknown]>(fc);
  const details = await fc.check(
    fc.asyncProperty(property.arbitrary(fc, context), (c) => property.check(context, c)),
    { numRuns: numRuns + examples.length, seed, examples, plugins: [slow.plugin] },
  );
  const failure = failureOf(fc, property.name, details);
  return failure === undefined ? undefined : { ...failure, message: slow.note(failure.message) };
}

/**
 * Refuses what would check less than asked, before anything runs; the argument sets, as a list.
 * `where` names the caller in the refusal; `extra` are keys of its own (`describeToolContract`'s `timeoutMs`).
 */
export function checkToolOptions(
  where: string,
  options: ToolContractOptions,
  extra: readonly string[] = [],
): readonly ToolArguments[] {
  onlyKeys(where, options, { ...OPTION_KEYS, ...Object.fromEntries(extra.map((key) => [key, true])) });
  if (typeof options?.register !== 'function')
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`register\` in \`${where}\` to be a function (server, runtime) => void that registers your tool, got ${typeof options?.register}`,
    );
  checkSeed(where, options);
  for (const key of ['abortWithinMs', 'callTimeoutMs', ...extra]) checkTimerMs(where, options, key);
  checkOnly(
    'the tool contract',
    options.only,
    PROPERTIES.map((p) => p.name),
  );
  if (options.transport !== undefined && !TRANSPORTS.includes(options.transport))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`transport\` in \`${where}\` to be ${TRANSPORTS.map((t) => `'${t}'`).join(' or ')}, got ${JSON.stringify(options.transport) ?? String(options.transport)}`,
    );
  if (options.requireProgress !== undefined && typeof options.requireProgress !== 'boolean')
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`requireProgress\` in \`${where}\` to be true or false, got ${JSON.stringify(options.requireProgress) ?? String(options.requireProgress)}`,
    );
  const given: unknown = options.args ?? {};
  const list = (Array.isArray(given) ? given : [given]) as unknown[];
  if (list.length === 0 || list.some((a) => typeof a !== 'object' || a === null || Array.isArray(a)))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`args\` to be the tool's arguments (an object) or a non-empty list of them, got ${JSON.stringify(given)}`,
    );
  return list as ToolArguments[];
}
