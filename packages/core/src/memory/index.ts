// The core-runtime helper fills this: memoryHotStore, memoryStore, memoryQueue.
export {};
