/**
 * A streaming session's deltas folded into one machine step (`src/runtime/delta-folding.ts`): the
 * session machine, compiled, must end up where a step per chunk would have left it, before any
 * other event and any snapshot read.
 */
import { describe, expect, it } from 'vitest';
import {
  type SessionContext,
  type SessionInput,
  type SessionMachineEvent,
  sessionMachine,
} from '../../../machines/session.js';
import { compileMachine } from '../../../src/core/statechart/compile.js';
import { DeltaFoldingActor } from '../../../src/runtime/delta-folding.js';
import type { SessionActor } from '../../../src/runtime/session-engine.js';

const IDLE = 1000;
const input: SessionInput = {
  sessionId: 's1',
  requestId: 'r1',
  provider: 'p',
  model: 'm',
  priority: 0,
  stream: true,
  createdAt: 0,
  queueDeadlineAt: 60_000,
  timeoutMs: 60_000,
  idleTimeoutMs: IDLE,
  maxAttempts: 1,
  backoffBaseMs: 10,
  backoffMaxMs: 10,
};
const chunk = (now: number, chars: number, text = 'x') =>
  ({ type: 'provider.chunk', now, chars, delta: { type: 'content', text } }) as const;

/** A session in `streaming` (admitted at 0, first chunk at 10), wrapped. */
function streaming() {
  const machine = compileMachine<SessionContext, SessionMachineEvent, SessionInput>(sessionMachine);
  const inner = machine.start(input);
  inner.send({ type: 'session.admit', now: 0 });
  inner.send(chunk(10, 1));
  return new DeltaFoldingActor(inner);
}

describe('DeltaFoldingActor', () => {
  it('a snapshot read sees the last deferred chunk: its characters and its idle deadline', () => {
    const actor = streaming();
    expect(actor.defer(chunk(200, 2))).toBe(true);
    expect(actor.defer(chunk(900, 3))).toBe(true);
    const { value, context } = actor.getSnapshot();
    expect(value).toEqual({ running: { attempt: 'streaming' } });
    expect(context.chars).toBe(3);
    expect(context.idleDeadlineAt).toBe(900 + IDLE);
  });

  it('a tick at the first chunk idle deadline finds deltas since: the stream lives on, and times out a full idle timeout after the last', () => {
    const actor = streaming();
    actor.defer(chunk(900, 2));
    actor.send({ type: 'session.tick', now: 10 + IDLE });
    expect(actor.getSnapshot().value).toEqual({ running: { attempt: 'streaming' } });
    actor.send({ type: 'session.tick', now: 900 + IDLE - 1 });
    expect(actor.getSnapshot().value).toEqual({ running: { attempt: 'streaming' } });
    actor.send({ type: 'session.tick', now: 900 + IDLE });
    expect(actor.getSnapshot().value).toBe('timedOut');
    expect(actor.getSnapshot().context.error?.timeout).toBe('idle');
  });

  it('folds once, before the next event, with the last chunk and no delta (observers already have them)', () => {
    const seen: SessionMachineEvent[] = [];
    let wrapper: DeltaFoldingActor | undefined;
    let reentered: boolean | undefined;
    const inner: SessionActor = {
      send: (event) => {
        seen.push(event);
        // An event sent while the actor handles one must wait its turn, not be folded past it.
        if (event.type === 'provider.done') reentered = wrapper?.defer(chunk(5000, 9));
      },
      getSnapshot: () => ({ value: 'x', status: 'active', context: {} as SessionContext }),
    };
    wrapper = new DeltaFoldingActor(inner);
    wrapper.defer(chunk(100, 1, 'a'));
    wrapper.defer(chunk(200, 2, 'b'));
    wrapper.send({ type: 'provider.done', now: 300, output: { content: 'ab' } });
    wrapper.getSnapshot();
    expect(seen).toEqual([
      { type: 'provider.chunk', now: 200, chars: 2, delta: undefined },
      { type: 'provider.done', now: 300, output: { content: 'ab' } },
    ]);
    expect(reentered).toBe(false);
  });

  it('starts with nothing to fold, and takes chunks again once an event or a fold is over', () => {
    const seen: SessionMachineEvent[] = [];
    let wrapper: DeltaFoldingActor | undefined;
    const deferredDuring: boolean[] = [];
    const inner: SessionActor = {
      send: (event) => {
        seen.push(event);
        // A chunk arriving while the actor handles an event (the folded chunk included) waits.
        if (wrapper !== undefined) deferredDuring.push(wrapper.defer(chunk(50, 7)));
      },
      getSnapshot: () => ({ value: 'x', status: 'active', context: {} as SessionContext }),
    };
    const actor = new DeltaFoldingActor(inner);
    // Nothing was deferred: a read or an event reaches the actor alone, with no chunk before it.
    actor.getSnapshot();
    actor.send({ type: 'session.tick', now: 1 });
    expect(seen).toEqual([{ type: 'session.tick', now: 1 }]);
    // After an event, chunks are taken again.
    expect(actor.defer(chunk(100, 1))).toBe(true);
    // After a fold (by a read), too; and a chunk arriving during the fold is refused.
    wrapper = actor;
    actor.getSnapshot();
    expect(deferredDuring).toEqual([false]);
    wrapper = undefined;
    expect(actor.defer(chunk(200, 2))).toBe(true);
    expect(seen.at(-1)).toEqual({ type: 'provider.chunk', now: 100, chars: 1, delta: undefined });
  });
});
