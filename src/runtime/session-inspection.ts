/**
 * XState inspection for sessions on any engine. With `engine: 'xstate'` each session is an XState
 * `Actor` and XState reports to the observer itself; the compiled engine reports the same three
 * kinds of inspection event through an `ActorWatch` on its actor:
 *
 * - `@xstate.actor` once, when the session's actor starts (or is resumed after a takeover);
 * - `@xstate.event` for every event the actor handles, starting with `xstate.init`;
 * - `@xstate.snapshot` after each of those events, with the session's state value and context.
 *
 * The actor reference in them carries the session's id as `sessionId` and the machine as `logic`,
 * which is what `@statelyai/inspect` reads to draw the chart. XState's finer events
 * (`@xstate.microstep`, `@xstate.action`) are not reported by the compiled engine.
 *
 * Sampling: `inspectSampleRate` (0 < rate <= 1) picks that share of sessions, evenly and without
 * randomness (0.25 inspects every fourth session), and an inspected session is reported whole.
 * An observer that throws is reported to `onError`; the session does not notice.
 */
import type { AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import type { SessionContext, SessionMachineEvent } from '../../machines/session.js';
import { describe, runtimeError } from '../core/errors.js';
import type { ActorWatch, CompiledActor } from '../core/statechart/compile.js';

export type InspectObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

type Actor = CompiledActor<SessionContext, SessionMachineEvent>;

/** `true` for the share `rate` of calls, evenly spread: call n is picked when floor(n*rate) grows. */
export function sampler(rate: number | undefined): () => boolean {
  if (rate === undefined) return () => true;
  if (typeof rate !== 'number' || !(rate > 0 && rate <= 1))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`inspectSampleRate\` to be a number in (0, 1] (the share of sessions inspected), got ${describe(rate)}`,
    );
  let n = 0;
  return () => {
    n += 1;
    return Math.floor(n * rate) > Math.floor((n - 1) * rate);
  };
}

export function inspectionSink(
  observer: InspectObserver,
  onError: (error: unknown) => void,
): (event: InspectionEvent) => void {
  const next = typeof observer === 'function' ? observer : observer.next?.bind(observer);
  return (event) => {
    try {
      next?.(event);
    } catch (error) {
      onError(error);
    }
  };
}

/** Reports one compiled session's actor as XState inspection events. */
export class CompiledInspection implements ActorWatch<SessionContext, SessionMachineEvent> {
  private ref: InspectedRef | null = null;

  constructor(
    private readonly machine: AnyStateMachine,
    private readonly sessionId: string,
    private readonly emit: (event: InspectionEvent) => void,
  ) {}

  /** Registers the actor (`@xstate.actor`); the first event does it for a started actor. */
  register(actor: Actor): InspectedRef {
    if (this.ref !== null) return this.ref;
    const ref = inspectedRef(this.machine, this.sessionId, actor);
    this.ref = ref;
    this.emit({ type: '@xstate.actor', actorRef: ref, rootId: this.sessionId } as InspectionEvent);
    return ref;
  }

  event(actor: Actor, event: SessionMachineEvent): void {
    const actorRef = this.register(actor);
    this.emit({
      type: '@xstate.event',
      actorRef,
      sourceRef: undefined,
      event,
      rootId: this.sessionId,
    } as InspectionEvent);
  }

  snapshot(actor: Actor, event: SessionMachineEvent): void {
    const actorRef = this.register(actor);
    this.emit({
      type: '@xstate.snapshot',
      actorRef,
      event,
      snapshot: actorRef.getSnapshot(),
      rootId: this.sessionId,
    } as unknown as InspectionEvent);
  }
}

interface InspectedRef {
  readonly id: string;
  readonly sessionId: string;
  readonly logic: AnyStateMachine;
  readonly _parent: undefined;
  send(event: SessionMachineEvent): void;
  getSnapshot(): InspectedSnapshot;
}

interface InspectedSnapshot {
  readonly status: 'active' | 'done' | 'error';
  readonly value: unknown;
  readonly context: SessionContext;
  readonly output: undefined;
  readonly error: unknown;
  readonly children: Record<string, never>;
  readonly historyValue: Record<string, never>;
  readonly tags: readonly string[];
}

function inspectedRef(machine: AnyStateMachine, sessionId: string, actor: Actor): InspectedRef {
  return {
    id: machine.id,
    sessionId,
    logic: machine,
    _parent: undefined,
    send: (event) => actor.send(event),
    getSnapshot: () => {
      const { status, value, context, error } = actor.getSnapshot();
      return { status, value, context, output: undefined, error, children: {}, historyValue: {}, tags: [] };
    },
  };
}
