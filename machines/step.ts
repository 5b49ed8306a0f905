/**
 * One transition of a machine whose snapshots are plain data kept outside any actor (the circuit
 * breaker's and a provider's cooldown, in the shared state): the machine's own `transition`, given
 * one inert actor scope made when the module loads.
 *
 * XState's `transition(machine, ...)` and `getNextSnapshot` make a new actor, and with it a new
 * system, for every step, only to have a scope to pass: about 17 µs a breaker step here. And that
 * actor builds its initial context with `assign`, so XState's development build warned "Custom
 * actions should not call `assign()` directly" whenever a step ran inside an XState actor's own
 * action (the supervisor's, or a session's with `engine: 'xstate'`): 32 times in 3,000 runs of the
 * runtime model, and in the test output of anyone running troupe with breakers under vitest. Until
 * 2026-12-06 both machines stepped so.
 *
 * The scope does nothing a step of these machines needs: their actions are all `assign` (resolved
 * by the machine itself), and they spawn, emit, defer and log nothing.
 */
import {
  type AnyActorScope,
  type AnyStateMachine,
  createActor,
  type EventFromLogic,
  type SnapshotFrom,
} from 'xstate';

/** `machine`'s transitions as a function; `input` builds the scope's actor (never started). */
export function snapshotStep<M extends AnyStateMachine>(
  machine: M,
  input?: unknown,
): (snapshot: SnapshotFrom<M>, event: EventFromLogic<M>) => SnapshotFrom<M> {
  const self = createActor(machine, { input } as never);
  const scope: AnyActorScope = {
    self,
    // Stryker disable next-line StringLiteral: no step of these machines reads its scope's ids (they spawn nothing and log nothing).
    id: '',
    // Stryker disable next-line StringLiteral: as `id`.
    sessionId: '',
    system: self.system,
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: () => {},
  };
  return (snapshot, event) => machine.transition(snapshot, event, scope) as SnapshotFrom<M>;
}
