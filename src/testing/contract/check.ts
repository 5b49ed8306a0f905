/**
 * `checkProviderContract(provider, options)`: runs each named property with fast-check, every
 * property with the same seed, and throws a `ProviderContractError` naming each broken property
 * with its shrunk case. Resolves with the report (what was checked, what was skipped and why).
 */
import { runtimeError } from '../../core/errors.js';
import type { ChatProvider } from '../../providers/port.js';
import { failureOf } from '../broken.js';
import { type FastCheck, loadFastCheck } from '../fast-check.js';
import { checkContractOptions, checkOnly } from '../option-keys.js';
import { runsFrom } from '../runs.js';
import { stopAfterSlowFailure } from '../slow-failure.js';
import { capabilities } from './capabilities.js';
import { errorsMapped } from './errors.js';
import { type ContractContext, createContext } from './harness.js';
import { isolation } from './isolation.js';
import { type LogWatch, watchLogs } from './logged.js';
import type { ContractProperty } from './property.js';
import { requestSent } from './sent.js';
import { resultShape } from './shape.js';
import { signalHonoured } from './signal.js';
import { streamContract } from './stream.js';
import {
  type ContractFailure,
  type ContractOptions,
  type ContractPropertyName,
  type ContractReport,
  ProviderContractError,
} from './types.js';
import { requestUntouched } from './untouched.js';

export const PROPERTIES: readonly ContractProperty[] = [
  signalHonoured,
  streamContract,
  resultShape,
  requestUntouched,
  requestSent,
  isolation,
  errorsMapped,
  capabilities,
];

/** Each property's one-line description, by name (for test titles and docs). */
export const CONTRACT_TITLES: Readonly<Record<ContractPropertyName, string>> = Object.fromEntries(
  PROPERTIES.map((p) => [p.name, p.title]),
) as Record<ContractPropertyName, string>;

export const DEFAULT_CONTRACT_RUNS = 20;

export async function checkProviderContract(
  provider: ChatProvider,
  options: ContractOptions = {},
): Promise<ContractReport> {
  checkContractOptions('checkProviderContract options', options);
  checkRunnable(options);
  const fc = await loadFastCheck();
  const numRuns = runsFrom(options.numRuns, 'TROUPE_CONTRACT_RUNS', DEFAULT_CONTRACT_RUNS);
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 1;
  const { context, dispose } = createContext(provider, options.server, {
    model: options.model ?? 'contract-model',
    capabilities: {
      streaming: options.capabilities?.streaming ?? true,
      tools: options.capabilities?.tools ?? false,
      files: options.capabilities?.files ?? false,
      thinking: options.capabilities?.thinking ?? false,
    },
    abortWithinMs: options.abortWithinMs ?? 100,
    apiKey: options.apiKey,
    failingFinishReasons: options.failingFinishReasons ?? [],
  });
  const checked: { property: ContractPropertyName; ms: number }[] = [];
  const skipped: { property: ContractPropertyName; reason: string }[] = [];
  const failures: ContractFailure[] = [];
  const logs = watchLogs<[never]>(options.apiKey, options.logged);
  try {
    for (const property of PROPERTIES) {
      if (options.only !== undefined && !options.only.includes(property.name)) continue;
      const reason = property.skip(context);
      if (reason !== undefined) {
        skipped.push({ property: property.name, reason });
        continue;
      }
      const started = Date.now();
      const failure = await runProperty(fc, property, context, { numRuns, seed, path: options.path, logs });
      checked.push({ property: property.name, ms: Date.now() - started });
      if (failure !== undefined) failures.push(failure);
    }
  } finally {
    logs.stop();
    dispose();
  }
  const report: ContractReport = { provider: provider.name, seed, numRuns, checked, skipped, failures };
  if (failures.length > 0) throw new ProviderContractError(report);
  return report;
}

/**
 * What the key check cannot see: `only` naming nothing, or a name no property has (a misspelt
 * `signalHonored` checked nothing and passed, until 2026-12-04); a server not yet started (every
 * property that needs it failed, blaming the adapter for a request that could go nowhere).
 */
function checkRunnable(options: ContractOptions): void {
  checkOnly(
    'the contract',
    options.only,
    PROPERTIES.map((property) => property.name),
  );
  checkPath(options);
  if (options.server !== undefined && !options.server.baseURL)
    throw runtimeError(
      'INVALID_REQUEST',
      'Expected `server` to be listening (`await server.start()` first), got one with no baseURL yet',
    );
}

/**
 * A path names one case of one property's run under one seed: without the seed it names nothing,
 * and across properties it would name a different case in each (as `checkRuntimeProperties`
 * refuses a path alone).
 */
function checkPath(options: ContractOptions): void {
  const { path, seed, only } = options;
  if (path === undefined) return;
  if (typeof path !== 'string' || !/^\d+(:\d+)*$/.test(path))
    throw new RangeError(
      `Expected \`path\` to be a path as a failure prints it ("1:0:2"), got ${JSON.stringify(path)}`,
    );
  if (seed === undefined || only?.length !== 1)
    throw new RangeError(
      'Expected `seed` and `only` naming one property with `path` (a path names a case of one property under one seed), as the failure prints them: { seed, only: [property], path }',
    );
}

async function runProperty(
  fc: FastCheck,
  property: ContractProperty,
  context: ContractContext,
  {
    numRuns,
    seed,
    path,
    logs,
  }: { numRuns: number; seed: number; path: string | undefined; logs: LogWatch<[never]> },
): Promise<ContractFailure | undefined> {
  // Examples count toward fast-check's `numRuns`: add them, so `numRuns` random cases still run.
  const examples = (property.examples?.(context) ?? []).map((example) => [example] as [never]);
  const slow = stopAfterSlowFailure<[never]>(fc);
  const details = await fc.check(property.build(fc, context), {
    numRuns: numRuns + examples.length,
    seed,
    examples,
    // The log watch inside the slow stop: a case that logged the key fails as any other.
    plugins: [logs.plugin, slow.plugin],
    ...(path === undefined ? {} : { path }),
  });
  const failure = failureOf(fc, property.name, details);
  return failure === undefined ? undefined : { ...failure, message: slow.note(failure.message) };
}
