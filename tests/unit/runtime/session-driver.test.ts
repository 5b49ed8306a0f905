/**
 * The session driver on a simulated clock: a session ends exactly once (result, slot, table,
 * counters, observers), its deadlines are armed in the one heap and fire on time, a due retry that
 * its provider's limits hold back waits, and a session whose own action threw ends `INTERNAL`.
 */
import { describe, expect, it } from 'vitest';
import type { SessionMachineEvent } from '../../../machines/session.js';
import { DeltaFoldingActor } from '../../../src/runtime/delta-folding.js';
import { EventStream } from '../../../src/runtime/event-stream.js';
import { type Alarm, cancelEvent, SUBMITTER_SHUT_DOWN } from '../../../src/runtime/session-driver.js';
import type { EngineOptions } from '../../../src/runtime/session-engine.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';
import type { SessionEvent, SessionResult } from '../../../src/runtime/types.js';
import {
  driverWorld,
  flush,
  sessionContext,
  sessionInput,
  target,
  unavailableError,
} from './session-fixtures.js';

async function drain(stream: EventStream<SessionEvent>): Promise<string[]> {
  const types: string[] = [];
  for await (const event of stream) types.push(event.type);
  return types;
}

describe('SessionDriver: a session ends exactly once', () => {
  it('answers: resolves the caller, frees its slot, moves it to the history, counts it, tells everyone', async () => {
    const w = driverWorld();
    const record = w.add();
    const heard: string[] = [];
    w.events.subscribe((event) => heard.push(event.type));
    const stream = new EventStream<SessionEvent>();
    record.observers = [stream];
    let detached = 0;
    record.detachSignal = () => {
      detached++;
    };
    w.clock.set(300);
    w.admit(record);
    expect(record.leaf).toBe('calling');
    expect(record.call).not.toBeNull();
    expect(w.provider.calls).toHaveLength(1);
    // Armed at its run deadline.
    expect(record.wakeAt).toBe(5300);
    expect(record.heapIndex).toBeGreaterThanOrEqual(0);

    w.clock.set(700);
    w.provider.calls[0]?.answer({
      content: 'hi',
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    });
    await flush();
    expect(record.results).toHaveLength(1);
    const result = record.results[0] as SessionResult;
    expect(result).toMatchObject({
      ok: true,
      content: 'hi',
      metadata: { state: 'done', queuedMs: 200, runMs: 400 },
    });
    expect(record.result).toBe(result);
    expect(record.leaf).toBe('done');
    expect(record.actor).toBeNull();
    expect(record.heapIndex).toBe(-1);
    expect(w.released).toEqual([record]);
    expect(w.ended).toBe(1);
    expect(detached).toBe(1);
    expect(w.table.size).toBe(0);
    expect(w.table.summary('s1')).toMatchObject({
      state: 'done',
      createdAt: 100,
      startedAt: 300,
      endedAt: 700,
    });
    expect(w.counters.snapshot(0, 0).ended).toEqual({ done: 1, failed: 0, timedOut: 0, cancelled: 0 });
    expect(w.counters.snapshot(0, 0).tokens).toEqual({ prompt: 1, completion: 2 });
    expect(w.events.of('session.ended')).toEqual([
      { type: 'session.ended', sessionId: 's1', result, at: 700 },
    ]);
    expect(heard).toEqual(['session.started', 'session.ended']);
    expect(record.observers).toBeNull();
    expect(await drain(stream)).toEqual(['session.started', 'session.ended']);

    // Nothing more happens to it: no later deadline, event or cancel.
    w.clock.set(10_000);
    expect(w.driver.cancel(record, 'late')).toBe(false);
    w.driver.deliver(record, { type: 'session.tick', now: 10_000 });
    expect(record.results).toHaveLength(1);
    expect(w.ended).toBe(1);
    expect(w.released).toHaveLength(1);
    expect(w.counters.snapshot(0, 0).ended.done).toBe(1);
  });

  it('tells its end once the cooldown its last call began is written (`cooling`), not before', async () => {
    // On a shared limiter a backend writes the end once told: a session submitted then must find
    // the cooldown. Until then the end is done here (slot, table, counts) but told to nobody.
    const w = driverWorld();
    const record = w.add();
    const heard: string[] = [];
    w.events.subscribe((event) => heard.push(event.type));
    const stream = new EventStream<SessionEvent>();
    record.observers = [stream];
    let written = () => {};
    record.cooling = new Promise<void>((resolve) => (written = resolve));
    w.admit(record);
    w.provider.calls[0]?.answer({ content: 'hi' });
    await flush();
    expect(record.result?.ok).toBe(true);
    expect(w.released).toEqual([record]);
    expect(w.table.size).toBe(0);
    expect(w.counters.snapshot(0, 0).ended.done).toBe(1);
    expect(record.results).toEqual([]);
    expect(heard).toEqual(['session.started']);
    expect(record.observers).toEqual([stream]);
    expect(w.ended).toBe(0);
    written();
    await flush();
    expect(record.results).toEqual([record.result]);
    expect(heard).toEqual(['session.started', 'session.ended']);
    expect(record.observers).toBeNull();
    expect(await drain(stream)).toEqual(['session.started', 'session.ended']);
    expect(w.ended).toBe(1);
    expect(record.cooling).toBeUndefined();
  });

  it('builds no event when nobody listens', async () => {
    const w = driverWorld();
    const record = w.add();
    w.admit(record);
    w.provider.calls[0]?.answer({ content: 'hi' });
    await flush();
    expect(record.result?.ok).toBe(true);
    expect(w.events.emitted).toEqual([]);
  });

  it('keeps a cancel reason as text of at most 500 characters, whatever JavaScript passed', () => {
    // Before: `cancel(Symbol())` or a reason whose toString throws failed the session INTERNAL, and
    // a 5 MB reason was kept whole in the result and the history.
    const w = driverWorld();
    const ids = ['sym', 'throws', 'long', 'exact'];
    const [sym, throws, long, exact] = ids.map((sessionId) => w.add(sessionInput({ sessionId })));
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    w.driver.cancel(sym!, Symbol('why') as never);
    w.driver.cancel(throws!, hostile as never);
    w.driver.cancel(long!, 'x'.repeat(5_000_000));
    w.driver.cancel(exact!, 'y'.repeat(500));
    expect(sym!.result).toMatchObject({ error: { code: 'CANCELLED', message: 'Cancelled: Symbol(why)' } });
    expect(throws!.result).toMatchObject({
      error: { code: 'CANCELLED', message: 'Cancelled: a reason that is not text' },
    });
    expect(long!.result?.ok ? '' : long!.result?.error.message).toBe(`Cancelled: ${'x'.repeat(499)}…`);
    expect(exact!.result?.ok ? '' : exact!.result?.error.message).toBe(`Cancelled: ${'y'.repeat(500)}`);
  });

  it('cancels a session once, queued or running, with the reason and the code given', () => {
    const w = driverWorld();
    const queued = w.add(sessionInput({ sessionId: 'q' }));
    const running = w.add(sessionInput({ sessionId: 'r' }));
    w.clock.set(200);
    w.admit(running);
    const signal = w.provider.calls[0]?.signal as AbortSignal;
    w.clock.set(250);
    expect(w.driver.cancel(queued, 'not needed')).toBe(true);
    expect(w.driver.cancel(queued, 'again')).toBe(false);
    expect(w.driver.cancel(running, 'shutting down', 'SHUTTING_DOWN')).toBe(true);
    expect(queued.result).toMatchObject({
      ok: false,
      error: { code: 'CANCELLED', message: 'Cancelled: not needed' },
      metadata: { state: 'cancelled', queuedMs: 150, runMs: 0, attempts: 0 },
    });
    expect(running.result).toMatchObject({
      ok: false,
      error: { code: 'SHUTTING_DOWN', message: 'Cancelled: shutting down' },
      metadata: { state: 'cancelled', queuedMs: 100, runMs: 50, attempts: 1 },
    });
    expect(signal.aborted).toBe(true);
    expect(running.call).toBeNull();
    expect(w.ended).toBe(2);
    expect(queued.results).toHaveLength(1);
  });

  it("ends the session at its final event's time, not the clock's", () => {
    const w = driverWorld();
    const record = w.add();
    w.events.subscribe(() => {});
    w.clock.set(300);
    w.driver.deliver(record, { type: 'session.cancel', now: 250, reason: 'x' });
    expect(w.table.summary('s1')?.endedAt).toBe(250);
    expect(w.events.of('session.ended')[0]?.at).toBe(250);
  });

  it('lets the observe hook see each event before the session does', () => {
    const seen: [string, SessionMachineEvent][] = [];
    const w = driverWorld({
      observe: (record: SessionRecord, event: SessionMachineEvent) => seen.push([record.leaf, event]),
    });
    const record = w.add();
    const other = w.add(sessionInput({ sessionId: 'o' }));
    w.admit(record);
    w.clock.set(150);
    w.driver.cancel(record, 'x');
    w.driver.cancel(other, 'y', 'SHUTTING_DOWN');
    // A cancel carries a code only when one was given.
    expect(seen).toStrictEqual([
      ['queued', { type: 'session.admit', now: 100 }],
      ['calling', { type: 'session.cancel', now: 150, reason: 'x' }],
      ['queued', { type: 'session.cancel', now: 150, reason: 'y', code: 'SHUTTING_DOWN' }],
    ]);
  });

  it('ends a session cancelled for a cluster shutdown’s reason SHUTTING_DOWN, whichever instance stops it', () => {
    // Only the reason travels between instances (a cancel's mark and its message on the bus): it says
    // the cancel is a submitter's shutdown (until 2026-12-06 such a session was recorded CANCELLED).
    const w = driverWorld();
    const running = w.add(sessionInput({ sessionId: 'r' }));
    const other = w.add(sessionInput({ sessionId: 'o' }));
    w.admit(running);
    w.clock.set(150);
    expect(w.driver.cancel(running, SUBMITTER_SHUT_DOWN)).toBe(true);
    w.driver.cancel(other, `${SUBMITTER_SHUT_DOWN}.`);
    expect(running.result).toMatchObject({
      ok: false,
      error: {
        code: 'SHUTTING_DOWN',
        message:
          'Cancelled: the instance it was submitted through shut down before it ended; nobody is left to read its answer',
      },
      metadata: { state: 'cancelled', runMs: 50, attempts: 1 },
    });
    expect(other.result?.ok ? '' : other.result?.error.code).toBe('CANCELLED');
    expect(cancelEvent(7, SUBMITTER_SHUT_DOWN)).toStrictEqual({
      type: 'session.cancel',
      now: 7,
      reason: SUBMITTER_SHUT_DOWN,
      code: 'SHUTTING_DOWN',
    });
    expect(cancelEvent(7, 'why', 'SHUTTING_DOWN')).toStrictEqual({
      type: 'session.cancel',
      now: 7,
      reason: 'why',
      code: 'SHUTTING_DOWN',
    });
    expect(cancelEvent(7, 'why')).toStrictEqual({ type: 'session.cancel', now: 7, reason: 'why' });
  });
});

