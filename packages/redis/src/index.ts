export type { RedisClient } from './client.js';
export { type RedisHotStoreOptions, redisHotStore } from './hot-store.js';
export { type RedisStreamQueueOptions, redisStreamQueue } from './stream-queue.js';
