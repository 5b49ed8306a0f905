/**
 * The parts of `src/runtime/session-inspection.ts` called directly (the runtime-level behaviour is
 * in tests/unit/runtime/session-inspection.test.ts): the even sampler, the sink that keeps an
 * observer's failure from the session, and the inspection events of a compiled session's actor.
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import type { SessionMachineEvent } from '../../../../machines/session.js';
import { CompiledInspection, inspectionSink, sampler } from '../../../../src/runtime/session-inspection.js';

const picks = (rate: number | undefined, n: number) => {
  const pick = sampler(rate);
  return Array.from({ length: n }, () => pick());
};

describe('sampler', () => {
  it('picks every session without a rate or at rate 1', () => {
    expect(picks(undefined, 3)).toEqual([true, true, true]);
    expect(picks(1, 3)).toEqual([true, true, true]);
  });

  it('picks the share `rate` of sessions, evenly: 0.25 is every fourth, 0.5 every second', () => {
    expect(picks(0.25, 8)).toEqual([false, false, false, true, false, false, false, true]);
    expect(picks(0.5, 4)).toEqual([false, true, false, true]);
    // Call n is picked when floor(n * rate) grows: 0.4 picks the 3rd and the 5th of five.
    expect(picks(0.4, 5)).toEqual([false, false, true, false, true]);
    expect(picks(0.999, 1000).filter(Boolean)).toHaveLength(999);
  });

  it('refuses a rate outside (0, 1] or not a number, saying what it expected', () => {
    for (const rate of [0, -0.5, 1.5, Number.NaN, '0.5' as unknown as number]) {
      expect(() => sampler(rate)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringMatching(
            /^Expected `inspectSampleRate` to be a number in \(0, 1\] \(the share of sessions inspected\), got /,
          ),
        }),
      );
    }
  });
});

describe('inspectionSink', () => {
  const event = { type: '@xstate.event' } as InspectionEvent;

  it('calls a function observer, or an observer object as `this`, with each event', () => {
    const seen: InspectionEvent[] = [];
    inspectionSink(
      (e) => seen.push(e),
      () => undefined,
    )(event);
    const observer = {
      seen: [] as InspectionEvent[],
      next(e: InspectionEvent) {
        this.seen.push(e);
      },
    };
    inspectionSink(observer, () => undefined)(event);
    expect(seen).toEqual([event]);
    expect(observer.seen).toEqual([event]);
    // An observer without `next` receives nothing, and nothing fails.
    const errors: unknown[] = [];
    expect(() =>
      inspectionSink({ complete: () => undefined }, (error) => errors.push(error))(event),
    ).not.toThrow();
    expect(errors).toEqual([]);
  });

  it("reports an observer's failure to onError instead of throwing", () => {
    const errors: unknown[] = [];
    const boom = new Error('observer bug');
    const sink = inspectionSink(
      () => {
        throw boom;
      },
      (error) => errors.push(error),
    );
    expect(() => sink(event)).not.toThrow();
    expect(errors).toEqual([boom]);
  });
});

describe('CompiledInspection', () => {
  const machine = { id: 'session' } as AnyStateMachine;
  const sent: SessionMachineEvent[] = [];
  const actor = {
    send: (event: SessionMachineEvent) => sent.push(event),
    getSnapshot: () => ({
      status: 'active',
      value: { queued: 'waiting' },
      context: { attempts: 0 },
      error: undefined,
    }),
  } as never;
  const admit: SessionMachineEvent = { type: 'session.admit', now: 5 };

  it('registers the actor once, then reports each event and the snapshot after it, with the session as the root', () => {
    const seen: InspectionEvent[] = [];
    const inspection = new CompiledInspection(machine, 's1', (e) => seen.push(e));
    const ref = inspection.register(actor);
    expect(inspection.register(actor)).toBe(ref);
    inspection.event(actor, admit);
    inspection.snapshot(actor, admit);
    expect(seen.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    for (const e of seen) {
      expect(e.actorRef).toBe(ref);
      expect(e.rootId).toBe('s1');
    }
    expect(seen[1]).toMatchObject({ event: admit, sourceRef: undefined });
    expect(seen[2]).toMatchObject({
      event: admit,
      snapshot: {
        status: 'active',
        value: { queued: 'waiting' },
        context: { attempts: 0 },
        output: undefined,
        error: undefined,
        children: {},
        historyValue: {},
        tags: [],
      },
    });
  });

  it("gives the actor reference the machine's id, the session's id, the machine as logic, and the actor's send", () => {
    const seen: InspectionEvent[] = [];
    const inspection = new CompiledInspection(machine, 's1', (e) => seen.push(e));
    // The first event registers a started actor.
    inspection.event(actor, admit);
    expect(seen.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event']);
    const ref = seen[0]?.actorRef as unknown as {
      id: string;
      sessionId: string;
      logic: unknown;
      _parent: unknown;
      send(event: SessionMachineEvent): void;
    };
    expect(ref).toMatchObject({ id: 'session', sessionId: 's1', logic: machine, _parent: undefined });
    sent.length = 0;
    ref.send(admit);
    expect(sent).toEqual([admit]);
    const other = new CompiledInspection(machine, 's2', () => undefined);
    other.snapshot(actor, admit);
    expect(other.register(actor)).not.toBe(ref);
  });
});
