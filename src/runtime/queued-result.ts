/**
 * The result of a session that never ran on this instance (ended while queued elsewhere, or lost),
 * built by the session machine itself from `queued`, so its messages match a session run here.
 */
import { createActor } from 'xstate';
import { type SessionMachineEvent, sessionMachine } from '../../machines/session.js';
import type { WaitingFor } from './limit-types.js';
import type { QueuedSession } from './ports.js';
import { buildResult, type ResultSource } from './session-record.js';
import type { FinalState, SessionResult } from './types.js';

/**
 * Runs the machine from `queued` through `events`; the result it ends with. `waitingFor`: the
 * limit that held it back while queued, named by a queue timeout as in memory.
 */
export function resultOf(
  data: QueuedSession,
  events: readonly SessionMachineEvent[],
  waitingFor?: WaitingFor,
): SessionResult {
  const actor = createActor(sessionMachine, { input: data.input }).start();
  for (const event of events) actor.send(event);
  const snapshot = actor.getSnapshot();
  actor.stop();
  const record: ResultSource = {
    label: data.label,
    caller: data.caller,
    callerTruncated: data.callerTruncated === true,
    // Stryker disable next-line ObjectLiteral,StringLiteral: buildResult tells only a task apart; a session queued elsewhere is never one.
    work: { kind: 'chat' },
    value: undefined,
    waitingFor,
  };
  const state = (typeof snapshot.value === 'string' ? snapshot.value : 'failed') as FinalState;
  return buildResult(record, snapshot.context, state) as SessionResult;
}
