import { createTracker } from '@anon/core';
import { memoryHotStore, memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { type Framework, startApp } from '../support/apps.js';
import { heapUsed, mb, quiet, report } from '../support/figures.js';
import { browser, humanUa, send } from '../support/http.js';

const TEN_MB = Buffer.alloc(10 * 1_048_576, 'a');

/** Bodies a beacon endpoint must refuse with 400: broken JSON, wrong shapes, wrong types, hostile values. */
const MALFORMED: (string | Buffer)[] = [
  '',
  '{',
  'not json',
  'null',
  '[]',
  '"string"',
  '{"t":"x"}',
  '{"t":"e"}',
  '{"t":"e","v":""}',
  '{"t":"e","v":"../../etc/passwd"}',
  '{"t":"e","v":"ok","ms":"NaN"}',
  '{"t":"e","v":"ok","ms":-5}',
  '{"t":"e","v":"ok","ix":1.5}',
  '{"t":"p","v":"ok","u":"javascript:alert(1)"}',
  '{"t":"p","v":"ok","u":42}',
  '{"t":"p","u":"/x"}',
  '{"t":"p","v":"ok","u":"/x","r":{"$gt":""}}',
  `{"t":"e","v":"${'x'.repeat(65)}"}`,
  `${'['.repeat(1_000)}${']'.repeat(1_000)}`,
  Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3]),
];

// The guarantee: a beacon body over 2 KB gets 413 without being buffered, a malformed one 400, and neither
// grows the process's memory.
describe('10 MB and malformed beacons', () => {
  for (const framework of ['express', 'fastify'] as const satisfies Framework[]) {
    it(`get 413 / 400 on ${framework}, with no memory growth`, async () => {
      const store = memoryStore();
      const tracker = createTracker({ hot: memoryHotStore(), store, logger: quiet });
      const app = await startApp(framework, tracker);
      const post = (body: string | Buffer) =>
        send(app.port, '/_anon/e', {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'user-agent': humanUa('beacon') },
          body,
        });
      // A warm-up round, so that first-use allocations (JIT, parser caches) are not counted as growth.
      for (const body of MALFORMED) await post(body);
      await post(TEN_MB);
      const heapBefore = heapUsed();
      const large = [];
      for (let i = 0; i < 20; i++) large.push(await post(TEN_MB));
      const malformed = [];
      for (let round = 0; round < 10; round++) for (const body of MALFORMED) malformed.push(await post(body));
      const growth = heapUsed() - heapBefore;
      // The server still serves pages and counts them.
      const page = await send(app.port, '/', { headers: browser(humanUa('after-beacons')) });
      await tracker.close();
      await app.close();
      const views = store.dump().pageViews.length;
      report(`10 MB and malformed beacons (${framework})`, {
        sent: large.length + malformed.length,
        stored: store.dump().metrics.length,
        dropped: tracker.stats().dropped,
        errors: [...large, ...malformed].filter((a) => a.status === 0 || a.status >= 500).length,
        extra: {
          '413 answers': large.filter((a) => a.status === 413).length,
          '400 answers': malformed.filter((a) => a.status === 400).length,
          'heap growth': mb(growth),
        },
      });
      expect(large.map((a) => a.status)).toEqual(large.map(() => 413));
      expect(malformed.map((a) => a.status)).toEqual(malformed.map(() => 400));
      expect(store.dump().metrics).toHaveLength(0);
      expect(page.status).toBe(200);
      expect(views).toBe(1);
      expect(growth).toBeLessThan(8 * 1_048_576);
    });
  }
});
