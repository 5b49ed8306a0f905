/**
 * The runtime model's world and commands (submit, settle, settle all, cancel, advance, drain,
 * shutdown); `model-arbitraries.ts` draws them, `model.ts` runs them and checks the invariants.
 */
import type fc from 'fast-check';
import type { Clock } from '../core/clock.js';
import { TroupeError } from '../core/errors.js';
import { explicitRetryAfterMs } from '../providers/retry-after.js';
import { LIMITER_TTL_MS } from '../runtime/limiter.js';
import type { Runtime, SessionHandle, SessionRequest } from '../runtime/types.js';
import type { Violation } from './invariants.js';

export type { ScenarioLimits } from './model-limits.js';

import type { LendingSeen } from './lending-seen.js';
import type { QueueRoomCheck } from './queue-room-check.js';
import type { ScriptedProvider, Settlement } from './scripted-provider.js';
import { checkCooldownHint } from './work-invariants.js';

export interface World {
  readonly runtime: Runtime;
  readonly clock: Clock & { increment?: (ms: number) => void };
  readonly scripted: ScriptedProvider[];
  readonly providerNames: readonly string[];
  readonly model: string;
  readonly handles: SessionHandle[];
  /** Each session's run timeout, for the route's deadline check. */
  readonly timeouts: Map<string, number>;
  /** Each session's deadlines as submitted, for `deadlinesHold`. */
  readonly submitted?: Map<string, { timeoutMs: number; queueTimeoutMs: number; idleTimeoutMs?: number }>;
  /** Each submitted request's size and caller, for the queue's checks (`queue-room-check.ts`). */
  readonly queue: QueueRoomCheck;
  /** The in-memory runtime, whose whole queue is in view: refusals are checked against it. */
  readonly inMemory?: boolean;
  /** Providers that cool down per model, and where `cooldownHint` tells what it saw (in memory). */
  readonly cooldownPerModel?: readonly string[];
  readonly hints?: Violation[];
  /** The earliest end of an open breaker's pause in the model's copy, for `ToBreakerEdge` (with breakers, in memory). */
  readonly breakerEdge?: () => number | undefined;
  /** The model's copy of lent slots (`lending-seen.ts`): in memory on the simulated clock all of it, elsewhere `queueRoom`'s part and `cancelledWhenAsked`. */
  readonly lending?: LendingSeen;
  /** Whether a session of no caller on this provider could start now, by the model's own count (with `lending`). */
  readonly laneOpen?: (provider: string) => boolean;
  shutDown: boolean;
}

export type Command = fc.AsyncCommand<object, World>;

