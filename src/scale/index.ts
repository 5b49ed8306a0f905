export { type RedisBackend, type RedisBackendOptions, redisBackend } from './redis-backend.js';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';
