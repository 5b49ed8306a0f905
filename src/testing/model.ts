/**
 * Model-based property tests of the runtime with fast-check: random sequences of submissions
 * (random provider, priority, deadlines, some within another session: `parent`), provider outcomes,
 * cancellations, clock advances, drains and a shutdown, against random limits; the invariants in
 * `invariants.ts` are checked throughout.
 *
 * With no provider given, calls go to a `ScriptedProvider` on a `SimulatedClock`, so the test
 * decides every outcome and every instant. Given a provider of yours, calls go to it on the real
 * clock and the same invariants are checked.
 *
 * Given a shared `backend` (Redis), the scripted providers run on the real clock (a shared queue
 * cannot follow a simulated one) with short deadlines. What such a run checks: every session ends
 * exactly once through the shared store, calls in flight and rate windows per provider hold (each
 * call counted on the target it went to, fallback hops included), cooldowns hold (`COOLDOWN_RACE_MS` aside), no provider call outlives its session, a session ends
 * cancelled only when it was cancelled (a parent's end leaves its child running), and nothing is left running, queued or live
 * at the end, with history bounded. Not checked there: `priorityOrder` (admissions are seen through
 * pub/sub after the queue made them, so the order of events is not the order of admissions),
 * `metricsMatch` (`metrics()` counts what this instance ran, not sessions that ended in the queue),
 * and the global `maxConcurrent` (per instance it bounds each provider's Worker).
 * No shutdown happens mid-run: on a cluster it hands running sessions back to the queue.
 */
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { systemClock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import { estimateTokens } from '../providers/estimate.js';
import type { ChatProvider } from '../providers/port.js';
import type { RuntimeBackend } from '../runtime/backend.js';
import { createRuntime } from '../runtime/runtime.js';
import type { SessionEngineKind } from '../runtime/session-engine.js';
import type { Runtime } from '../runtime/types.js';
import { BreakersSeen } from './breaker-invariants.js';
import { checkProviderContract } from './contract/check.js';
import type { ContractOptions } from './contract/types.js';
import { DeadlinesSeen } from './deadline-invariants.js';
import { HistorySeen } from './history-invariants.js';
import { COOLDOWN_RACE_MS, type InvariantName, RuntimeObserver, type Violation } from './invariants.js';
import { LendingSeen } from './lending-seen.js';
import { commandArbitraries, queueCommandArbitraries } from './model-arbitraries.js';
import {
  Advance,
  Cancel,
  type Command,
  Drain,
  MODEL_COMPLETION_TOKENS,
  type ScenarioLimits,
  Settle,
  SettleAll,
  Shutdown,
  Submit,
  settle,
  ToBreakerEdge,
  type World,
} from './model-commands.js';
import { limitsArbitrary, limitsOn, queueLimitsArbitrary } from './model-limits.js';
import type { OpenAIServer } from './openai-server.js';
import { checkPropertyOptions } from './option-keys.js';
import { runtimePropertyFailure } from './property-failure.js';
import { QueueRoomCheck } from './queue-room-check.js';
import { runsFrom, within } from './runs.js';
import { ScriptedProvider } from './scripted-provider.js';
import { SlotsSeen } from './slot-invariants.js';
import { stopAfterSlowFailure } from './slow-failure.js';
import { TurnsSeen } from './turn-invariants.js';
import { ProviderWatch } from './watched-provider.js';
import { IdleSeen, WorkSeen } from './work-invariants.js';

export interface PropertyOptions {
  /** Your providers; omit for scripted ones, whose every outcome the model chooses. */
  readonly providers?: readonly ChatProvider[];
  /** The model to ask your providers for. @default 'model' */
  readonly model?: string;
  /** Fixed limits; omit to draw random ones. */
  readonly limits?: {
    readonly maxConcurrent: number;
    readonly perProvider: Readonly<Record<string, number>>;
  };
  /** @default 200, or TROUPE_PROPERTY_RUNS */
  readonly numRuns?: number;
  readonly seed?: number;
  /**
   * With `seed`: the counterexample path a failure printed (`path "…"`); the run replays that case
   * (already shrunk) instead of searching again. @default none
   */
  readonly path?: string;
  /** With `path`: the command sequence's replay path the failure printed (`replayPath "…"`). */
  readonly replayPath?: string;
  /** Commands per run, at most. @default 60 */
  readonly maxCommands?: number;
  /**
   * Makes a fresh shared backend for each run (e.g. `redisBackend` with a prefix of its own); omit
   * for the in-memory runtime. See the module comment for what a backend run checks.
   */
  readonly backend?: () => Promise<RuntimeBackend>;
  /** The longest queue or run deadline a submission draws, in ms. @default 5000 */
  readonly maxDeadlineMs?: number;
  /** How session machines run (see `RuntimeOptions.engine`). @default 'compiled' */
  readonly engine?: SessionEngineKind;
  /**
   * The `createOpenAIServer()` your providers point at: `checkRuntimeProperties` then runs the whole
   * provider contract on each of them (see `checkProviderContract`). @default none (the contract
   * checks only what needs no server)
   */
  readonly server?: OpenAIServer;
  /**
   * Options for the provider contract that `checkRuntimeProperties` runs on each of your providers
   * before the runtime properties, or `false` to skip it. @default {} (with `server`, `model`, `seed`)
   */
  readonly contract?: Omit<ContractOptions, 'server'> | false;
  /** How long a provider call of yours may run on after its session ended, in ms. @default 100 */
  readonly releaseWithinMs?: number;
  /** Looks at each run's runtime once every session ended (its `status()`, `metrics()`). */
  readonly onEnd?: (runtime: Runtime) => void;
}

/** Calls per target (`defaults.maxAttempts`). */
const MAX_ATTEMPTS = 3;

/** What a cluster does not promise per instance; a backend run does not check these. */
const NOT_CHECKED_ON_A_BACKEND: readonly InvariantName[] = ['priorityOrder', 'metricsMatch'];

/** Runs one generated scenario; resolves with the violations found (none when all invariants hold). */
export async function runScenario(
  limits: ScenarioLimits,
  commands: Iterable<Command>,
  options: PropertyOptions = {},
): Promise<Violation[]> {
  const scripted = options.providers === undefined ? [0, 1, 2].map((i) => new ScriptedProvider(`p${i}`)) : [];
  // Your providers are watched through a wrapper: a call still running after its session ended
  // breaks `callsReleased`, as an un-aborted scripted call does.
  const watch =
    options.providers === undefined
      ? undefined
      : new ProviderWatch(options.providers, options.releaseWithinMs);
  const providers = watch?.providers ?? scripted;
  const backend = options.backend === undefined ? undefined : await options.backend();
  const clock = options.providers === undefined && backend === undefined ? new SimulatedClock() : systemClock;
  const { breakers, ...runtimeLimits } = limits;
  const runtime = createRuntime({
    providers,
    clock,
    random: () => 0.5,
    limits: { ...runtimeLimits, defaultCompletionTokens: MODEL_COMPLETION_TOKENS },
    ...(breakers === undefined ? {} : { breakers }),
    defaults: { backoffBaseMs: 50, backoffMaxMs: 400, maxAttempts: MAX_ATTEMPTS },
    ...(backend === undefined ? {} : { backend }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
  if (backend !== undefined) await (runtime as Runtime & { ready?: Promise<void> }).ready;
  const timeouts = new Map<string, number>();
  const request = { model: 'model', messages: [{ role: 'user' as const, content: 'property' }] };
  const charged = estimateTokens(request, MODEL_COMPLETION_TOKENS).total;
  const submitted = new Map<string, { timeoutMs: number; queueTimeoutMs: number; idleTimeoutMs?: number }>();
  // Subscribed after the observer: at an admission, the share it reads is the one before it.
  let deadlines: DeadlinesSeen | undefined;
  const observer = new RuntimeObserver(
    runtime,
    {
      ...(backend === undefined ? limits : perInstanceLimits(limits, providers)),
      tokensOf: () => charged,
      heldByShare: (id) => deadlines?.atShare(deadlines.ownerOf(id)) === true,
    },
    undefined,
    (id) => timeouts.get(id),
  );
  // In memory on the simulated clock: the model's own count of what runs (`slot-invariants.ts`).
  const slots =
    backend === undefined && clock instanceof SimulatedClock
      ? new SlotsSeen(runtime, limits, charged, observer.limitsSeen)
      : undefined;
  // In memory only: on a cluster a lease is no admission seen in order (as for `priorityOrder`).
  // Subscribed before `deadlines`, as the observer: at an admission, the shares before it.
  const turns =
    backend === undefined
      ? new TurnsSeen(
          runtime,
          limits.fairnessEvery,
          (id) => deadlines?.atShare(deadlines.ownerOf(id)) === true,
          // Late-bound: `work` is made below, and exists on the simulated clock only.
          slots === undefined ? undefined : (provider, at) => work?.laneOpen(provider, 'model', at) === true,
        )
      : undefined;
  // In memory only: on a backend the share is per instance, and deadlines are on the real clock.
  if (backend === undefined)
    deadlines = new DeadlinesSeen(
      runtime,
      (id) => submitted.get(id),
      limits.maxRunningPerCaller,
      MAX_ATTEMPTS,
      (provider, model) => limits.providers?.[provider]?.models?.[model]?.maxConcurrent,
    );
  const perModel = Object.entries(limits.providers ?? {})
    .filter(([, l]) => l.cooldownScope === 'model')
    .map(([name]) => name);
  const history = backend === undefined ? new HistorySeen(runtime, limits.historySize) : undefined;
  // On the simulated clock, with breakers: the model's own copy of each (`breaker-invariants.ts`).
  const breakersSeen = slots && breakers && new BreakersSeen(runtime, breakers);
  const work =
    deadlines !== undefined && slots !== undefined
      ? new WorkSeen(runtime, {
          breakerOf: (provider) => breakersSeen?.stateOf(provider) ?? 'closed',
          atShare: (owner) => deadlines.atShare(owner),
          modelRoom: (provider, model) => deadlines.modelRoom(provider, model),
          slots,
          maxConcurrent: limits.maxConcurrent,
          lending: new LendingSeen(runtime),
        })
      : undefined;
  const idle =
    work === undefined ? undefined : new IdleSeen(runtime, (id) => submitted.get(id)?.idleTimeoutMs);
  // Lent slots (`parent`), in memory on the simulated clock: `workConserved` on them, `slotsFreed`.
  const lending = work?.lending;
  // Elsewhere too: `queueRoom`'s children in memory, `cancelledWhenAsked` on every backend (until
  // 2026-12-07 in memory only, and read only on the simulated clock).
  const children = lending ?? new LendingSeen(runtime);
  const world: World = {
    runtime,
    clock,
    scripted,
    providerNames: providers.map((p) => p.name),
    model: options.model ?? 'model',
    handles: [],
    timeouts,
    submitted,
    queue: new QueueRoomCheck(),
    inMemory: backend === undefined,
    cooldownPerModel: perModel,
    ...(work === undefined ? {} : { hints: [] }),
    ...(breakersSeen === undefined ? {} : { breakerEdge: () => breakersSeen.nextEdge() }),
    lending: children,
    ...(lending && { laneOpen: (p: string) => work?.laneOpen(p, 'model', clock.now()) === true }),
    shutDown: false,
  };
  for (const command of commands) {
    await command.run({}, world);
    // In memory, at every step; on a backend the bound is per instance and seen through pub/sub.
    if (backend === undefined) world.queue.check(runtime);
    if (clock instanceof SimulatedClock) deadlines?.check(clock.now());
    if (clock instanceof SimulatedClock) work?.check(clock.now());
    if (clock instanceof SimulatedClock) slots?.check(clock.now());
    if (clock instanceof SimulatedClock) breakersSeen?.check(clock.now());
    if (clock instanceof SimulatedClock) idle?.check(clock.now());
    history?.check();
  }
  if (backend !== undefined) {
    // Every session ends by its deadlines; then the shutdown finds nothing to hand back.
    const boundMs = 2 * (options.maxDeadlineMs ?? 5000) + 5000;
    await within(Promise.all(world.handles.map((h) => h.result)), boundMs);
  }
  // Close the run: shut down (if not yet), then let every deadline pass.
  const report = runtime.shutdown({ deadlineMs: 5000 });
  for (let i = 0; i < 4 && world.handles.length > 0; i++) {
    if (clock instanceof SimulatedClock) clock.increment(6000);
    await settle();
    if (clock instanceof SimulatedClock) deadlines?.check(clock.now());
  }
  if (!(clock instanceof SimulatedClock)) await within(report, 6000);
  deadlines?.checkReport(await report);
  await Promise.all(world.handles.map((h) => h.result));
  await watch?.released();
  history?.check();
  observer.unsubscribe();
  turns?.unsubscribe();
  history?.unsubscribe();
  slots?.unsubscribe();
  breakersSeen?.unsubscribe();
  idle?.unsubscribe();
  children?.unsubscribe();
  deadlines?.unsubscribe();
  options.onEnd?.(runtime);
  if (backend === undefined) world.queue.check(runtime);
  const violations = [
    ...observer.checkEnd(scripted.flatMap((p) => p.calls)),
    ...(watch?.violations() ?? []),
    ...(deadlines?.violations ?? []),
    ...(turns?.violations ?? []),
    ...(history?.violations ?? []),
    ...(work?.violations ?? []),
    ...(slots?.violations ?? []),
    ...(breakersSeen?.violations ?? []),
    ...(idle?.violations ?? []),
    ...children.violations,
    ...(world.hints ?? []),
    ...world.queue.violations,
  ];
  if (backend === undefined) return violations;
  return violations.filter((v) => !NOT_CHECKED_ON_A_BACKEND.includes(v.invariant));
}

/** On a backend, `maxConcurrent` bounds each provider's Worker (the most at once); `COOLDOWN_RACE_MS` for cooldowns; ends come late; hops wait in their target's queue. */
function perInstanceLimits(limits: ScenarioLimits, providers: readonly ChatProvider[]) {
  let maxConcurrent = 0;
  for (const { name } of providers)
    maxConcurrent += Math.min(limits.perProvider[name] ?? limits.maxConcurrent, limits.maxConcurrent);
  return { ...limits, maxConcurrent, cooldownRaceMs: COOLDOWN_RACE_MS, endsLate: true, hopsRequeue: true };
}

/** The fast-check property: random limits and command sequences, every invariant checked. */
export function runtimeProperty(options: PropertyOptions = {}) {
  checkPropertyOptions('runtimeProperty options', options);
  const names = options.providers?.map((provider) => provider.name);
  if (names !== undefined) {
    // A limit on a name none of your providers has would hold nothing (`my-adaptr`, misspelt).
    const strays = Object.keys(options.limits?.perProvider ?? {}).filter((name) => !names.includes(name));
    if (strays.length > 0)
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected \`limits.perProvider\` to name your providers (${names.join(', ')}), got ${strays.map((n) => JSON.stringify(n)).join(', ')}`,
      );
  }
  const limits = options.limits
    ? fc.constant({ maxQueued: 30, fairnessEvery: 4, historySize: 10, ...options.limits })
    : names === undefined
      ? limitsArbitrary
      : limitsOn(names, options.model ?? 'model');
  return fc.asyncProperty(
    limits,
    fc.commands(
      commandArbitraries(
        options.providers === undefined,
        options.maxDeadlineMs,
        options.backend === undefined,
      ),
      {
        maxCommands: options.maxCommands ?? 60,
        size: 'large',
        ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
      },
    ),
    async (l, commands) => {
      const violations = await runScenario(l, commands, options);
      if (violations.length > 0) {
        throw new Error(
          `Invariants broken:\n${violations.map((v) => `  ${v.invariant}: ${v.detail}`).join('\n')}`,
        );
      }
    },
  );
}

/**
 * The property over deep queues (`queueCommandArbitraries`): scripted providers, every invariant
 * checked, for the order of admissions and work conservation, which the random commands of
 * `runtimeProperty` seldom reach.
 */
export function queueProperty(options: { readonly engine?: SessionEngineKind } = {}) {
  return fc.asyncProperty(
    queueLimitsArbitrary,
    fc.commands(queueCommandArbitraries(), { maxCommands: 80, size: 'large' }),
    async (l, commands) => {
      const violations = await runScenario(l, commands, options);
      if (violations.length > 0)
        throw new Error(
          `Invariants broken:\n${violations.map((v) => `  ${v.invariant}: ${v.detail}`).join('\n')}`,
        );
    },
  );
}

/**
 * Runs the provider contract on each of your providers (if any), then the runtime property; throws
 * with the seed and the shrunk counterexample when a contract property or an invariant breaks
 * (shrinking stops once a run took 2 s or more to fail: `property-failure.ts`); replay with `seed`
 * (and `path` from the report) to reproduce.
 */
export async function checkRuntimeProperties(options: PropertyOptions = {}): Promise<void> {
  checkPropertyOptions('checkRuntimeProperties options', options);
  const numRuns = runsFrom(options.numRuns, 'TROUPE_PROPERTY_RUNS', 200);
  if (options.path !== undefined && options.seed === undefined)
    throw new RangeError('Expected `seed` with `path` (a path names a case of one seed), got a path alone');
  if (options.providers !== undefined && options.contract !== false) {
    for (const provider of options.providers) {
      await checkProviderContract(provider, {
        ...(options.server === undefined ? {} : { server: options.server }),
        ...(options.model === undefined ? {} : { model: options.model }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.contract ?? {}),
      });
    }
  }
  const slow = stopAfterSlowFailure<[unknown, unknown]>(fc);
  const params: fc.Parameters<[unknown, unknown]> = { numRuns, plugins: [slow.plugin] };
  if (options.seed !== undefined) params.seed = options.seed;
  if (options.path !== undefined) params.path = options.path;
  const details = await fc.check(runtimeProperty(options), params);
  if (details.failed) throw runtimePropertyFailure(fc, details, slow);
}

/** The model's commands, for writing a scenario by hand (e.g. to pin a counterexample as a test). */
export const commands = { Submit, Settle, SettleAll, Cancel, Advance, ToBreakerEdge, Drain, Shutdown };

export type { ScenarioLimits };