export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Submit implements Command {
  constructor(
    readonly provider: number,
    readonly priority: number,
    readonly timeoutMs: number,
    readonly queueTimeoutMs: number,
    /** Other providers to fall back to, by index. */
    readonly fallbacks: readonly number[] = [],
    readonly stream = false,
    /** Characters of padding in `extra` (no tokens): requests of different sizes for `maxQueuedBytes`. */
    readonly pad = 0,
    /** Its caller (`metadata.owner`: `c0`, `c1`, ...), for `maxQueuedPerCaller`; none when absent. */
    readonly caller?: number,
    /** A stream's `idleTimeoutMs` (`idleTimeout`); the runtime's default (30 s) when absent. */
    readonly idleTimeoutMs?: number,
    /**
     * A session it names as its `parent` (docs/runtime.md, "A session within a session"): even, the
     * pick among those running (any if none runs); odd, among all submitted, queued or ended too.
     */
    readonly parent?: number,
  ) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    const names = world.providerNames;
    const provider = names[this.provider % names.length]!;
    const fallbacks = this.fallbacks.map((i) => ({ provider: names[i % names.length]!, model: world.model }));
    const request: SessionRequest = {
      provider,
      model: world.model,
      messages: [{ role: 'user', content: 'property' }],
      ...(fallbacks.length === 0 ? {} : { fallbacks }),
      ...(this.stream ? { stream: true } : {}),
      ...(this.pad === 0 ? {} : { extra: { pad: 'x'.repeat(this.pad) } }),
    };
    const owner = this.caller === undefined ? undefined : `c${this.caller}`;
    const parent = this.parent === undefined ? undefined : parentOf(world, this.parent);
    // A child its running parent's slot takes at once waits past the queue's counts (in memory).
    const past = world.lending?.mayQueuePast(parent) === true;
    const full =
      world.inMemory === true ? world.queue.fullFor(world.runtime, request, owner, past) : 'unknown';
    world.lending?.submitting(parent);
    try {
      const handle = world.runtime.submit(request, {
        ...(parent === undefined ? {} : { parent }),
        priority: this.priority,
        timeoutMs: this.timeoutMs,
        queueTimeoutMs: this.queueTimeoutMs,
        ...(owner === undefined ? {} : { metadata: { owner } }),
        ...(this.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.idleTimeoutMs }),
      });
      world.timeouts.set(handle.id, this.timeoutMs);
      world.submitted?.set(handle.id, {
        timeoutMs: this.timeoutMs,
        queueTimeoutMs: this.queueTimeoutMs,
        ...(this.stream && this.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.idleTimeoutMs } : {}),
      });
      world.queue.submitted(handle.id, request, owner, past);
      world.handles.push(handle);
    } catch (error) {
      const code = error instanceof TroupeError ? error.code : 'unknown';
      // Refused as it must be: after the shutdown, past the queue's bound, larger than that bound.
      const expected =
        (code === 'SHUTTING_DOWN' && world.shutDown) ||
        code === 'QUEUE_FULL' ||
        (code === 'INVALID_REQUEST' && world.queue.tooLarge(world.runtime, request));
      if (!expected) throw error;
      if (code === 'QUEUE_FULL' && full === undefined && !world.shutDown)
        world.queue.refusedWithRoom(request, owner, (error as Error).message);
    } finally {
      world.lending?.submitting(undefined);
    }
    await settle();
  }
  toString = () =>
    `submit(p${this.provider}, prio ${this.priority}, ${this.timeoutMs}ms, queue ${this.queueTimeoutMs}ms${this.fallbacks.length === 0 ? '' : `, fallbacks ${this.fallbacks.map((i) => `p${i}`).join(' ')}`}${this.stream ? ', stream' : ''}${this.pad === 0 ? '' : `, pad ${this.pad}`}${this.caller === undefined ? '' : `, c${this.caller}`}${this.idleTimeoutMs === undefined ? '' : `, idle ${this.idleTimeoutMs}ms`}${this.parent === undefined ? '' : `, parent ${this.parent % 2 === 0 ? 'running' : 'any'} #${this.parent >> 1}`})`;
}

/** The id of the session a `Submit`'s `parent` picks (`undefined` when none was submitted). */
function parentOf(world: World, pick: number): string | undefined {
  const ids = world.handles.map((h) => h.id);
  const running = ids.filter((id) => world.runtime.session(id)?.state === 'running');
  const from = pick % 2 === 0 && running.length > 0 ? running : ids;
  return from[(pick >> 1) % Math.max(1, from.length)];
}

/**
 * A 429's `Retry-After`: `undefined` for the scripted default (`0.5`), `null` for none, seconds, or
 * `date+<ms>`, an HTTP date that many ms after the answer (whole seconds, as HTTP dates are).
 */
export type Hint = string | null | undefined;

export class Settle implements Command {
  constructor(
    readonly pick: number,
    readonly outcome: Settlement,
    readonly hint?: Hint,
  ) {}
  check = (_: object) => true;
  async run(_: object, world: World): Promise<void> {
    const pending = world.scripted.flatMap((p) => p.pending().map((call) => ({ provider: p.name, call })));
    const picked = pending[this.pick % Math.max(1, pending.length)];
    if (picked === undefined || this.outcome !== 'rateLimited' || this.hint === undefined) {
      picked?.call.settle(this.outcome);
      return settle();
    }
    const now = world.clock.now();
    const header =
      this.hint?.startsWith('date+') === true
        ? new Date(now + Number(this.hint.slice(5))).toUTCString()
        : (this.hint ?? undefined);
    // Read as an adapter reads a response's headers (`retry-after.ts`).
    const hinted =
      header === undefined ? undefined : explicitRetryAfterMs(new Headers({ 'retry-after': header }), now);
    const before = world.runtime.status().limits;
    picked.call.settle('rateLimited', hinted ?? null);
    await settle();
    if (world.hints === undefined) return;
    const model = picked.call.request.model;
    const perModel = world.cooldownPerModel?.includes(picked.provider) === true;
    const after = world.runtime.status().limits;
    const broken = checkCooldownHint(before, after, picked.provider, model, perModel, header, now);
    if (broken !== undefined) world.hints.push(broken);
  }
  toString = () =>
    `settle(#${this.pick}, ${this.outcome}${this.hint === undefined ? '' : `, Retry-After ${this.hint ?? 'absent'}`})`;
}

