export { MemoryClusterHub, type MemoryClusterHubOptions } from '../runtime/backend.js';
export {
  type MemoryClusterBackend,
  type MemoryClusterBackendOptions,
  memoryClusterBackend,
} from './memory-cluster.js';
export { type RedisBackend, type RedisBackendOptions, redisBackend } from './redis-backend.js';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
