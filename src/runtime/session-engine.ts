/**
 * How a session's machine runs. Both engines run the same XState definition with the same effects:
 *
 * - `compiled` (the default) runs it from a table compiled from that definition
 *   (`src/core/statechart/compile.ts`), about 25 times cheaper per session than an XState `Actor`;
 *   a differential property test holds it to XState's own interpreter.
 * - `xstate` makes every session a real XState `Actor`, so XState's inspection API (`inspect`)
 *   sees each one: its events, microsteps and snapshots.
 */
import { type AnyStateMachine, createActor, type InspectionEvent, type Observer } from 'xstate';
import type { SessionContext, SessionInput, SessionMachineEvent } from '../../machines/session.js';
import { describe, runtimeError } from '../core/errors.js';
import { compileMachine } from '../core/statechart/compile.js';

export type SessionEngineKind = 'compiled' | 'xstate';

/** What the runtime needs of a running session machine; an XState `Actor` has it too. */
export interface SessionActor {
  send(event: SessionMachineEvent): void;
  getSnapshot(): { readonly value: unknown; readonly status: string; readonly context: SessionContext };
}

export interface SessionEngine {
  readonly kind: SessionEngineKind;
  /** A started session in `queued`. */
  start(input: SessionInput): SessionActor;
  /** A started session resumed at `value` with `context`; no entry actions run. */
  restore(input: SessionInput, value: unknown, context: SessionContext): SessionActor;
}

export interface EngineOptions {
  readonly engine?: SessionEngineKind | undefined;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
}

export function sessionEngine(machine: AnyStateMachine, options: EngineOptions): SessionEngine {
  const { inspect } = options;
  const kind = options.engine ?? (inspect === undefined ? 'compiled' : 'xstate');
  if (kind !== 'compiled' && kind !== 'xstate')
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`engine\` to be "compiled" or "xstate", got ${describe(kind)}`,
    );
  if (kind === 'compiled' && inspect !== undefined)
    throw runtimeError(
      'INVALID_REQUEST',
      'Expected `engine: "xstate"` with `inspect` (only real XState actors can be inspected), got `engine: "compiled"`',
    );
  if (kind === 'compiled') {
    const compiled = compileMachine<SessionContext, SessionMachineEvent, SessionInput>(machine);
    return {
      kind,
      start: (input) => compiled.start(input),
      restore: (_input, value, context) => compiled.restore(value, context),
    };
  }
  const actorOptions = inspect === undefined ? {} : { inspect };
  // An action that throws leaves the actor in status `error`, which the runtime handles; without an
  // error observer XState would also rethrow it from a timer and crash the process.
  const started = (actor: ReturnType<typeof createActor>) => {
    actor.subscribe({ error: () => {} });
    return actor.start() as unknown as SessionActor;
  };
  return {
    kind,
    start: (input) => started(createActor(machine, { ...actorOptions, input })),
    restore: (input, value, context) =>
      started(
        createActor(machine, {
          ...actorOptions,
          input,
          snapshot: machine.resolveState({ value: value as never, context }),
        }),
      ),
  };
}