/** Every call in flight answers alike (an outage, a burst of 429s): retries run out, cooldowns meet deadlines. */
export class SettleAll implements Command {
  constructor(readonly outcome: Settlement) {}
  check = (_: object) => true;
  async run(_: object, world: World): Promise<void> {
    for (const call of world.scripted.flatMap((p) => p.pending())) call.settle(this.outcome);
    await settle();
  }
  toString = () => `settleAll(${this.outcome})`;
}

export class Cancel implements Command {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    const handle = world.handles[this.pick % Math.max(1, world.handles.length)];
    if (handle !== undefined) world.lending?.cancelling(handle.id);
    handle?.cancel('property test');
    await settle();
  }
  toString = () => `cancel(#${this.pick})`;
}

export class Advance implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    if (world.clock.increment !== undefined) world.clock.increment(this.ms);
    else await new Promise((resolve) => setTimeout(resolve, Math.min(this.ms, 20)));
    await settle();
  }
  toString = () => `advance(${this.ms}ms)`;
}

/**
 * Moves the simulated clock to `offsetMs` from the earliest end of an open breaker's pause, when one
 * is open and that is still ahead: a start just before, at or after the edge (the half-open probe,
 * and a second call refused beside it) is rare under random advances.
 */
export class ToBreakerEdge implements Command {
  constructor(readonly offsetMs: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    const edge = world.breakerEdge?.();
    const ms = edge === undefined ? 0 : edge + this.offsetMs - world.clock.now();
    if (ms > 0) world.clock.increment?.(ms);
    await settle();
  }
  toString = () => `toBreakerEdge(${this.offsetMs}ms)`;
}

/**
 * Lets every session end (every call answers, the clock passes every deadline, then 25 hours and 11
 * minutes: past the day's windows and the limiter states' time to live, `LIMITER_TTL_MS`, which the
 * model's copy of the cooldowns keeps too; until 2026-12-07 11 minutes, since the copy did not),
 * then submits a fresh session to the first provider from `provider` on that the model's own count
 * gives room, which must start at once: no slot of `maxConcurrent` left lent or borrowed
 * (`slotsFreed`). In memory on the simulated clock, before a shutdown.
 */
export class Drain implements Command {
  constructor(readonly provider: number) {}
  check = () => true;
  async run(_: object, world: World): Promise<void> {
    const { lending, clock, laneOpen } = world;
    if (lending === undefined || laneOpen === undefined || clock.increment === undefined || world.shutDown)
      return;
    for (let i = 0; i < 12 && lending.anyLive; i++) {
      for (const call of world.scripted.flatMap((p) => p.pending())) call.settle('ok');
      await settle();
      clock.increment(6000);
      await settle();
    }
    if (lending.anyLive) return;
    clock.increment(LIMITER_TTL_MS + 660_000);
    await settle();
    const names = world.providerNames;
    const open = [0, 1, 2].map((i) => (this.provider + i) % names.length).find((i) => laneOpen(names[i]!));
    if (open === undefined) return;
    await new Submit(open, 5, 5000, 5000).run(_, world);
    const fresh = world.handles.at(-1);
    if (fresh !== undefined) lending.checkFresh(world.runtime, fresh.id, clock.now());
  }
  toString = () => `drain(then p${this.provider})`;
}

export class Shutdown implements Command {
  constructor(readonly deadlineMs: number) {}
  check = (_: object) => true;
  async run(_: object, world: World): Promise<void> {
    world.shutDown = true;
    void world.runtime.shutdown({ deadlineMs: this.deadlineMs });
    await settle();
  }
  toString = () => `shutdown(${this.deadlineMs}ms)`;
}

/** Completion tokens charged per request in the model (no `max_tokens`): the 'property' prompt is 7 more. */
export const MODEL_COMPLETION_TOKENS = 100;
