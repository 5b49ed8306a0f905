/**
 * Model-based property tests of the runtime with fast-check: random sequences of submissions
 * (random provider, priority, deadlines), provider outcomes, cancellations, clock advances and a
 * shutdown, against random limits; the invariants in `invariants.ts` are checked throughout.
 *
 * With no provider given, calls go to a `ScriptedProvider` on a `SimulatedClock`, so the test
 * decides every outcome and every instant. Given a provider of yours, calls go to it on the real
 * clock and the same invariants are checked.
 *
 * Given a shared `backend` (Redis), the scripted providers run on the real clock (a shared queue
 * cannot follow a simulated one) with short deadlines. What such a run checks: every session ends
 * exactly once through the shared store, calls in flight and rate windows per provider hold (each
 * call counted on the target it went to, fallback hops included), cooldowns hold (`COOLDOWN_RACE_MS` aside), no provider call outlives its session, and nothing is left running, queued or live
 * at the end, with history bounded. Not checked there: `priorityOrder` (admissions are seen through
 * pub/sub after the queue made them, so the order of events is not the order of admissions),
 * `metricsMatch` (`metrics()` counts what this instance ran, not sessions that ended in the queue),
 * and the global `maxConcurrent` (per instance it bounds each provider's Worker).
 * No shutdown happens mid-run: on a cluster it hands running sessions back to the queue.
 */
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { type Clock, systemClock } from '../core/clock.js';
import { TroupeError } from '../core/errors.js';
import { estimateTokens } from '../providers/estimate.js';
import type { ChatProvider } from '../providers/port.js';
import type { RuntimeBackend } from '../runtime/backend.js';
import { createRuntime } from '../runtime/runtime.js';
import type { SessionEngineKind } from '../runtime/session-engine.js';
import type { Runtime, SessionHandle } from '../runtime/types.js';
import { checkProviderContract } from './contract/check.js';
import type { ContractOptions } from './contract/types.js';
import { COOLDOWN_RACE_MS, type InvariantName, RuntimeObserver, type Violation } from './invariants.js';
import type { OpenAIServer } from './openai-server.js';
import { ScriptedProvider, type Settlement } from './scripted-provider.js';
import { ProviderWatch } from './watched-provider.js';

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

/** What a cluster does not promise per instance; a backend run does not check these. */
const NOT_CHECKED_ON_A_BACKEND: readonly InvariantName[] = ['priorityOrder', 'metricsMatch'];

interface World {
  readonly runtime: Runtime;
  readonly clock: Clock & { increment?: (ms: number) => void };
  readonly scripted: ScriptedProvider[];
  readonly providerNames: readonly string[];
  readonly model: string;
  readonly handles: SessionHandle[];
  /** Each session's run timeout, for the route's deadline check. */
  readonly timeouts: Map<string, number>;
  shutDown: boolean;
}

type Command = fc.AsyncCommand<object, World>;

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class Submit implements Command {
  constructor(
    readonly provider: number,
    readonly priority: number,
    readonly timeoutMs: number,
    readonly queueTimeoutMs: number,
    /** Other providers to fall back to, by index. */
    readonly fallbacks: readonly number[] = [],
    readonly stream = false,
  ) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    const names = world.providerNames;
    const provider = names[this.provider % names.length]!;
    const fallbacks = this.fallbacks.map((i) => ({ provider: names[i % names.length]!, model: world.model }));
    try {
      const handle = world.runtime.submit(
        {
          provider,
          model: world.model,
          messages: [{ role: 'user', content: 'property' }],
          ...(fallbacks.length === 0 ? {} : { fallbacks }),
          ...(this.stream ? { stream: true } : {}),
        },
        { priority: this.priority, timeoutMs: this.timeoutMs, queueTimeoutMs: this.queueTimeoutMs },
      );
      world.timeouts.set(handle.id, this.timeoutMs);
      world.handles.push(handle);
    } catch (error) {
      const code = error instanceof TroupeError ? error.code : 'unknown';
      if (!(code === 'SHUTTING_DOWN' && world.shutDown) && code !== 'QUEUE_FULL') throw error;
    }
    await settle();
  }
  toString = () =>
    `submit(p${this.provider}, prio ${this.priority}, ${this.timeoutMs}ms, queue ${this.queueTimeoutMs}ms${this.fallbacks.length === 0 ? '' : `, fallbacks ${this.fallbacks.map((i) => `p${i}`).join(' ')}`}${this.stream ? ', stream' : ''})`;
}

