/**
 * The store seam as a user reaches it: docs/mcp.md and embedding.md say a host may pass a task or
 * conversation store of its own, so the interfaces, the records, the error a store throws for a
 * cursor it never gave and the in-memory stores (to wrap or to start from) come from `troupe/mcp`,
 * and the backend type from `troupe`. Typed through the entry points only: `npm run typecheck`
 * fails if one is not exported, and the test fails if a class is missing at run time.
 */
import { describe, expect, it } from 'vitest';
import type { RuntimeBackend } from '../../../src/index.js';
import {
  type ConversationModel,
  type ConversationStore,
  createMcpContext,
  InvalidCursorError,
  keptModel,
  MemoryConversationStore,
  MemoryTaskStore,
  type StoredConversation,
  TaskLimitError,
  type TaskRecord,
  type TaskStore,
} from '../../../src/mcp/index.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

/** A task store of a user's, typed by the exported interface: here, one that wraps the in-memory one. */
function wrappedTaskStore(inner: TaskStore): TaskStore {
  return {
    create: (record: TaskRecord) => inner.create(record),
    get: (...a) => inner.get(...a),
    update: (...a) => inner.update(...a),
    list: (...a) => inner.list(...a),
    sweep: (...a) => inner.sweep(...a),
    subscribe: (...a) => inner.subscribe(...a),
  };
}

describe('the store seam from the entry points', () => {
  it('exports the stores, the cursor error and the seam types a host needs for stores of its own', async () => {
    expect(typeof MemoryTaskStore).toBe('function');
    expect(new InvalidCursorError('x')).toBeInstanceOf(Error);
    expect(TaskLimitError.prototype).toBeInstanceOf(Error);
    const conversations: ConversationStore = new MemoryConversationStore();
    const id = await conversations.save([{ role: 'user', content: 'hi' }]);
    expect(await conversations.get(id)).toEqual([{ role: 'user', content: 'hi' }]);
    // What answered, as a store of one's own keeps it (`keptModel`: the check troupe's stores make).
    const answered: ConversationModel | undefined = keptModel({
      provider: 'kimi',
      model: 'kimi-k2.6',
      extra: 1,
    });
    expect(answered).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
    expect(Object.isFrozen(answered)).toBe(true);
    const held: StoredConversation | undefined = await conversations.load?.(
      await conversations.save([{ role: 'user', content: 'hi' }], undefined, undefined, answered),
    );
    expect(held?.model).toEqual(answered);
    await conversations.close();

    const runtime = createRuntime({ providers: [] });
    const store = wrappedTaskStore(new MemoryTaskStore());
    const mcp = createMcpContext({ runtime, tasks: { store }, conversationStore: conversations });
    expect(mcp).toBeDefined();
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
    const backend: RuntimeBackend | undefined = undefined;
    expect(backend).toBeUndefined();
  });
});
