/**
 * How a session's machine runs. Both engines run the same XState definition with the same effects:
 *
 * - `compiled` (the default) runs it from a table compiled from that definition
 *   (`src/core/statechart/compile.ts`), about 25 times cheaper per session than an XState `Actor`;
 *   a differential property test holds it to XState's own interpreter.
 * - `xstate` makes every session a real XState `Actor`: XState's own interpreter, for comparison and
 *   for inspection down to microsteps and actions.
 *
 * `inspect` works with both (`session-inspection.ts`): the compiled engine reports the session's
 * actor, events and snapshots as XState inspection events. Off, it costs nothing.
 */
import { type AnyStateMachine, createActor } from 'xstate';
import type { SessionContext, SessionInput, SessionMachineEvent } from '../../machines/session.js';
import { describe, runtimeError } from '../core/errors.js';
import { compileMachine } from '../core/statechart/compile.js';
import { reportError } from './requests.js';
import { CompiledInspection, type InspectObserver, inspectionSink, sampler } from './session-inspection.js';
import type { SessionTracer } from './tracing.js';

export type SessionEngineKind = 'compiled' | 'xstate';

/** What the runtime needs of a running session machine; an XState `Actor` has it too. */
export interface SessionActor {
  send(event: SessionMachineEvent): void;
  getSnapshot(): { readonly value: unknown; readonly status: string; readonly context: SessionContext };
}

export interface SessionEngine {
  readonly kind: SessionEngineKind;
  /**
   * Whether a stream's deltas may skip their machine step (`delta-folding.ts`): on the compiled
   * engine without inspection, which would otherwise miss the events it reports.
   */
  readonly foldsDeltas: boolean;
  /** A started session in `queued`. */
  start(input: SessionInput): SessionActor;
  /** A started session resumed at `value` with `context`; no entry actions run. */
  restore(input: SessionInput, value: unknown, context: SessionContext): SessionActor;
}

/** How session machines run and who watches them: these options of `RuntimeOptions`. */
export interface MachineOptions {
  /**
   * How session machines run. `'compiled'` runs the session machine from a table compiled from its
   * XState definition and held to XState's interpreter by a differential test; `'xstate'` makes
   * every session a real XState `Actor` (about 25 times the cost per session). @default 'compiled'
   */
  readonly engine?: SessionEngineKind;
  /**
   * An XState inspection observer (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`) for the
   * session actors, on either engine; Stately's inspector: `(await connectInspector()).observer`,
   * or `createWebSocketInspector().inspect` of `@statelyai/inspect`. See docs/observability.md.
   */
  readonly inspect?: InspectObserver;
  /** The share of sessions `inspect` sees, in (0, 1], spread evenly (0.25: every fourth). @default 1 */
  readonly inspectSampleRate?: number;
  /**
   * OpenTelemetry: a span per session, from `trace.getTracer('troupe')` of `@opentelemetry/api`
   * (src/runtime/tracing.ts, docs/observability.md). @default none: no tracing code runs
   */
  readonly tracer?: SessionTracer;
}

export interface EngineOptions extends Omit<MachineOptions, 'tracer'> {
  readonly onError?: ((error: unknown) => void) | undefined;
}

export function sessionEngine(machine: AnyStateMachine, options: EngineOptions): SessionEngine {
  const { inspect } = options;
  const kind = options.engine ?? 'compiled';
  if (kind !== 'compiled' && kind !== 'xstate')
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`engine\` to be "compiled" or "xstate", got ${describe(kind)}`,
    );
  const sampled = sampler(options.inspectSampleRate);
  const emit = inspect === undefined ? null : inspectionSink(inspect, options.onError ?? reportError);
  if (kind === 'compiled') {
    const compiled = compileMachine<SessionContext, SessionMachineEvent, SessionInput>(machine);
    if (emit === null)
      return {
        kind,
        foldsDeltas: true,
        start: (input) => compiled.start(input),
        restore: (_input, value, context) => compiled.restore(value, context),
      };
    const watch = (input: SessionInput) =>
      sampled() ? new CompiledInspection(machine, input.sessionId, emit) : undefined;
    return {
      kind,
      foldsDeltas: false,
      start: (input) => compiled.start(input, watch(input)),
      restore: (input, value, context) => {
        const inspection = watch(input);
        const actor = compiled.restore(value, context, inspection);
        inspection?.register(actor);
        return actor;
      },
    };
  }
  // Stryker disable next-line ConditionalExpression: without an inspector, XState takes `inspect: null` as none.
  const actorOptions = () => (emit !== null && sampled() ? { inspect: emit } : {});
  // An action that throws leaves the actor in status `error`, which the runtime handles; without an
  // error observer XState would also rethrow it from a timer and crash the process.
  const started = (actor: ReturnType<typeof createActor>) => {
    actor.subscribe({ error: () => {} });
    return actor.start() as unknown as SessionActor;
  };
  return {
    kind,
    foldsDeltas: false,
    start: (input) => started(createActor(machine, { ...actorOptions(), input })),
    restore: (input, value, context) =>
      started(
        createActor(machine, {
          ...actorOptions(),
          input,
          snapshot: machine.resolveState({ value: value as never, context }),
        }),
      ),
  };
}