class Settle implements Command {
  constructor(
    readonly pick: number,
    readonly outcome: Settlement,
  ) {}
  check = (_: object) => true;
  async run(_: object, world: World): Promise<void> {
    const pending = world.scripted.flatMap((p) => p.pending());
    pending[this.pick % Math.max(1, pending.length)]?.settle(this.outcome);
    await settle();
  }
  toString = () => `settle(#${this.pick}, ${this.outcome})`;
}

class Cancel implements Command {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    world.handles[this.pick % Math.max(1, world.handles.length)]?.cancel('property test');
    await settle();
  }
  toString = () => `cancel(#${this.pick})`;
}

class Advance implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    if (world.clock.increment !== undefined) world.clock.increment(this.ms);
    else await new Promise((resolve) => setTimeout(resolve, Math.min(this.ms, 20)));
    await settle();
  }
  toString = () => `advance(${this.ms}ms)`;
}

class Shutdown implements Command {
  constructor(readonly deadlineMs: number) {}
  check = (_: object) => true;
  async run(_: object, world: World): Promise<void> {
    world.shutDown = true;
    void world.runtime.shutdown({ deadlineMs: this.deadlineMs });
    await settle();
  }
  toString = () => `shutdown(${this.deadlineMs}ms)`;
}

/** Weighted by repetition (fc.commands picks uniformly): shutdown is rare, so most runs get far. */
function commandArbitraries(
  scripted: boolean,
  maxDeadlineMs = 5000,
  shutdown = true,
): fc.Arbitrary<Command>[] {
  const submit = fc
    .tuple(
      fc.nat(3),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 50, max: maxDeadlineMs }),
      fc.integer({ min: 50, max: maxDeadlineMs }),
      fc.array(fc.nat(3), { maxLength: 3 }),
      fc.boolean(),
    )
    .map(([p, prio, t, q, fallbacks, stream]) => new Submit(p, prio, t, q, fallbacks, stream));
  const settleCall = fc
    .tuple(
      fc.nat(50),
      fc.constantFrom<Settlement>('ok', 'ok', 'retryable', 'fatal', 'partial', 'rateLimited'),
    )
    .map(([pick, outcome]) => new Settle(pick, outcome));
  const commands: fc.Arbitrary<Command>[] = [
    submit,
    submit,
    submit,
    fc.nat(50).map((pick) => new Cancel(pick)),
    fc.integer({ min: 1, max: 3000 }).map((ms) => new Advance(ms)),
  ];
  if (shutdown) commands.push(fc.integer({ min: 0, max: 3000 }).map((ms) => new Shutdown(ms)));
  if (scripted) commands.push(settleCall, settleCall, settleCall);
  return commands;
}

const limitsArbitrary = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 6 }),
  perProvider: fc.record({ p0: fc.integer({ min: 1, max: 4 }), p1: fc.integer({ min: 1, max: 4 }) }),
  maxQueued: fc.integer({ min: 1, max: 30 }),
  fairnessEvery: fc.integer({ min: 1, max: 8 }),
  historySize: fc.integer({ min: 0, max: 10 }),
  // Limits in providers' own units: p0 by requests, p1 by tokens (each start is charged 107).
  providers: fc.record({
    p0: fc.record({ requestsPerMinute: fc.integer({ min: 1, max: 6 }) }),
    p1: fc.record({ tokensPerMinute: fc.integer({ min: 107, max: 700 }) }),
  }),
  // Breakers, on by default in `serve`: off in some runs, tight enough in others to open and probe.
  breakers: fc.option(
    fc.record({
      failures: fc.integer({ min: 1, max: 3 }),
      windowMs: fc.integer({ min: 1000, max: 10_000 }),
      openMs: fc.integer({ min: 100, max: 3000 }),
      probeTimeoutMs: fc.integer({ min: 100, max: 6000 }),
    }),
    { nil: undefined },
  ),
});

/** Completion tokens charged per request in the model (no `max_tokens`): the 'property' prompt is 7 more. */
const MODEL_COMPLETION_TOKENS = 100;

