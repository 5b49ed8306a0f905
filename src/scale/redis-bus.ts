/**
 * The `EventBus` port on Redis pub/sub: one channel for session and supervisor events, one for
 * cancellations. Publishing goes through the command connection; listening needs a connection of
 * its own (a subscribed connection can run no other command).
 */
import type { Redis } from 'ioredis';
import type { BusMessage, CancelMessage, EventBus } from '../runtime/ports.js';
import type { RuntimeEvent } from '../runtime/types.js';
import type { RedisKeys } from './redis-store.js';

export class RedisEventBus implements EventBus {
  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly origin: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  async publish(event: RuntimeEvent): Promise<void> {
    const message: BusMessage = { origin: this.origin, event };
    await this.redis.publish(this.keys.events, JSON.stringify(message));
  }

  async publishCancel(message: CancelMessage): Promise<void> {
    await this.redis.publish(this.keys.cancels, JSON.stringify(message));
  }

  async listen(handlers: {
    readonly event: (message: BusMessage) => void;
    readonly cancel: (message: CancelMessage) => void;
    readonly reconnected: () => void;
  }): Promise<void> {
    const { keys } = this;
    this.subscriber.on('message', (channel: string, text: string) => {
      try {
        if (channel === keys.events) handlers.event(JSON.parse(text) as BusMessage);
        else if (channel === keys.cancels) handlers.cancel(JSON.parse(text) as CancelMessage);
      } catch (error) {
        this.onError(error);
      }
    });
    // The first `ready` is the first connection; every later one follows a cut.
    let connectedBefore = this.subscriber.status === 'ready';
    this.subscriber.on('ready', () => {
      if (connectedBefore) handlers.reconnected();
      connectedBefore = true;
    });
    await this.subscriber.subscribe(keys.events, keys.cancels);
  }
}
