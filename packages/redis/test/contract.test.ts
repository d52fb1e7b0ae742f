import { redisStreamQueue } from '@anon/redis';
import { hotStoreContract, queueContract } from '@anon/testing';
import type { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { connect, deleteKeys, hotStoreHarness, redisAvailable, uniquePrefix } from './support.js';

const available = await redisAvailable();

/** Capacity of the queue's local buffer in the contract (its "bounded" test enqueues past it). */
const CAPACITY = 1_000;

if (available) {
  const clients: Redis[] = [];
  const client = (): Redis => {
    const c = connect();
    clients.push(c);
    return c;
  };
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  hotStoreContract('redis (single node)', async () =>
    hotStoreHarness(client(), client(), uniquePrefix('contract-hot')),
  );

  queueContract(
    'redis streams (single node)',
    async () => {
      const prefix = uniquePrefix('contract-queue');
      const options = { stream: `${prefix}events`, claimIdleMs: 1_000, blockMs: 200, bufferSize: CAPACITY };
      const main = client();
      const queues = [redisStreamQueue(main, options)];
      return {
        queue: queues[0] as ReturnType<typeof redisStreamQueue>,
        peer: async () => {
          const peer = redisStreamQueue(client(), options);
          queues.push(peer);
          return peer;
        },
        cleanup: async () => {
          await Promise.all(queues.map((q) => q.close()));
          await deleteKeys(main, prefix);
        },
      };
    },
    { capacity: CAPACITY },
  );
} else {
  describe.skip('contracts on a single Redis (Redis unreachable)', () => {});
}