export interface ScenarioLimits {
  readonly maxConcurrent: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly maxQueued: number;
  readonly fairnessEvery: number;
  readonly historySize: number;
  readonly providers?: Readonly<
    Record<string, { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number }>
  >;
  /** Circuit breakers per provider (`RuntimeOptions.breakers`); none when absent. */
  readonly breakers?: {
    readonly failures: number;
    readonly windowMs: number;
    readonly openMs: number;
    readonly probeTimeoutMs?: number;
  };
}

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
    defaults: { backoffBaseMs: 50, backoffMaxMs: 400, maxAttempts: 3 },
    ...(backend === undefined ? {} : { backend }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
  if (backend !== undefined) await (runtime as Runtime & { ready?: Promise<void> }).ready;
  const timeouts = new Map<string, number>();
  const request = { model: 'model', messages: [{ role: 'user' as const, content: 'property' }] };
  const charged = estimateTokens(request, MODEL_COMPLETION_TOKENS).total;
  const observer = new RuntimeObserver(
    runtime,
    { ...(backend === undefined ? limits : perInstanceLimits(limits, providers)), tokensOf: () => charged },
    undefined,
    (id) => timeouts.get(id),
  );
  const world: World = {
    runtime,
    clock,
    scripted,
    providerNames: providers.map((p) => p.name),
    model: options.model ?? 'model',
    handles: [],
    timeouts,
    shutDown: false,
  };
  for (const command of commands) await command.run({}, world);
  if (backend !== undefined) {
    // Every session ends by its deadlines; then the shutdown finds nothing to hand back.
    const boundMs = 2 * (options.maxDeadlineMs ?? 5000) + 5000;
    await Promise.race([
      Promise.all(world.handles.map((h) => h.result)),
      new Promise((r) => setTimeout(r, boundMs)),
    ]);
  }
  // Close the run: shut down (if not yet), then let every deadline pass.
  const report = runtime.shutdown({ deadlineMs: 5000 });
  for (let i = 0; i < 4 && world.handles.length > 0; i++) {
    if (clock instanceof SimulatedClock) clock.increment(6000);
    await settle();
  }
  if (!(clock instanceof SimulatedClock))
    await Promise.race([report, new Promise((r) => setTimeout(r, 6000))]);
  await report;
  await Promise.all(world.handles.map((h) => h.result));
  await watch?.released();
  observer.unsubscribe();
  options.onEnd?.(runtime);
  const violations = [...observer.checkEnd(scripted.flatMap((p) => p.calls)), ...(watch?.violations() ?? [])];
  if (backend === undefined) return violations;
  return violations.filter((v) => !NOT_CHECKED_ON_A_BACKEND.includes(v.invariant));
}

/** On a backend, `maxConcurrent` bounds each provider's Worker (the most at once); `COOLDOWN_RACE_MS` for cooldowns. */
function perInstanceLimits(limits: ScenarioLimits, providers: readonly ChatProvider[]) {
  let maxConcurrent = 0;
  for (const { name } of providers)
    maxConcurrent += Math.min(limits.perProvider[name] ?? limits.maxConcurrent, limits.maxConcurrent);
  return { ...limits, maxConcurrent, cooldownRaceMs: COOLDOWN_RACE_MS };
}

/** The fast-check property: random limits and command sequences, every invariant checked. */
export function runtimeProperty(options: PropertyOptions = {}) {
  const limits = options.limits
    ? fc.constant({ maxQueued: 30, fairnessEvery: 4, historySize: 10, ...options.limits })
    : limitsArbitrary;
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
 * Runs the provider contract on each of your providers (if any), then the runtime property; throws
 * with the seed and the shrunk counterexample when a contract property or an invariant breaks;
 * replay with `seed` (and `path` from the report) to reproduce.
 */
export async function checkRuntimeProperties(options: PropertyOptions = {}): Promise<void> {
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
  const numRuns = options.numRuns ?? Number(process.env.TROUPE_PROPERTY_RUNS ?? 200);
  const params: fc.Parameters<unknown> = { numRuns };
  if (options.seed !== undefined) params.seed = options.seed;
  const details = await fc.check(runtimeProperty(options), params as fc.Parameters<[unknown, unknown]>);
  if (details.failed) {
    throw new Error(
      `troupe property failed after ${details.numRuns} runs; replay with seed ${details.seed}, path "${details.counterexamplePath}"\n${fc.defaultReportMessage(details)}`,
    );
  }
}

/** The model's commands, for writing a scenario by hand (e.g. to pin a counterexample as a test). */
export const commands = { Submit, Settle, Cancel, Advance, Shutdown } as const;