describe('SessionDriver: deadlines', () => {
  it('times a queued session out at its queue deadline', () => {
    const w = driverWorld();
    const record = w.add();
    w.driver.deadlines.schedule(record, record.input.queueDeadlineAt);
    w.clock.set(1099);
    expect(record.result).toBeNull();
    w.clock.set(1100);
    expect(record.result).toMatchObject({
      ok: false,
      error: { code: 'TIMED_OUT', timeout: 'queue' },
      metadata: { state: 'timedOut', queuedMs: 1000 },
    });
    expect(w.ended).toBe(1);
  });

  it('times a running session out at its run deadline and aborts its call', () => {
    const w = driverWorld();
    const record = w.add();
    w.clock.set(300);
    w.admit(record);
    const signal = w.provider.calls[0]?.signal as AbortSignal;
    w.clock.set(5299);
    expect(record.result).toBeNull();
    w.clock.set(5300);
    expect(record.result).toMatchObject({
      error: { timeout: 'run' },
      metadata: { state: 'timedOut', runMs: 5000 },
    });
    expect(signal.aborted).toBe(true);
  });

  it('retries after the backoff: the retry is armed at its time and starts a new call', async () => {
    const w = driverWorld();
    const record = w.add();
    w.clock.set(300);
    w.admit(record);
    w.clock.set(400);
    w.provider.calls[0]?.fail(unavailableError());
    await flush();
    expect(record.leaf).toBe('backingOff');
    // Jitter 0.5 of the 100 ms base.
    expect(record.wakeAt).toBe(450);
    w.clock.set(449);
    expect(w.provider.calls).toHaveLength(1);
    w.clock.set(450);
    expect(w.provider.calls).toHaveLength(2);
    expect(record.leaf).toBe('calling');
    expect(record.wakeAt).toBe(5300);
  });

  it('does not move a stream in the heap on each chunk: a spare tick re-arms at the idle deadline', async () => {
    const w = driverWorld();
    const record = w.add(sessionInput({ stream: true }));
    w.clock.set(300);
    w.admit(record);
    expect(record.wakeAt).toBe(1300);
    w.clock.set(800);
    w.provider.calls[0]?.push({ type: 'content', text: 'a' });
    await flush();
    expect(record.leaf).toBe('streaming');
    expect(record.wakeAt).toBe(1300);
    w.clock.set(1300);
    expect(record.result).toBeNull();
    expect(record.wakeAt).toBe(1800);
    w.clock.set(1800);
    expect(record.result).toMatchObject({ error: { timeout: 'idle' }, metadata: { state: 'timedOut' } });
  });

  it('re-arms a streaming session at its next deadline on any event but a chunk', async () => {
    const w = driverWorld();
    const record = w.add(sessionInput({ stream: true }));
    w.clock.set(300);
    w.admit(record);
    w.clock.set(800);
    w.provider.calls[0]?.push({ type: 'content', text: 'a' });
    await flush();
    expect(record.wakeAt).toBe(1300);
    // A tick the runtime delivers itself, before the heap's: nothing is due, the idle deadline moved.
    w.driver.deliver(record, { type: 'session.tick', now: 900 });
    expect(record.result).toBeNull();
    expect(record.wakeAt).toBe(1800);
  });

  it('arms a streaming session that is out of the heap when a chunk comes', async () => {
    const w = driverWorld();
    const record = w.add(sessionInput({ stream: true }));
    w.clock.set(300);
    w.admit(record);
    w.provider.calls[0]?.push({ type: 'content', text: 'a' });
    await flush();
    w.driver.deadlines.cancel(record);
    w.clock.set(900);
    w.provider.calls[0]?.push({ type: 'content', text: 'b' });
    await flush();
    expect(record.heapIndex).toBeGreaterThanOrEqual(0);
    expect(record.wakeAt).toBe(1900);
  });

  it('fires an alarm that is not a session at its time', () => {
    const w = driverWorld();
    const fired: number[] = [];
    const alarm: Alarm = { wakeAt: 0, heapIndex: -1, fire: (now) => fired.push(now) };
    w.driver.deadlines.schedule(alarm, 700);
    w.clock.set(699);
    expect(fired).toEqual([]);
    w.clock.set(700);
    expect(fired).toEqual([700]);
  });
});

