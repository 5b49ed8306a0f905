export { MemoryClusterHub, type MemoryClusterHubOptions } from '../runtime/backend.js';
export {
  type MemoryClusterBackend,
  type MemoryClusterBackendOptions,
  memoryClusterBackend,
} from './memory-cluster.js';
export { type RedisBackend, type RedisBackendOptions, redisBackend } from './redis-backend.js';
// The stores `troupe serve --redis` keeps conversations, callers' costs and resumable streams in, for
// your own `registerTools({ conversationStore, costLedger })` and Streamable HTTP transport (`eventStore`).
export { RedisConversationStore, type RedisConversationStoreOptions } from './redis-conversation-store.js';
export { RedisCostLedger, type RedisCostLedgerOptions } from './redis-cost-ledger.js';
export { RedisEventStore, type RedisEventStoreOptions } from './redis-event-store.js';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
