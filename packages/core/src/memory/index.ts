export { type MemoryHotStore, type MemoryHotStoreOptions, memoryHotStore } from './hot-store.js';
export { type MemoryQueueOptions, memoryQueue } from './queue.js';
export { type MemoryStore, type MemoryStoreContents, type MemoryStoreOptions, memoryStore } from './store.js';