describe("SessionDriver: a stream's deltas", () => {
  async function streamed(engine: EngineOptions = {}) {
    const w = driverWorld({ engine });
    w.events.subscribe(() => {});
    const record = w.add(sessionInput({ stream: true }));
    w.admit(record);
    for (const [at, text] of [
      [200, 'ab'],
      [250, 'cde'],
      [300, 'f'],
    ] as const) {
      w.clock.set(at);
      w.provider.calls[0]?.push({ type: 'content', text });
      await flush();
    }
    return { w, record };
  }

  it('reach observers at once, and the session its characters and idle deadline', async () => {
    for (const engine of [{}, { engine: 'xstate' as const }, { inspect: () => {} }]) {
      const { w, record } = await streamed(engine);
      expect(w.events.of('session.delta').map((e) => [e.chars, e.at])).toEqual([
        [2, 200],
        [5, 250],
        [6, 300],
      ]);
      expect(record.leaf).toBe('streaming');
      expect(record.actor?.getSnapshot().context).toMatchObject({ chars: 6, idleDeadlineAt: 1300 });
      // Its wake-up stayed at the first idle deadline; the spare tick there re-arms at the last.
      expect(record.wakeAt).toBe(1100);
      w.clock.set(1100);
      expect(record.wakeAt).toBe(1300);
      w.clock.set(1300);
      expect(record.result).toMatchObject({ metadata: { state: 'timedOut' }, error: { timeout: 'idle' } });
    }
  });

  it('ended INTERNAL mid-answer (its gate threw as the run deadline closed the call): the result keeps what the stream wrote', async () => {
    const w = driverWorld({
      gate: {
        open: () => 'ticket',
        close: () => {
          throw new Error('the gate broke');
        },
      },
    });
    const record = w.add(sessionInput({ stream: true, idleTimeoutMs: 60_000 }));
    w.admit(record);
    await flush();
    w.provider.calls[0]?.push({ type: 'content', text: 'half an ' });
    w.provider.calls[0]?.push({ type: 'content', text: 'answer' });
    await flush();
    w.clock.set(100 + 5000);
    expect(record.result).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
      partial: { content: 'half an answer' },
    });
    // Its result built, the session lets the call go: a handle kept does not keep the stream.
    expect(record.left).toBeUndefined();
  });

  it('skip their machine step only on the compiled engine without inspection, for streams', async () => {
    expect((await streamed()).record.actor).toBeInstanceOf(DeltaFoldingActor);
    expect((await streamed({ engine: 'xstate' })).record.actor).not.toBeInstanceOf(DeltaFoldingActor);
    expect((await streamed({ inspect: () => {} })).record.actor).not.toBeInstanceOf(DeltaFoldingActor);
    const w = driverWorld();
    const plain = w.add();
    w.admit(plain);
    expect(plain.actor).not.toBeInstanceOf(DeltaFoldingActor);
  });

  it('tell observers nothing for a chunk without a delta (one they already heard)', async () => {
    const { w, record } = await streamed();
    w.driver.deliver(record, { type: 'provider.chunk', now: 400, chars: 9, delta: undefined });
    expect(w.events.of('session.delta')).toHaveLength(3);
    expect(record.actor?.getSnapshot().context.chars).toBe(9);
  });
});

