/**
 * The front door of every runtime, whatever its backend: refusal while draining, routing a request
 * to a provider and model, validating the caller's options and building the session's plain input.
 * Every refusal is counted under its code here, once, so the in-memory and the Redis runtime count
 * alike. Future admission rules that refuse at submit (budgets, context-window checks) go here too.
 */
import type { SessionInput } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import { describe, runtimeError, TroupeError } from '../core/errors.js';
import { capMetadata, isName, MAX_NAME_CHARS, ownerIn } from '../core/metadata.js';
import type { QueueRoom } from '../core/queue-room.js';
import { ownRequest } from '../core/request-bytes.js';
import type { ChatProvider } from '../providers/port.js';
import type { RuntimeCounters } from './counters.js';
import { flatUUID } from './ids.js';
import { checkRequestKeys, checkSubmitKeys } from './option-keys.js';
import {
  byteCount,
  type ResolvedDefaults,
  type ResolvedLimits,
  resolveSubmitOptions,
  sessionInput,
} from './options.js';
import { checkRequest, tooLarge } from './request-check.js';
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
  /** Its size while it waits (`limits.maxQueuedBytes`): the UTF-8 length of the JSON its provider gets; a task's `bytes` (0). */
  readonly bytes: number;
  /** The caller whose share of the queue it counts against (`limits.maxQueuedPerCaller`): `metadata.owner` when a non-empty string. */
  readonly owner: string | undefined;
}

