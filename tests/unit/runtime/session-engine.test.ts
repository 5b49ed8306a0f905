/**
 * Both session engines run the one definition with the runtime's effects: a started session is in
 * `queued`, a restored one resumes where it was without running entry actions, a session whose
 * action throws stops in `error` (the driver ends it) without crashing the process, and inspection
 * reports the sampled sessions on either engine.
 */
import { describe, expect, it, vi } from 'vitest';
import { Actor, type InspectionEvent } from 'xstate';
import { type SessionMachineEvent, sessionMachine } from '../../../machines/session.js';
import { type SessionEngineKind, sessionEngine } from '../../../src/runtime/session-engine.js';
import { sessionContext, sessionInput } from './session-fixtures.js';

function machine(starts: string[], fail = false) {
  return sessionMachine.provide({
    actions: {
      startProviderCall: ({ context }) => {
        starts.push(context.input.sessionId);
        if (fail) throw new Error('the call could not start');
      },
    },
  });
}

const admit: SessionMachineEvent = { type: 'session.admit', now: 200 };
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('sessionEngine', () => {
  it('refuses an engine it does not have', () => {
    expect(() => sessionEngine(machine([]), { engine: 'fast' as SessionEngineKind })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Expected `engine` to be "compiled" or "xstate", got `"fast"` (string)',
      }),
    );
  });

  it('lets deltas skip their machine step only on the compiled engine without inspection', () => {
    expect(sessionEngine(machine([]), {}).foldsDeltas).toBe(true);
    expect(sessionEngine(machine([]), { inspect: () => {} }).foldsDeltas).toBe(false);
    expect(sessionEngine(machine([]), { engine: 'xstate' }).foldsDeltas).toBe(false);
  });

  it('runs the compiled engine by default', () => {
    expect(sessionEngine(machine([]), {}).kind).toBe('compiled');
    expect(sessionEngine(machine([]), { engine: 'xstate' }).kind).toBe('xstate');
  });

  it("reports an inspector's failure as a process warning when there is no onError", () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const broken = new Error('inspector down');
      const engine = sessionEngine(machine([]), {
        inspect: () => {
          throw broken;
        },
      });
      engine.start(sessionInput()).send(admit);
      expect(warn).toHaveBeenCalledWith('inspector down', {
        type: 'Error',
        code: 'TROUPE_LISTENER_ERROR',
        detail: broken.stack,
      });
    } finally {
      warn.mockRestore();
    }
  });

  for (const kind of ['compiled', 'xstate'] as const) {
    describe(kind, () => {
      it(
        kind === 'xstate' ? 'makes each session a real XState actor' : 'runs sessions without XState actors',
        () => {
          const engine = sessionEngine(machine([]), { engine: kind });
          const context = sessionContext(sessionInput(), {
            startedAt: 200,
            runDeadlineAt: 5200,
            attempts: 1,
          });
          expect(engine.start(sessionInput()) instanceof Actor).toBe(kind === 'xstate');
          expect(engine.restore(sessionInput(), { running: 'backingOff' }, context) instanceof Actor).toBe(
            kind === 'xstate',
          );
        },
      );

      it('starts a session queued, and runs its effects as it moves', () => {
        const starts: string[] = [];
        const actor = sessionEngine(machine(starts), { engine: kind }).start(sessionInput());
        const queued = actor.getSnapshot();
        expect(queued.value).toBe('queued');
        expect(queued.status).toBe('active');
        expect(queued.context).toEqual(sessionContext());
        actor.send(admit);
        expect(actor.getSnapshot().value).toEqual({ running: { attempt: 'calling' } });
        expect(actor.getSnapshot().context).toMatchObject({
          startedAt: 200,
          runDeadlineAt: 5200,
          attempts: 1,
        });
        expect(starts).toEqual(['s1']);
      });

      it('resumes a session where it was, without running entry actions', () => {
        const starts: string[] = [];
        const engine = sessionEngine(machine(starts), { engine: kind });
        const context = sessionContext(sessionInput(), {
          startedAt: 200,
          runDeadlineAt: 5200,
          attempts: 1,
          retryAt: 300,
        });
        const actor = engine.restore(sessionInput(), { running: 'backingOff' }, context);
        expect(actor.getSnapshot().value).toEqual({ running: 'backingOff' });
        expect(actor.getSnapshot().context).toEqual(context);
        expect(starts).toEqual([]);
        actor.send({ type: 'session.tick', now: 300 });
        expect(actor.getSnapshot().context.attempts).toBe(2);
        expect(starts).toEqual(['s1']);
      });

      it('stops a session whose action threw in `error`, and nothing is thrown later', async () => {
        const actor = sessionEngine(machine([], true), { engine: kind }).start(sessionInput());
        actor.send(admit);
        const snapshot = actor.getSnapshot() as { status: string; error?: unknown };
        expect(snapshot.status).toBe('error');
        expect((snapshot.error as Error).message).toBe('the call could not start');
        await flush();
      });

      it('reports every session to the inspector, started or resumed', () => {
        const seen: InspectionEvent[] = [];
        const engine = sessionEngine(machine([]), { engine: kind, inspect: (event) => seen.push(event) });
        const actor = engine.start(sessionInput({ sessionId: 'a' }));
        actor.send(admit);
        const types = seen.map((e) => e.type);
        expect(types).toContain('@xstate.actor');
        expect(types).toContain('@xstate.event');
        expect(types).toContain('@xstate.snapshot');
        const events = seen
          .filter((e) => e.type === '@xstate.event')
          .map((e) => (e as { event: { type: string } }).event.type);
        expect(events).toContain('session.admit');
        seen.length = 0;
        const context = sessionContext(sessionInput({ sessionId: 'b' }), {
          startedAt: 200,
          runDeadlineAt: 5200,
          attempts: 1,
        });
        engine.restore(sessionInput({ sessionId: 'b' }), { running: 'backingOff' }, context);
        expect(seen.map((e) => e.type)).toContain('@xstate.actor');
      });

      it('inspects only the sampled share of sessions, evenly', () => {
        const seen = new Set<string>();
        const engine = sessionEngine(machine([]), {
          engine: kind,
          inspectSampleRate: 0.5,
          inspect: (event) => {
            const ref = event.actorRef as unknown as {
              sessionId?: string;
              id: string;
              options?: { input?: { sessionId: string } };
            };
            seen.add(ref.sessionId ?? ref.options?.input?.sessionId ?? ref.id);
          },
        });
        for (const id of ['a', 'b', 'c', 'd']) engine.start(sessionInput({ sessionId: id })).send(admit);
        expect(seen.size).toBe(2);
        const context = sessionContext(sessionInput(), { startedAt: 200, runDeadlineAt: 5200, attempts: 1 });
        const before = seen.size;
        engine
          .restore(sessionInput({ sessionId: 'e' }), { running: 'backingOff' }, context)
          .send({ type: 'session.tick', now: 201 });
        engine
          .restore(sessionInput({ sessionId: 'f' }), { running: 'backingOff' }, context)
          .send({ type: 'session.tick', now: 201 });
        expect(seen.size).toBe(before + 1);
      });

      it("hands an inspector's failure to onError; the session goes on", () => {
        const errors: unknown[] = [];
        const broken = new Error('inspector down');
        const engine = sessionEngine(machine([]), {
          engine: kind,
          inspect: () => {
            throw broken;
          },
          onError: (error) => errors.push(error),
        });
        const actor = engine.start(sessionInput());
        actor.send(admit);
        expect(actor.getSnapshot().value).toEqual({ running: { attempt: 'calling' } });
        expect(errors.length).toBeGreaterThan(0);
        expect(errors.every((e) => e === broken)).toBe(true);
      });
    });
  }
});