describe('SessionDriver: a due retry its limits hold back', () => {
  async function backingOff(mayRetry: (record: SessionRecord, now: number) => boolean) {
    const w = driverWorld({ mayRetry });
    const record = w.add();
    w.clock.set(300);
    w.admit(record);
    w.clock.set(400);
    w.provider.calls[0]?.fail(unavailableError());
    await flush();
    return { w, record };
  }

  it('waits, armed at its run deadline, until the runtime lets it go', async () => {
    const asked: number[] = [];
    const { w, record } = await backingOff((_, now) => {
      asked.push(now);
      return false;
    });
    w.clock.set(450);
    expect(asked).toEqual([450]);
    expect(w.provider.calls).toHaveLength(1);
    expect(record.leaf).toBe('backingOff');
    expect(record.wakeAt).toBe(5300);
    // The runtime found room: it delivers the tick itself.
    w.driver.deliver(record, { type: 'session.tick', now: 600 });
    expect(w.provider.calls).toHaveLength(2);
  });

  it('goes when its limits let it', async () => {
    const { w, record } = await backingOff(() => true);
    w.clock.set(450);
    expect(w.provider.calls).toHaveLength(2);
    expect(record.leaf).toBe('calling');
  });

  it('is not asked before the retry is due, nor once its run deadline passed', async () => {
    const asked: number[] = [];
    const { w, record } = await backingOff((_, now) => {
      asked.push(now);
      return false;
    });
    // An early wake-up (another deadline of the heap) does not ask.
    w.driver.deadlines.schedule(record, 420);
    w.clock.set(420);
    expect(asked).toEqual([]);
    expect(record.wakeAt).toBe(450);
    w.clock.set(450);
    expect(asked).toEqual([450]);
    w.clock.set(5300);
    expect(asked).toEqual([450]);
    expect(record.result).toMatchObject({ metadata: { state: 'timedOut' }, error: { timeout: 'run' } });
  });

  it('never asks about a session that is not between attempts', async () => {
    const asked: number[] = [];
    const w = driverWorld({
      mayRetry: (_, now) => {
        asked.push(now);
        return false;
      },
    });
    // Queued (no actor yet) at its queue deadline.
    const queued = w.add(sessionInput({ sessionId: 'q' }));
    w.driver.deadlines.schedule(queued, 1100);
    // Streaming, at the spare tick of its idle deadline.
    const streamed = w.add(sessionInput({ sessionId: 's', stream: true }));
    w.clock.set(300);
    w.admit(streamed);
    w.clock.set(800);
    w.provider.calls[0]?.push({ type: 'content', text: 'a' });
    await flush();
    w.clock.set(1100);
    expect(queued.result).toMatchObject({ metadata: { state: 'timedOut' } });
    w.clock.set(1300);
    expect(streamed.wakeAt).toBe(1800);
    w.clock.set(1800);
    expect(streamed.result).toMatchObject({ metadata: { state: 'timedOut' }, error: { timeout: 'idle' } });
    expect(asked).toEqual([]);
  });

  it('holds a hop to the next fallback target too', async () => {
    const asked: number[] = [];
    const w = driverWorld({
      mayRetry: (_, now) => {
        asked.push(now);
        return false;
      },
    });
    const providers = new Map([['p', w.provider]]);
    const input = sessionInput({ targets: [target('p', 'm'), target('p', 'n')] });
    const record = w.add(input, {
      kind: 'chat',
      provider: w.provider,
      request: { model: 'm', messages: [] },
      providers,
    });
    w.clock.set(300);
    w.admit(record);
    w.clock.set(400);
    w.provider.calls[0]?.fail(unavailableError());
    await flush();
    expect(record.leaf).toBe('fallingBack');
    w.clock.increment(0);
    expect(asked).toEqual([400]);
    expect(w.provider.calls).toHaveLength(1);
    expect(record.wakeAt).toBe(5300);
  });
});