/** What a queued session holds of the queue's bounds (`QueueRoom`): its request's bytes and its caller. */
export type Held = Pick<Admitted, 'bytes' | 'owner'>;

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
    const router = settings.router;
    this.route =
      router === undefined
        ? defaultRouter(settings.providers, settings.defaults)
        : (request) => {
            try {
              return router(request);
            } catch (error) {
              if (isTroupe(error)) throw error;
              throw thrown("createRuntime's `router` to return a target", 'by it', error);
            }
          };
  }

  /**
   * Counts a refused submission under its code, then throws what refused it: a troupe error as it
   * is, anything else (thrown by a getter or a Proxy of the caller's while `reading` it) as
   * `INVALID_REQUEST` with it as the `cause`; until 2026-12-07 that was rethrown as it was.
   */
  // Stryker disable next-line StringLiteral: only `chat` and `task` refuse an error of the caller's, and each names what it read
  refuse(error: unknown, reading = 'the submission'): never {
    const refusal = isTroupe(error)
      ? (error as TroupeError)
      : thrown(`${reading} to be read without an error`, 'while reading it', error);
    this.settings.counters.reject(refusal.code);
    throw refusal;
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
        `Expected room in the queue, got ${queued} sessions waiting (limit ${this.settings.limits.maxQueued})`,
      ),
    );
  }

  /**
   * Refuses a request of `bytes` from `owner` that does not fit in what waits: with `QUEUE_FULL`
   * while the queue holds too many bytes (`limits.maxQueuedBytes`) or the owner has its share of
   * the queue waiting (`limits.maxQueuedPerCaller`, or its bytes' share), all of which may pass; with `INVALID_REQUEST`
   * when the request is larger than the whole byte bound (it never fits: calling again cannot help).
   */
  roomFor(queue: QueueRoom, bytes: number, owner?: string, pastShare = false): void {
    const room = queue.room(bytes, owner, pastShare);
    if (room === 'fits') return;
    // A share as large as the queue (stdio's one caller): the queue is what is full, and its
    // setting (maxQueued, --max-queued) is the one to name.
    if (room === 'share' && queue.perCaller >= this.settings.limits.maxQueued)
      this.queueFull(queue.heldBy(owner as string));
    const limit = queue.limit;
    this.refuse(
      room === 'never'
        ? tooLarge(limit, bytes)
        : room === 'share'
          ? runtimeError(
              'QUEUE_FULL',
              `Expected at most ${queue.perCaller} sessions of one caller waiting (limits.maxQueuedPerCaller), got ${queue.heldBy(owner as string)} of caller ${JSON.stringify(owner)} waiting; call again once some have started, or cancel some`,
            )
          : room === 'shareBytes'
            ? runtimeError(
                'QUEUE_FULL',
                `Expected at most ${queue.perCallerBytes} bytes of one caller's requests waiting (its share of limits.maxQueuedBytes, as limits.maxQueuedPerCaller is of limits.maxQueued), got ${queue.bytesHeldBy(owner as string)} bytes of caller ${JSON.stringify(owner)} waiting and a request of ${bytes}; call again once some have started, or cancel some`,
              )
            : runtimeError(
                'QUEUE_FULL',
                `Expected room for a request of ${bytes} bytes in the queue, got ${queue.held} bytes waiting (limit ${limit}, limits.maxQueuedBytes)`,
              ),
    );
  }

  /** A chat request: routed, its provider known, its options valid. */
  chat(request: SessionRequest, options: SubmitOptions): Admitted {
    this.refuseWhileDraining();
    const { providers, defaults } = this.settings;
    let reading = '`submit` options';
    try {
      checkSubmitKeys(options, 'submit');
      reading = 'the request';
      // The runtime's own copy, read once and measured in the same walk (`ownRequest`): everything
      // after reads it, never the caller's objects again. Its fields are checked, not the caller's:
      // a Proxy could show one set of keys to a check and another to the copy (until 2026-12-07 the
      // caller's were checked too, an enumeration more of every request for no refusal of its own).
      const max = this.settings.limits.maxQueuedBytes;
      const own = ownRequest(request, max);
      // Past the bound the copy stopped, short of some fields: the request is refused as the checks
      // refuse it (a field it does not take named first, its arrays weighed by their lengths), else
      // as too large.
      if (own.bytes > max) {
        checkRequestKeys(request);
        checkRequest(request, max);
        throw tooLarge(max, own.bytes);
      }
      const copy = own.request as unknown as SessionRequest;
      checkRequestKeys(copy);
      checkRequest(copy, max);
      // Fallbacks, the context-window check and the token windows (routing.ts): no network call.
      const routed = routeChat(copy, this.route, providers, this.settings.limits, own);
      reading = '`submit` options';
      const resolved = resolveSubmitOptions(options, defaults);
      // The owner as charging reads it: the metadata's own (an inherited one is none).
      this.settings.budgets?.precheck(ownerIn(options.metadata), routed.provider, routed.model);
      const stream = copy.stream === true;
      const admitted = this.admitted(
        routed.work,
        routed.provider,
        routed.model,
        stream,
        resolved,
        options,
        routed.bytes,
      );
      // The input was made just now for this session: adding the chain to it copies nothing.
      if (routed.targets !== undefined) Object.assign(admitted.input, { targets: routed.targets });
      return admitted;
    } catch (error) {
      return this.refuse(error, reading);
    }
  }

  /** A generic task on a lane. */
  task<T>(task: TaskFunction<T>, options: RunOptions): Admitted {
    this.refuseWhileDraining();
    try {
      if (typeof task !== 'function') {
        throw runtimeError('INVALID_REQUEST', `Expected a task function, got ${describe(task)}`);
      }
      // Each is kept with the session and in the history, as its provider and model.
      for (const field of ['lane', 'name'] as const) {
        const value: unknown = options?.[field];
        if (field === 'name' && value === undefined) continue;
        if (!isName(value)) {
          throw runtimeError(
            'INVALID_REQUEST',
            `Expected \`${field}\` to be a string of 1 to ${MAX_NAME_CHARS} characters, got ${describe(value)}`,
          );
        }
      }
      checkSubmitKeys(options, 'run');
      const resolved = resolveSubmitOptions({ maxAttempts: 1, ...options }, this.settings.defaults);
      // What the caller says it holds (the host: its call's arguments); the function itself counts 0.
      const bytes = options.bytes === undefined ? 0 : byteCount('bytes', options.bytes);
      const work: SessionWork = { kind: 'task', task: task as TaskFunction<unknown> };
      return this.admitted(work, options.lane, options.name ?? options.lane, false, resolved, options, bytes);
    } catch (error) {
      return this.refuse(error, '`run` options');
    }
  }

  private admitted(
    work: SessionWork,
    lane: string,
    model: string,
    stream: boolean,
    resolved: ReturnType<typeof resolveSubmitOptions>,
    options: SubmitOptions,
    bytes: number,
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
    return {
      input,
      work,
      label: options.label,
      caller: caller.value,
      callerTruncated: caller.truncated,
      bytes,
      owner: ownerIn(options.metadata),
    };
  }
}

/** `INVALID_REQUEST` for an error of the caller's own (not troupe's), thrown `where`, kept as the `cause`. */
function thrown(expected: string, where: string, error: unknown): TroupeError {
  return runtimeError(
    'INVALID_REQUEST',
    `Expected ${expected}, got ${nameOf(error)} thrown ${where} (this error's \`cause\`)`,
    { cause: error },
  );
}

/** Whether `error` is troupe's; a Proxy whose trap throws on the question is not. */
// Stryker disable BlockStatement: an empty catch returns `undefined`, as falsy as `false` (the marker covers the try too; the tests of wrapping would see it emptied)
function isTroupe(error: unknown): boolean {
  try {
    return error instanceof TroupeError;
  } catch {
    return false;
  }
}
// Stryker restore BlockStatement

/** An error's class name (`a TypeError`), or the type of what was thrown (`a string`): never its text, which is the caller's. */
function nameOf(error: unknown): string {
  let name: string;
  try {
    name = error instanceof Error ? String(error.name).slice(0, 64) : typeof error;
  } catch {
    name = typeof error; // a Proxy's trap threw in turn
  }
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}
