/**
 * The front door of every runtime, whatever its backend: refusal while draining, routing a request
 * to a provider and model, validating the caller's options and building the session's plain input.
 * Every refusal is counted under its code here, once, so the in-memory and the Redis runtime count
 * alike. Future admission rules that refuse at submit (budgets, context-window checks) go here too.
 */
import type { SessionInput } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import { describe, runtimeError, TroupeError } from '../core/errors.js';
import { capMetadata } from '../core/metadata.js';
import type { ChatProvider } from '../providers/port.js';
import type { RuntimeCounters } from './counters.js';
import { flatUUID } from './ids.js';
import { type ResolvedDefaults, type ResolvedLimits, resolveSubmitOptions, sessionInput } from './options.js';
import { defaultRouter } from './requests.js';
import { routeChat } from './routing.js';
import type { SessionWork } from './session-record.js';
import type {
  Router,
  RunOptions,
  RuntimeStatus,
  SessionRequest,
  SubmitOptions,
  TaskFunction,
} from './types.js';

/** A submission that passed admission: plain input plus what the session's child needs. */
export interface Admitted {
  readonly input: SessionInput;
  readonly work: SessionWork;
  readonly label: string | undefined;
  readonly caller: Readonly<Record<string, unknown>> | undefined;
  readonly callerTruncated: boolean;
}

export interface AdmissionSettings {
  readonly providers: ReadonlyMap<string, ChatProvider>;
  readonly limits: ResolvedLimits;
  readonly defaults: ResolvedDefaults;
  readonly clock: Clock;
  readonly counters: RuntimeCounters;
  readonly router: Router | undefined;
  /** The lifecycle's state now: anything but `accepting` refuses with `SHUTTING_DOWN`. */
  readonly state: () => RuntimeStatus['state'];
  /** Refuses a caller whose daily budget is known spent (`budgets.ts`); the gate checks again before the call. */
  readonly budgets?: { precheck(owner: unknown, provider: string, model: string): void } | undefined;
}

export class Admission {
  private readonly route: Router;

  constructor(private readonly settings: AdmissionSettings) {
    this.route = settings.router ?? defaultRouter(settings.providers, settings.defaults);
  }

  /** Counts a refused submission under its code, then throws what refused it. */
  refuse(error: unknown): never {
    this.settings.counters.reject(error instanceof TroupeError ? error.code : 'INVALID_REQUEST');
    throw error;
  }

  refuseWhileDraining(): void {
    if (this.settings.state() !== 'accepting') {
      this.refuse(
        runtimeError(
          'SHUTTING_DOWN',
          'Expected the runtime to accept work, got a runtime that is shutting down',
        ),
      );
    }
  }

  /** Refuses with `QUEUE_FULL`: the backend's queue had no room for one more. */
  queueFull(queued: number): never {
    return this.refuse(
      runtimeError(
        'QUEUE_FULL',
        `Expected room in the queue, got ${queued} sessions waiting (limit ${this.settings.limits.maxQueued}); retry later`,
      ),
    );
  }

  /** A chat request: routed, its provider known, its options valid. */
  chat(request: SessionRequest, options: SubmitOptions): Admitted {
    this.refuseWhileDraining();
    const { providers, defaults } = this.settings;
    try {
      // Fallbacks and the context-window check (routing.ts): no network call.
      const routed = routeChat(request, this.route, providers);
      const resolved = resolveSubmitOptions(options, defaults);
      this.settings.budgets?.precheck(options.metadata?.owner, routed.provider, routed.model);
      const stream = request.stream === true;
      const admitted = this.admitted(routed.work, routed.provider, routed.model, stream, resolved, options);
      // The input was made just now for this session: adding the chain to it copies nothing.
      if (routed.targets !== undefined) Object.assign(admitted.input, { targets: routed.targets });
      return admitted;
    } catch (error) {
      return this.refuse(error);
    }
  }

  /** A generic task on a lane. */
  task<T>(task: TaskFunction<T>, options: RunOptions): Admitted {
    this.refuseWhileDraining();
    try {
      if (typeof task !== 'function') {
        throw runtimeError('INVALID_REQUEST', `Expected a task function, got ${describe(task)}`);
      }
      if (typeof options?.lane !== 'string' || options.lane === '') {
        throw runtimeError(
          'INVALID_REQUEST',
          `Expected \`lane\` to be a non-empty string, got ${describe(options?.lane)}`,
        );
      }
      const resolved = resolveSubmitOptions({ maxAttempts: 1, ...options }, this.settings.defaults);
      const work: SessionWork = { kind: 'task', task: task as TaskFunction<unknown> };
      return this.admitted(work, options.lane, options.name ?? options.lane, false, resolved, options);
    } catch (error) {
      return this.refuse(error);
    }
  }

  private admitted(
    work: SessionWork,
    lane: string,
    model: string,
    stream: boolean,
    resolved: ReturnType<typeof resolveSubmitOptions>,
    options: SubmitOptions,
  ): Admitted {
    const { clock, limits, defaults } = this.settings;
    const sessionId = flatUUID();
    const caller = capMetadata(options.metadata, limits.callerMetadataBytes);
    const input = sessionInput(
      { sessionId, requestId: options.requestId },
      { lane, model, stream },
      clock.now(),
      resolved,
      defaults,
    );
    return { input, work, label: options.label, caller: caller.value, callerTruncated: caller.truncated };
  }
}