describe('SessionDriver: a call its session left unanswered', () => {
  function fallbackWorld() {
    const left: string[] = [];
    const w = driverWorld({ callLeft: (record) => left.push(record.leaf) });
    const input = sessionInput({
      stream: true,
      idleTimeoutMs: 50,
      targets: [target('p', 'm'), target('p', 'n')],
    });
    const record = w.add(input, {
      kind: 'chat',
      provider: w.provider,
      request: { model: 'm', messages: [] },
      providers: new Map([
        ['p', w.provider],
        ['q', w.provider],
      ]),
    });
    w.clock.set(300);
    w.admit(record);
    return { w, record, left };
  }

  it('tells callLeft when an idle tick moves a stream to its fallback, not before it, not at the hop’s call', () => {
    const { w, record, left } = fallbackWorld();
    w.driver.deliver(record, { type: 'session.tick', now: 320 });
    expect(record.leaf).toBe('calling');
    expect(left).toEqual([]);
    w.driver.deliver(record, { type: 'session.tick', now: 350 });
    expect(record.leaf).toBe('fallingBack');
    // Told before the record moves on: the limits settle the call on the provider it left.
    expect(left).toEqual(['calling']);
    // The next tick makes the hop's call: nothing left unanswered there.
    w.driver.deliver(record, { type: 'session.tick', now: 360 });
    expect(record.leaf).toBe('calling');
    expect(w.provider.calls).toHaveLength(2);
    expect(left).toEqual(['calling']);
  });

  it('does not tell callLeft for a hop on an answer: the limits heard that answer', async () => {
    const { w, record, left } = fallbackWorld();
    w.clock.set(320);
    w.provider.calls[0]?.fail(unavailableError());
    await flush();
    expect(record.leaf).toBe('fallingBack');
    expect(left).toEqual([]);
  });
});

