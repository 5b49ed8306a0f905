/**
 * The in-memory `EventBus` (`memory-ports/bus.ts`) against the port's contract (`ports.ts`):
 * every instance of one hub hears every message, its own included, in publishing order, never
 * inside the publisher's call; a listener that throws is reported to its own instance.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBusCore, MemoryEventBus } from '../../../../src/runtime/memory-ports/bus.js';
import type { BusMessage, CancelMessage } from '../../../../src/runtime/ports.js';
import type { RuntimeEvent } from '../../../../src/runtime/types.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const queued = (sessionId: string): RuntimeEvent => ({
  type: 'session.queued',
  sessionId,
  position: 0,
  at: 1,
  provider: 'p',
});

/** An instance listening on the bus, with what it heard and the errors it was told. */
async function instance(core: MemoryBusCore, origin: string) {
  const events: BusMessage[] = [];
  const cancels: CancelMessage[] = [];
  const errors: unknown[] = [];
  let reconnected = 0;
  const bus = new MemoryEventBus(core, origin, (error) => errors.push(error));
  await bus.listen({
    event: (m) => events.push(m),
    cancel: (m) => cancels.push(m),
    reconnected: () => reconnected++,
  });
  return { bus, events, cancels, errors, reconnected: () => reconnected };
}

describe('MemoryEventBus', () => {
  it('delivers every event to every instance, its own included, with the origin, in publishing order', async () => {
    const core = new MemoryBusCore();
    const a = await instance(core, 'A');
    const b = await instance(core, 'B');
    void a.bus.publish(queued('s1'));
    void b.bus.publish(queued('s2'));
    void a.bus.publish(queued('s3'));
    const expected = [
      { origin: 'A', event: queued('s1') },
      { origin: 'B', event: queued('s2') },
      { origin: 'A', event: queued('s3') },
    ];
    // Not inside the publisher's call: from a later microtask, as from a server.
    expect(a.events).toEqual([]);
    await flush();
    expect(a.events).toEqual(expected);
    expect(b.events).toEqual(expected);
    expect(a.cancels).toEqual([]);
    expect(a.reconnected()).toBe(0);
  });

  it('delivers a single message published alone, and one published by a listener while it hears another', async () => {
    const core = new MemoryBusCore();
    const a = await instance(core, 'A');
    const echoes: BusMessage[] = [];
    const echo = new MemoryEventBus(core, 'E', () => undefined);
    await echo.listen({
      event: (m) => {
        echoes.push(m);
        if (m.event?.type === 'session.queued' && m.event.sessionId === 's1')
          void echo.publish(queued('echo'));
      },
      cancel: () => undefined,
      reconnected: () => undefined,
    });
    await a.bus.publish(queued('s1'));
    await flush();
    expect(a.events.map((m) => (m.event as { sessionId: string }).sessionId)).toEqual(['s1', 'echo']);
    expect(echoes).toHaveLength(2);
  });

  it('delivers cancellations to the cancel handlers, in order with events', async () => {
    const core = new MemoryBusCore();
    const a = await instance(core, 'A');
    const b = await instance(core, 'B');
    const order: string[] = [];
    await new MemoryEventBus(core, 'C', () => undefined).listen({
      event: () => order.push('event'),
      cancel: () => order.push('cancel'),
      reconnected: () => undefined,
    });
    await a.bus.publishCancel({ sessionId: 's1', reason: 'gone' });
    await a.bus.publish(queued('s1'));
    await flush();
    expect(b.cancels).toEqual([{ sessionId: 's1', reason: 'gone' }]);
    expect(a.cancels).toEqual([{ sessionId: 's1', reason: 'gone' }]);
    expect(b.events).toHaveLength(1);
    expect(order).toEqual(['cancel', 'event']);
  });

  it("reports a listener that throws to its own instance's onError; the others still hear", async () => {
    const core = new MemoryBusCore();
    const boom = new Error('listener bug');
    const errors: unknown[] = [];
    const faulty = new MemoryEventBus(core, 'F', (error) => errors.push(error));
    await faulty.listen({
      event: () => {
        throw boom;
      },
      cancel: () => {
        throw boom;
      },
      reconnected: () => undefined,
    });
    const b = await instance(core, 'B');
    await b.bus.publish(queued('s1'));
    await b.bus.publishCancel({ sessionId: 's1', reason: 'r' });
    await flush();
    expect(errors).toEqual([boom, boom]);
    expect(b.errors).toEqual([]);
    expect(b.events).toHaveLength(1);
    expect(b.cancels).toHaveLength(1);
  });

  it('listening again replaces the handlers; a closed instance hears nothing more', async () => {
    const core = new MemoryBusCore();
    const a = await instance(core, 'A');
    const again: BusMessage[] = [];
    await a.bus.listen({
      event: (m) => again.push(m),
      cancel: () => undefined,
      reconnected: () => undefined,
    });
    expect(core.listenerCount).toBe(1);
    await a.bus.publish(queued('s1'));
    await flush();
    expect(a.events).toEqual([]);
    expect(again).toHaveLength(1);
    a.bus.close();
    expect(core.listenerCount).toBe(0);
    // Closing twice is harmless.
    a.bus.close();
    const b = await instance(core, 'B');
    await b.bus.publish(queued('s2'));
    await flush();
    expect(again).toHaveLength(1);
    expect(b.events).toHaveLength(1);
  });

  it('delivers a message to the listeners there when it is delivered, even one a listener removes meanwhile', async () => {
    const core = new MemoryBusCore();
    const heard: string[] = [];
    let stopSecond: () => unknown = () => undefined;
    core.listen({
      event: () => {
        heard.push('first');
        stopSecond();
      },
      cancel: () => undefined,
      onError: () => undefined,
    });
    stopSecond = core.listen({
      event: () => heard.push('second'),
      cancel: () => undefined,
      onError: () => undefined,
    });
    core.publish({ origin: 'A', event: queued('s1') });
    core.publish({ origin: 'A', event: queued('s2') });
    await flush();
    expect(heard).toEqual(['first', 'second', 'first']);
  });
});
