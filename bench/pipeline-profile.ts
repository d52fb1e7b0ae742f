// Whole-process CPU of the tracking pipeline without HTTP: track() then the batch behind it (normalization,
// visitor key, memory hot store, events, the worker's hand-off to a null store). Run under `node --cpu-prof`
// to see where a tracked view's CPU goes: `node --import tsx --cpu-prof bench/pipeline-profile.ts [views]
// [visitors]` (with ANON_REDIS_URL set, on the Redis hot store). Without `visitors` every view is a new visitor (the hot store's worst case); with 500, visitors
// come back as in the HTTP bench (500 user agents in turn from one IP), so sessions continue.
import { createTracker, type RequestInfo } from '@anon/core';
import { memoryHotStore, memoryQueue } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import { Redis } from 'ioredis';
import { asTrackerStore, nullStore } from './null-store.js';
import { browserAgent } from './user-agents.js';

const views = Number(process.argv[2] ?? 200_000);
const visitors = process.argv[3] === undefined ? null : Number(process.argv[3]);
const agents = Array.from({ length: 200 }, (_, i) => browserAgent(i));
const returning = Array.from({ length: visitors ?? 0 }, (_, i) => browserAgent(i));
let n = 0;
function request(): RequestInfo {
  n++;
  return {
    method: 'GET',
    url: `/posts/${n % 1_000}?utm_source=news&utm_medium=email&fbclid=x${n}`,
    route: '/posts/:id',
    status: 200,
    ip: visitors === null ? `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` : '10.0.0.1',
    headers: {
      host: 'example.com',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-US,en;q=0.9',
      referer: n % 3 === 0 ? 'https://news.ycombinator.com/item?id=1' : undefined,
      'user-agent': visitors === null ? agents[n % agents.length] : returning[n % visitors],
    },
  };
}

// ANON_REDIS_URL set: the Redis hot store on it (keys under a prefix of this run, deleted at the end).
const redisUrl = process.env.ANON_REDIS_URL;
const redis = redisUrl ? new Redis(redisUrl) : null;
const prefix = `anon-pipeline-${process.pid}:`;
const tracker = createTracker({
  hot: redis ? redisHotStore(redis, { prefix }) : memoryHotStore(),
  queue: memoryQueue(),
  store: asTrackerStore(nullStore()),
  sweeper: false,
});
for (let i = 0; i < 20_000; i += 200) {
  for (let j = 0; j < 200; j++) tracker.track(request());
  await tracker.flush();
}
const before = process.cpuUsage();
for (let i = 0; i < views; i += 200) {
  for (let j = 0; j < 200; j++) tracker.track(request());
  await tracker.flush();
}
const used = process.cpuUsage(before);
await tracker.close();
if (redis) {
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  redis.disconnect();
}
console.log(
  `${((used.user + used.system) / views).toFixed(2)} µs of process CPU per tracked view (${views} views, ${visitors ?? 'all new'} visitors)`,
);