describe('SessionDriver: restore and internal failures', () => {
  it('resumes a session taken over between attempts; its next tick is a further attempt', () => {
    const w = driverWorld();
    const record = w.add();
    const context = sessionContext(record.input, {
      startedAt: 300,
      runDeadlineAt: 5300,
      attempts: 1,
      retryAt: 400,
    });
    w.driver.restore(record, { running: 'backingOff' }, context);
    record.leaf = 'backingOff';
    expect(record.actor?.getSnapshot().context).toEqual(context);
    w.driver.deliver(record, { type: 'session.tick', now: 400 });
    expect(record.leaf).toBe('calling');
    expect(record.actor?.getSnapshot().context.attempts).toBe(2);
    expect(record.call?.attempt).toBe(2);
    expect(w.provider.calls).toHaveLength(1);
  });

  it('ends a session INTERNAL when an action throws before its call starts', () => {
    const w = driverWorld();
    const record = w.add();
    const closed: string[] = [];
    const pushed: string[] = [];
    // An observer whose stream throws once: `notifyStarted` fails before `startProviderCall` runs.
    record.observers = [
      {
        push: (event: { type: string }) => {
          pushed.push(event.type);
          if (pushed.length === 1) throw new Error('the stream broke');
        },
        close: () => closed.push('closed'),
      } as never,
    ];
    w.admit(record);
    expect(record.result).toMatchObject({
      error: {
        code: 'INTERNAL',
        message:
          'Expected the session machine to handle "session.admit", one of its actions threw: the stream broke',
      },
    });
    expect(w.provider.calls).toHaveLength(0);
    expect(pushed).toEqual(['session.started', 'session.ended']);
    expect(closed).toEqual(['closed']);
    expect(w.ended).toBe(1);
  });

  it('ends a session INTERNAL when one of its actions throws, aborting its call and freeing its slot', () => {
    const calls: { aborted: boolean; signal: AbortSignal }[] = [];
    const w = driverWorld({
      gate: {
        open: (call) => {
          calls.push(call);
          throw new Error('the gate broke');
        },
        close: () => {},
      },
    });
    const record = w.add();
    w.clock.set(300);
    w.admit(record);
    expect(record.result).toMatchObject({
      ok: false,
      error: {
        family: 'runtime',
        code: 'INTERNAL',
        message:
          'Expected the session machine to handle "session.admit", one of its actions threw: the gate broke',
      },
      metadata: { state: 'failed', code: 'INTERNAL' },
    });
    expect(record.leaf).toBe('failed');
    expect(record.call).toBeNull();
    expect(calls[0]?.aborted).toBe(true);
    expect((calls[0]?.signal.reason as Error | undefined)?.message).toBe(
      'The session ended the provider call: the session failed inside the runtime',
    );
    expect(w.released).toEqual([record]);
    expect(w.ended).toBe(1);
    expect(w.table.summary('s1')).toMatchObject({ state: 'failed', endedAt: 300, code: 'INTERNAL' });
  });
});
