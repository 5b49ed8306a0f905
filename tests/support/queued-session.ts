/** A session as it waits in a queue port (`QueuedSession`), for tests of the queue adapters. */
import type { QueuedSession } from '../../src/runtime/ports.js';

export function queuedSession(
  id: string,
  provider: string,
  priority: number,
  createdAt = 1_000,
): QueuedSession {
  return {
    input: {
      sessionId: id,
      requestId: id,
      provider,
      model: 'm',
      priority,
      stream: false,
      createdAt,
      queueDeadlineAt: createdAt + 600_000,
      timeoutMs: 60_000,
      idleTimeoutMs: 30_000,
      maxAttempts: 1,
      backoffBaseMs: 100,
      backoffMaxMs: 1_000,
    },
    request: { model: 'm', messages: [{ role: 'user', content: id }] },
  };
}
